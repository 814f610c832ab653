//! Hand-made pieces of results for the tests of the crates that read them (the
//! report, `compare`, the CLI): a machine record and a row with defaults, so each
//! test states only the cells it is about.

use crate::{ColumnType, Machine, Table, Value};

/// A machine record with fixed fields on CPU `cpu` (2 cores, simd path `avx2_fma`).
pub fn machine(cpu: &str) -> Machine {
    Machine {
        cpu_model: cpu.into(),
        cores: 2,
        os: "linux".into(),
        rustc: "rustc test".into(),
        git_commit: "0123456789abcdef".into(),
        git_dirty: false,
        date: "2026-01-01T00:00:00Z".into(),
        simd_isa: "avx2_fma".into(),
        flushes_subnormals: false,
        can_flush_subnormals: true,
    }
}

/// A row of `table`: the given cells by column name, elsewhere "x", 64, 0.5 or true.
pub fn row(table: &Table, cells: &[(&str, Value)]) -> Vec<Value> {
    table
        .columns
        .iter()
        .map(|c| {
            cells
                .iter()
                .find(|(n, _)| *n == c.name)
                .map(|(_, v)| v.clone())
                .unwrap_or(match c.ty {
                    ColumnType::Text => Value::Text("x".into()),
                    ColumnType::Int => Value::Int(64),
                    ColumnType::Float => Value::Float(0.5),
                    ColumnType::Bool => Value::Bool(true),
                })
        })
        .collect()
}

/// Append [`row`] to `table`.
pub fn push(table: &mut Table, cells: &[(&str, Value)]) {
    let r = row(table, cells);
    table.push(r);
}
