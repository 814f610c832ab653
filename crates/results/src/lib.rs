//! The results model of softmax-lab: what a run leaves behind and what the report
//! and `compare` read. It knows no measurement — only records, tables, files and
//! statistics — so reading results never builds a variant or candle.
//!
//! - [`record`]: the [`Record`] trait and the [`record!`] macro: a measurement kind
//!   declares its record type once, and its columns, its CSV/JSON cells and its
//!   typed reading all come from that one declaration.
//! - [`records`]: the record types of the measurement tables.
//! - [`table`]: cells ([`Value`], non-finite kept), [`Table`], the key every
//!   measurement row starts with ([`Key`]), CSV text.
//! - [`file`]: one scenario's [`Results`] (JSON with `schema_version`, the scenario as
//!   run, the machine, the variants' facts, the tables), atomic writing of a
//!   scenario's files as one unit, reading back, the lock on an output folder.
//! - [`machine`]: the machine a run happened on.
//! - [`kind`]: the measurement kinds' names.
//! - [`verdict`]: the claims ledger's verdict vocabulary.
//! - [`stats`]: the one statistics module (medians, quantiles, intervals, tests).
//!
//! Not here: measuring (the harness), plotting and prose (the report).

#![warn(missing_docs)]

pub mod file;
pub mod fixtures;
pub mod kind;
pub mod machine;
pub mod record;
pub mod records;
pub mod stats;
pub mod table;
pub mod verdict;

pub use file::{
    csv_name, write_atomic, Failure, FileDigest, OutLock, ReadError, Results, SourceFacts,
    VariantFacts, SCHEMA_VERSION,
};
pub use kind::Kind;
pub use machine::Machine;
pub use record::{Cell, Record};
pub use table::{
    columns_with_key, format_float, parse_float, split_csv, Column, ColumnType, Key, Table, Value,
    KEY_COLUMNS,
};
pub use verdict::Verdict;

/// Serialises this crate's unit tests that start processes (`Machine::detect`
/// runs git and rustc) with the one that checks the output folder's lock is
/// free once dropped: a child started between the lock's open and its exec
/// holds a copy of the locked descriptor until it execs, so the check failed
/// now and then when both ran at once.
#[cfg(test)]
pub(crate) fn spawn_guard() -> std::sync::MutexGuard<'static, ()> {
    static SPAWNS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SPAWNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
