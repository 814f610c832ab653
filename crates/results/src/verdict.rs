//! The verdicts of the claims ledger: the vocabulary of the `verdict` column,
//! defined once for the ledger that computes them and the report that counts them.

/// A claim's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The measurements agree with the claim.
    Holds,
    /// The claim is right in the main but the measurements show exceptions.
    HoldsWithCaveats,
    /// The measurements contradict the claim: a significant difference against
    /// it, or (for an equivalence claim) a difference shown to exceed its margin.
    DoesNotHold,
    /// The run measured the question but the numbers decide neither way: a null
    /// result (no significant difference and no equivalence shown within the
    /// stated margin), which is not a refutation.
    Inconclusive,
    /// The run has nothing that decides it (missing results or variants).
    NotTested,
}

impl Verdict {
    /// Every verdict, in the order the report counts them.
    pub const ALL: [Verdict; 5] = [
        Verdict::Holds,
        Verdict::HoldsWithCaveats,
        Verdict::DoesNotHold,
        Verdict::Inconclusive,
        Verdict::NotTested,
    ];

    /// The text in the `verdict` column.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::HoldsWithCaveats => "holds with caveats",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotTested => "not tested here",
        }
    }

    /// The verdict of a [`Verdict::name`].
    pub fn from_name(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.name() == name)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
