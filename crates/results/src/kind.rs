//! The kinds of measurement: the vocabulary of the `kind` field of scenarios and
//! of the `kind` column of every results table.

use serde::Serialize;

/// The measurement a scenario asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Errors in ULPs, bits, normwise, sum to one, argmax, exact zeros.
    Accuracy,
    /// Non-finite outputs and outputs flushed to zero against the scale.
    Overflow,
    /// VJP norm and agreement with the reference, finite differences and candle.
    Gradients,
    /// Elements and bytes per second against a memory copy and candle.
    Throughput,
    /// Output heads trained on real data sets (crate `softmax-lab-training`).
    Training,
    /// A verdict on every claim of the study, computed from measurements; runs
    /// after the other scenarios of a run and reads their results.
    Claims,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Accuracy,
        Kind::Overflow,
        Kind::Gradients,
        Kind::Throughput,
        Kind::Training,
        Kind::Claims,
    ];

    /// The name used in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Accuracy => "accuracy",
            Kind::Overflow => "overflow",
            Kind::Gradients => "gradients",
            Kind::Throughput => "throughput",
            Kind::Training => "training",
            Kind::Claims => "claims",
        }
    }

    /// Whether the kind measures variants on generated rows (and so takes
    /// `variants`, `dtypes`, `n` and `generators`).
    pub fn takes_rows(self) -> bool {
        matches!(
            self,
            Kind::Accuracy | Kind::Overflow | Kind::Gradients | Kind::Throughput
        )
    }
}

impl Kind {
    /// The kind of a [`Kind::name`].
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}
