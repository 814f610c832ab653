//! The contract every variant fills in: what it is (`VariantInfo`), forward over a
//! batch of rows into the caller's buffer, and backward as a vector–Jacobian product.

use std::fmt;

use half::{bf16, f16};

use crate::dtype::{DType, Element};

pub use crate::adapter::{check_call, RowKernel, TypedKernel};

/// Which variant family (and crate) a variant belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Textbook formulas with no protection (crate `naive`).
    Naive,
    /// Max-shifted and online softmax (crate `stable`).
    Stable,
    /// Log-softmax and friends (crate `logsumexp`).
    LogSumExp,
    /// Elementwise logistic heads (crate `sigmoid-heads`).
    Sigmoid,
    /// The candle-nn ops (crate `candle-baseline`).
    Candle,
    /// Sparse projections onto the simplex: sparsemax and 1.5-entmax (crate `sparsemax`).
    Sparse,
    /// Vectorised, multi-threaded kernels on a SIMD exp (crate `simd`).
    Simd,
    /// Implementations outside the workspace, declared at run time: a shared
    /// library through the C ABI or a program speaking the command protocol
    /// (crate `external`).
    External,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 8] = [
        Family::Naive,
        Family::Stable,
        Family::LogSumExp,
        Family::Sigmoid,
        Family::Candle,
        Family::Sparse,
        Family::Simd,
        Family::External,
    ];

    /// The name used in listings and scenarios.
    pub fn name(self) -> &'static str {
        match self {
            Family::Naive => "naive",
            Family::Stable => "stable",
            Family::LogSumExp => "logsumexp",
            Family::Sigmoid => "sigmoid",
            Family::Candle => "candle",
            Family::Sparse => "sparsemax",
            Family::Simd => "simd",
            Family::External => "external",
        }
    }

    /// The family of a [`Family::name`].
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The mathematical function a variant computes; it selects the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// softmax(x / T) over each row.
    Softmax,
    /// log softmax(x / T) over each row.
    LogSoftmax,
    /// The logistic function, elementwise.
    Sigmoid,
    /// relu6(x + 3) / 6, elementwise.
    HardSigmoid,
    /// sparsemax(x / T): the Euclidean projection onto the simplex (Martins &
    /// Astudillo 2016).
    Sparsemax,
    /// 1.5-entmax of x / T (Peters, Niculae & Martins 2019).
    Entmax15,
    /// softmax((x + g) / τ) with Gumbel noise g drawn from a seed (Jang, Gu & Poole
    /// 2017; Maddison, Mnih & Teh 2017): a sample, scored by its statistics, not
    /// per output (see `reference::forward`).
    GumbelSoftmax,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 7] = [
        Function::Softmax,
        Function::LogSoftmax,
        Function::Sigmoid,
        Function::HardSigmoid,
        Function::Sparsemax,
        Function::Entmax15,
        Function::GumbelSoftmax,
    ];

    /// The function of a [`Function::name`].
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// True when the output of an entry depends on the whole row.
    pub fn is_rowwise(self) -> bool {
        matches!(
            self,
            Function::Softmax
                | Function::LogSoftmax
                | Function::GumbelSoftmax
                | Function::Sparsemax
                | Function::Entmax15
        )
    }

    /// The name used in listings.
    pub fn name(self) -> &'static str {
        match self {
            Function::Softmax => "softmax",
            Function::LogSoftmax => "log_softmax",
            Function::Sigmoid => "sigmoid",
            Function::HardSigmoid => "hard_sigmoid",
            Function::Sparsemax => "sparsemax",
            Function::Entmax15 => "entmax15",
            Function::GumbelSoftmax => "gumbel_softmax",
        }
    }
}

/// The algorithm a variant follows, when a rounding-error bound is known for it
/// (see `bounds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Formula {
    /// exp(x − max) / Σ exp(x − max), three passes.
    ShiftedSoftmax,
    /// Two passes with a running max and rescaled sum (Milakov & Gimelshein 2018).
    OnlineSoftmax,
    /// (x − max) − log Σ exp(x − max).
    ShiftedLogSoftmax,
}

/// Where a variant's intermediate sums and exponentials live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accumulation {
    /// Every operation rounds to the storage dtype.
    Storage,
    /// f16/bf16 compute in f32; f32 and f64 in themselves.
    F32ForHalf,
    /// f16/bf16/f32 compute in f64 and round once; f64 in double-double.
    Wide,
    /// f16/bf16/f32 compute in f64 and round once; f64 in f64.
    F64,
    /// Whatever the framework does (candle: f16/bf16 sums in the narrow type).
    Framework,
}

impl Accumulation {
    /// A short description for listings.
    pub fn describe(self) -> &'static str {
        match self {
            Accumulation::Storage => "storage dtype",
            Accumulation::F32ForHalf => "f32 for f16/bf16, else storage",
            Accumulation::Wide => "f64 for f16/bf16/f32, double-double for f64",
            Accumulation::F64 => "f64",
            Accumulation::Framework => "framework's own (candle: narrow-type sums)",
        }
    }
}

/// What a variant is: the facts `softmax-lab list` prints and the harness reads.
#[derive(Clone, Copy, Debug)]
pub struct VariantInfo {
    /// Stable id, part of the interface (`stable`, `log_softmax`, ...).
    pub id: &'static str,
    /// Family it belongs to.
    pub family: Family,
    /// The function it computes.
    pub function: Function,
    /// One line saying what it is.
    pub description: &'static str,
    /// Dtypes it runs in.
    pub dtypes: &'static [DType],
    /// Its accumulation policy.
    pub accumulation: Accumulation,
    /// The formula whose error bound applies (None: no bound claimed).
    pub formula: Option<Formula>,
    /// Whether `backward` is implemented (if not, it returns `NoBackward`).
    pub has_backward: bool,
    /// Whether it accepts a temperature other than 1.
    pub temperature: bool,
}

/// Per-call options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Softmax temperature T: the variant computes f(x / T). Finite and > 0.
    pub temperature: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { temperature: 1.0 }
    }
}

/// A read-only batch of rows, `[rows, n]` contiguous, in one of the dtypes.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    /// f16 data.
    F16(&'a [f16]),
    /// bf16 data.
    BF16(&'a [bf16]),
    /// f32 data.
    F32(&'a [f32]),
    /// f64 data.
    F64(&'a [f64]),
}

/// A writable batch of rows, `[rows, n]` contiguous, in one of the dtypes.
#[derive(Debug)]
pub enum RowsMut<'a> {
    /// f16 data.
    F16(&'a mut [f16]),
    /// bf16 data.
    BF16(&'a mut [bf16]),
    /// f32 data.
    F32(&'a mut [f32]),
    /// f64 data.
    F64(&'a mut [f64]),
}

macro_rules! rows_common {
    ($t:ident) => {
        impl $t<'_> {
            /// The dtype of the data.
            pub fn dtype(&self) -> DType {
                match self {
                    $t::F16(_) => DType::F16,
                    $t::BF16(_) => DType::BF16,
                    $t::F32(_) => DType::F32,
                    $t::F64(_) => DType::F64,
                }
            }
            /// Number of elements.
            pub fn len(&self) -> usize {
                match self {
                    $t::F16(v) => v.len(),
                    $t::BF16(v) => v.len(),
                    $t::F32(v) => v.len(),
                    $t::F64(v) => v.len(),
                }
            }
            /// True when there are no elements.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }
    };
}
rows_common!(Rows);
rows_common!(RowsMut);

impl<'a> Rows<'a> {
    /// The data as a typed slice, if the dtype is T's.
    pub fn typed<T: Element>(self) -> Option<&'a [T]> {
        T::view(self)
    }
}

impl<'a> RowsMut<'a> {
    /// The data as a typed mutable slice, if the dtype is T's.
    pub fn typed<T: Element>(self) -> Option<&'a mut [T]> {
        T::view_mut(self)
    }
}

/// Everything that can go wrong when calling a variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VariantError {
    /// No variant has this id.
    #[error("unknown variant '{id}': expected one of {}", known.join(", "))]
    UnknownVariant {
        /// The id asked for.
        id: String,
        /// Every registered id.
        known: Vec<String>,
    },
    /// The variant does not run in this dtype.
    #[error("variant '{variant}' does not support dtype {dtype}: it supports {}", supported.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "))]
    UnsupportedDType {
        /// The variant id.
        variant: String,
        /// The dtype asked for.
        dtype: DType,
        /// The dtypes it supports.
        supported: Vec<DType>,
    },
    /// A row length of zero.
    #[error("empty row: a row needs at least one element")]
    EmptyRow,
    /// Buffer lengths that do not fit `[rows, n]`.
    #[error("shape mismatch: {what} has {len} elements, expected {expected}")]
    Shape {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The length expected.
        expected: String,
    },
    /// Buffers of different dtypes.
    #[error("dtype mismatch: {what} is {got}, expected {expected}")]
    DTypeMismatch {
        /// Which buffer.
        what: &'static str,
        /// Its dtype.
        got: DType,
        /// The dtype expected.
        expected: DType,
    },
    /// The variant has no backward (callers see it; nothing is faked).
    #[error("variant '{0}' has no backward")]
    NoBackward(String),
    /// A temperature that is not finite and positive.
    #[error("temperature must be finite and > 0, got {0}")]
    InvalidTemperature(f64),
    /// A temperature other than 1 for a variant without one.
    #[error("variant '{0}' takes no temperature")]
    TemperatureUnsupported(String),
    /// An error inside a framework backend (candle) or an external implementation
    /// (a library or a program that failed a call).
    #[error("backend error in '{variant}': {message}")]
    Backend {
        /// The variant id.
        variant: String,
        /// The backend's message.
        message: String,
    },
    /// An external implementation that cannot run on this machine (its package is
    /// not installed): not a failure of the implementation, reported as such.
    #[error("variant '{variant}' is unavailable: {message}")]
    Unavailable {
        /// The variant id.
        variant: String,
        /// Why (the implementation's own words).
        message: String,
    },
}

/// Where a variant declared outside the workspace comes from and how it has fared
/// so far, for the results and the report ([`Variant::source`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Source {
    /// How it is reached: `library` or `command`.
    pub kind: String,
    /// The library path or the command line, as declared (never made absolute).
    pub declared: String,
    /// The implementation's own name (a command's hello; empty when unknown).
    pub name: String,
    /// Versions it reported (package → version; a library's `sl_version`).
    pub versions: Vec<(String, String)>,
    /// Whether it answered.
    pub status: SourceStatus,
}

/// How an external variant has fared in a run.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum SourceStatus {
    /// Never called.
    #[default]
    NotStarted,
    /// Every call so far answered.
    Ok,
    /// It said it cannot run here (its message).
    Unavailable(String),
    /// A call failed; the variant answers every later call with this message.
    Failed(String),
}

impl SourceStatus {
    /// The name in results: `not_started`, `ok`, `unavailable`, `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            SourceStatus::NotStarted => "not_started",
            SourceStatus::Ok => "ok",
            SourceStatus::Unavailable(_) => "unavailable",
            SourceStatus::Failed(_) => "failed",
        }
    }

    /// The message of an unavailable or failed variant (empty otherwise).
    pub fn message(&self) -> &str {
        match self {
            SourceStatus::Unavailable(m) | SourceStatus::Failed(m) => m,
            SourceStatus::NotStarted | SourceStatus::Ok => "",
        }
    }
}

/// A variant: one implementation of softmax, log-softmax or a sigmoid.
pub trait Variant: Send + Sync {
    /// What the variant is.
    fn info(&self) -> &VariantInfo;

    /// Compute the function over each of the `x.len() / n` rows of length `n` into
    /// `out` (same dtype and length). No allocation per call.
    fn forward(
        &self,
        x: Rows<'_>,
        n: usize,
        opts: &Options,
        out: RowsMut<'_>,
    ) -> Result<(), VariantError>;

    /// The vector–Jacobian product: given x, y = f(x) and dL/dy, write dL/dx.
    /// Variants without one return `VariantError::NoBackward`.
    fn backward(
        &self,
        x: Rows<'_>,
        y: Rows<'_>,
        dy: Rows<'_>,
        n: usize,
        opts: &Options,
        dx: RowsMut<'_>,
    ) -> Result<(), VariantError>;

    /// The variant's id (shorthand for `info().id`).
    fn id(&self) -> &'static str {
        self.info().id
    }

    /// A repeatable call for throughput measurement, for variants that keep their
    /// data in a form of their own (a framework's tensors): the returned closure runs
    /// the op once on data prepared here, so the timing covers what a user of that
    /// framework pays per call and not the conversion from slices. `None` (the
    /// default): time [`Variant::forward`] / [`Variant::backward`] on the caller's
    /// buffers, which is exactly what a user of this variant pays.
    fn timed_call(
        &self,
        _direction: Direction,
        _x: Rows<'_>,
        _dy: Rows<'_>,
        _n: usize,
        _opts: &Options,
    ) -> Option<Result<TimedCall, VariantError>> {
        None
    }

    /// Throughput timed by the implementation itself, for variants whose calls
    /// cross a process boundary (the command protocol): the implementation runs
    /// `samples` samples of `reps` back-to-back calls on `x` (and `dy` for the
    /// backward) and the result is the seconds per call of each sample. `None`
    /// (the default): the harness's runner times the calls.
    #[allow(clippy::too_many_arguments)]
    fn self_timed(
        &self,
        _direction: Direction,
        _x: Rows<'_>,
        _dy: Rows<'_>,
        _n: usize,
        _opts: &Options,
        _samples: usize,
        _reps: usize,
    ) -> Option<Result<Vec<f64>, VariantError>> {
        None
    }

    /// Where a variant declared outside the workspace comes from and its status
    /// (`None`, the default: a built-in variant).
    fn source(&self) -> Option<Source> {
        None
    }
}

/// Which pass a measurement times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// The function itself.
    Forward,
    /// The vector–Jacobian product.
    Backward,
}

impl Direction {
    /// Both, forward first.
    pub const ALL: [Direction; 2] = [Direction::Forward, Direction::Backward];

    /// The name in results (`forward` / `backward`).
    pub fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// A prepared call that [`Variant::timed_call`] returns: each invocation runs the op
/// once on the prepared data.
pub type TimedCall = Box<dyn FnMut() -> Result<(), VariantError> + Send>;

/// An owned batch in one dtype, for callers that hold data between calls.
#[derive(Clone, Debug, PartialEq)]
pub enum Buffer {
    /// f16 data.
    F16(Vec<f16>),
    /// bf16 data.
    BF16(Vec<bf16>),
    /// f32 data.
    F32(Vec<f32>),
    /// f64 data.
    F64(Vec<f64>),
}

impl Buffer {
    /// Round f64 values into a new buffer of `dtype` (nearest, ties to even).
    pub fn from_f64(dtype: DType, values: &[f64]) -> Buffer {
        fn conv<T: Element>(v: &[f64]) -> Vec<T> {
            v.iter().map(|&x| T::from_f64(x)).collect()
        }
        match dtype {
            DType::F16 => Buffer::F16(conv(values)),
            DType::BF16 => Buffer::BF16(conv(values)),
            DType::F32 => Buffer::F32(conv(values)),
            DType::F64 => Buffer::F64(conv(values)),
        }
    }

    /// A buffer of `len` zeros.
    pub fn zeros(dtype: DType, len: usize) -> Buffer {
        match dtype {
            DType::F16 => Buffer::F16(vec![f16::ZERO; len]),
            DType::BF16 => Buffer::BF16(vec![bf16::ZERO; len]),
            DType::F32 => Buffer::F32(vec![0.0; len]),
            DType::F64 => Buffer::F64(vec![0.0; len]),
        }
    }

    /// The exact values as f64.
    pub fn to_f64(&self) -> Vec<f64> {
        fn conv<T: Element>(v: &[T]) -> Vec<f64> {
            v.iter().map(|x| x.to_f64()).collect()
        }
        match self {
            Buffer::F16(v) => conv(v),
            Buffer::BF16(v) => conv(v),
            Buffer::F32(v) => conv(v),
            Buffer::F64(v) => conv(v),
        }
    }

    /// A read-only view.
    pub fn rows(&self) -> Rows<'_> {
        match self {
            Buffer::F16(v) => Rows::F16(v),
            Buffer::BF16(v) => Rows::BF16(v),
            Buffer::F32(v) => Rows::F32(v),
            Buffer::F64(v) => Rows::F64(v),
        }
    }

    /// A writable view.
    pub fn rows_mut(&mut self) -> RowsMut<'_> {
        match self {
            Buffer::F16(v) => RowsMut::F16(v),
            Buffer::BF16(v) => RowsMut::BF16(v),
            Buffer::F32(v) => RowsMut::F32(v),
            Buffer::F64(v) => RowsMut::F64(v),
        }
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.rows().dtype()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Run a variant's forward on f64 values rounded to `dtype`; returns the exact
/// output values. A convenience for tests, the CLI and the harness.
pub fn forward_f64(
    v: &dyn Variant,
    dtype: DType,
    x: &[f64],
    n: usize,
    opts: &Options,
) -> Result<Vec<f64>, VariantError> {
    let xb = Buffer::from_f64(dtype, x);
    let mut out = Buffer::zeros(dtype, x.len());
    v.forward(xb.rows(), n, opts, out.rows_mut())?;
    Ok(out.to_f64())
}

/// Run forward then backward on f64 values rounded to `dtype`; returns (y, dx).
pub fn forward_backward_f64(
    v: &dyn Variant,
    dtype: DType,
    x: &[f64],
    dy: &[f64],
    n: usize,
    opts: &Options,
) -> Result<(Vec<f64>, Vec<f64>), VariantError> {
    let xb = Buffer::from_f64(dtype, x);
    let gb = Buffer::from_f64(dtype, dy);
    let mut y = Buffer::zeros(dtype, x.len());
    v.forward(xb.rows(), n, opts, y.rows_mut())?;
    let mut dx = Buffer::zeros(dtype, x.len());
    v.backward(xb.rows(), y.rows(), gb.rows(), n, opts, dx.rows_mut())?;
    Ok((y.to_f64(), dx.to_f64()))
}
