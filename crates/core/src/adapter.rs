//! The one variant adapter: every family's variants reach [`Variant`] through it.
//!
//! A family writes typed entry points ([`TypedKernel`]: forward and backward over
//! a whole `[rows, n]` batch in one concrete dtype, or [`RowKernel`]: one row,
//! generic in the dtype); the blanket `Variant` impl here checks every call
//! ([`check_call`]: dtype supported, `n > 0`, buffer dtypes and lengths,
//! temperature domain; "no backward" first) and dispatches the erased buffers to
//! the typed entry point. No family repeats either step.

pub use half::{bf16, f16};

use crate::dtype::{DType, Element};
use crate::variant::{
    Direction, Options, Rows, RowsMut, TimedCall, Variant, VariantError, VariantInfo,
};

/// Call `f::<T, A>(args)` with the arithmetic type A of the `F32ForHalf` policy:
/// f64 when T is f64, f32 otherwise.
#[macro_export]
macro_rules! f32_for_half {
    ($f:ident :: <$t:ty>($($arg:expr),*)) => {
        if <$t as $crate::Element>::DTYPE == $crate::DType::F64 {
            $f::<$t, f64>($($arg),*)
        } else {
            $f::<$t, f32>($($arg),*)
        }
    };
}

/// `f32_for_half_kernel!(Kernel, INFO, fwd, bwd)`: implement `RowKernel` for a
/// kernel whose forward is `fwd::<T, A>(x, t, out)` and
/// whose backward is `bwd::<T, A>(x, y, dy, t, dx)`, both dispatched with the
/// `F32ForHalf` policy (A = f64 for f64 rows, f32 otherwise).
#[macro_export]
macro_rules! f32_for_half_kernel {
    ($kernel:ty, $info:expr, $fwd:ident, $bwd:ident) => {
        impl $crate::RowKernel for $kernel {
            const INFO: $crate::VariantInfo = $info;

            fn forward_row<T: $crate::Element>(&self, x: &[T], t: f64, out: &mut [T]) {
                $crate::f32_for_half!($fwd::<T>(x, t, out))
            }

            fn backward_row<T: $crate::Element>(
                &self,
                x: &[T],
                y: &[T],
                dy: &[T],
                t: f64,
                dx: &mut [T],
            ) -> Option<()> {
                $crate::f32_for_half!($bwd::<T>(x, y, dy, t, dx));
                Some(())
            }
        }
    };
}

/// Check the arguments every variant receives: the dtype is supported, `n > 0`,
/// every buffer has the dtype and length of `x`, and the temperature is allowed.
pub fn check_call(
    info: &VariantInfo,
    x: &Rows<'_>,
    others: &[(&'static str, DType, usize)],
    n: usize,
    opts: &Options,
) -> Result<(), VariantError> {
    let dtype = x.dtype();
    if !info.dtypes.contains(&dtype) {
        return Err(VariantError::UnsupportedDType {
            variant: info.id.to_string(),
            dtype,
            supported: info.dtypes.to_vec(),
        });
    }
    if n == 0 {
        return Err(VariantError::EmptyRow);
    }
    if !x.len().is_multiple_of(n) {
        return Err(VariantError::Shape {
            what: "input",
            len: x.len(),
            expected: format!("a multiple of the row length {n}"),
        });
    }
    for &(what, d, len) in others {
        if d != dtype {
            return Err(VariantError::DTypeMismatch {
                what,
                got: d,
                expected: dtype,
            });
        }
        if len != x.len() {
            return Err(VariantError::Shape {
                what,
                len,
                expected: x.len().to_string(),
            });
        }
    }
    let t = opts.temperature;
    if !(t.is_finite() && t > 0.0) {
        return Err(VariantError::InvalidTemperature(t));
    }
    if t != 1.0 && !info.temperature {
        return Err(VariantError::TemperatureUnsupported(info.id.to_string()));
    }
    Ok(())
}

/// A variant's typed entry points: forward and backward over a whole `[rows, n]`
/// batch (`x.len()` a multiple of `n`, every buffer as long as `x`, the
/// temperature `t` allowed), one method per dtype. The blanket [`Variant`] impl
/// checks each call with [`check_call`] and dispatches here; backward is not
/// called when `info().has_backward` is false. Kernels written once over the
/// dtype fill the eight methods with [`typed_kernel_methods!`](crate::typed_kernel_methods).
pub trait TypedKernel: Send + Sync {
    /// What the variant is (returned by [`Variant::info`]).
    fn kernel_info(&self) -> &VariantInfo;

    /// Forward over f16 rows.
    fn forward_f16(&self, x: &[f16], n: usize, t: f64, out: &mut [f16])
        -> Result<(), VariantError>;
    /// Forward over bf16 rows.
    fn forward_bf16(
        &self,
        x: &[bf16],
        n: usize,
        t: f64,
        out: &mut [bf16],
    ) -> Result<(), VariantError>;
    /// Forward over f32 rows.
    fn forward_f32(&self, x: &[f32], n: usize, t: f64, out: &mut [f32])
        -> Result<(), VariantError>;
    /// Forward over f64 rows.
    fn forward_f64(&self, x: &[f64], n: usize, t: f64, out: &mut [f64])
        -> Result<(), VariantError>;

    /// Backward over f16 rows: x, the output y, dL/dy, into dL/dx.
    #[allow(clippy::too_many_arguments)]
    fn backward_f16(
        &self,
        x: &[f16],
        y: &[f16],
        dy: &[f16],
        n: usize,
        t: f64,
        dx: &mut [f16],
    ) -> Result<(), VariantError>;
    /// Backward over bf16 rows.
    #[allow(clippy::too_many_arguments)]
    fn backward_bf16(
        &self,
        x: &[bf16],
        y: &[bf16],
        dy: &[bf16],
        n: usize,
        t: f64,
        dx: &mut [bf16],
    ) -> Result<(), VariantError>;
    /// Backward over f32 rows.
    #[allow(clippy::too_many_arguments)]
    fn backward_f32(
        &self,
        x: &[f32],
        y: &[f32],
        dy: &[f32],
        n: usize,
        t: f64,
        dx: &mut [f32],
    ) -> Result<(), VariantError>;
    /// Backward over f64 rows.
    #[allow(clippy::too_many_arguments)]
    fn backward_f64(
        &self,
        x: &[f64],
        y: &[f64],
        dy: &[f64],
        n: usize,
        t: f64,
        dx: &mut [f64],
    ) -> Result<(), VariantError>;

    /// See [`Variant::timed_call`] (default: `None`, time forward/backward).
    fn typed_timed_call(
        &self,
        _direction: Direction,
        _x: Rows<'_>,
        _dy: Rows<'_>,
        _n: usize,
        _opts: &Options,
    ) -> Option<Result<TimedCall, VariantError>> {
        None
    }
}

/// Implement [`TypedKernel`]'s eight typed methods inside an `impl TypedKernel`
/// block from two functions generic in the element type,
/// `$fwd::<T>(&self, x, n, t, out)` and `$bwd::<T>(&self, x, y, dy, n, t, dx)`,
/// both returning `Result<(), VariantError>`.
#[macro_export]
macro_rules! typed_kernel_methods {
    ($fwd:ident, $bwd:ident) => {
        $crate::typed_kernel_methods!(@one $fwd, $bwd, forward_f16, backward_f16, $crate::adapter::f16);
        $crate::typed_kernel_methods!(@one $fwd, $bwd, forward_bf16, backward_bf16, $crate::adapter::bf16);
        $crate::typed_kernel_methods!(@one $fwd, $bwd, forward_f32, backward_f32, f32);
        $crate::typed_kernel_methods!(@one $fwd, $bwd, forward_f64, backward_f64, f64);
    };
    (@one $fwd:ident, $bwd:ident, $f:ident, $b:ident, $t:ty) => {
        fn $f(
            &self,
            x: &[$t],
            n: usize,
            t: f64,
            out: &mut [$t],
        ) -> Result<(), $crate::VariantError> {
            $fwd::<$t>(self, x, n, t, out)
        }
        fn $b(
            &self,
            x: &[$t],
            y: &[$t],
            dy: &[$t],
            n: usize,
            t: f64,
            dx: &mut [$t],
        ) -> Result<(), $crate::VariantError> {
            $bwd::<$t>(self, x, y, dy, n, t, dx)
        }
    };
}

/// A dtype mismatch between buffers (ruled out by [`check_call`]; kept as an
/// error rather than a panic).
fn mismatch(what: &'static str, got: DType, expected: DType) -> VariantError {
    VariantError::DTypeMismatch {
        what,
        got,
        expected,
    }
}

impl<K: TypedKernel> Variant for K {
    fn info(&self) -> &VariantInfo {
        self.kernel_info()
    }

    fn forward(
        &self,
        x: Rows<'_>,
        n: usize,
        opts: &Options,
        out: RowsMut<'_>,
    ) -> Result<(), VariantError> {
        let info = self.kernel_info();
        check_call(info, &x, &[("output", out.dtype(), out.len())], n, opts)?;
        let t = opts.temperature;
        match (x, out) {
            (Rows::F16(x), RowsMut::F16(o)) => self.forward_f16(x, n, t, o),
            (Rows::BF16(x), RowsMut::BF16(o)) => self.forward_bf16(x, n, t, o),
            (Rows::F32(x), RowsMut::F32(o)) => self.forward_f32(x, n, t, o),
            (Rows::F64(x), RowsMut::F64(o)) => self.forward_f64(x, n, t, o),
            (x, o) => Err(mismatch("output", o.dtype(), x.dtype())),
        }
    }

    fn backward(
        &self,
        x: Rows<'_>,
        y: Rows<'_>,
        dy: Rows<'_>,
        n: usize,
        opts: &Options,
        dx: RowsMut<'_>,
    ) -> Result<(), VariantError> {
        let info = self.kernel_info();
        if !info.has_backward {
            return Err(VariantError::NoBackward(info.id.to_string()));
        }
        let others = [
            ("output", y.dtype(), y.len()),
            ("grad_output", dy.dtype(), dy.len()),
            ("grad_input", dx.dtype(), dx.len()),
        ];
        check_call(info, &x, &others, n, opts)?;
        let t = opts.temperature;
        let xd = x.dtype();
        match (x, y, dy, dx) {
            (Rows::F16(x), Rows::F16(y), Rows::F16(g), RowsMut::F16(d)) => {
                self.backward_f16(x, y, g, n, t, d)
            }
            (Rows::BF16(x), Rows::BF16(y), Rows::BF16(g), RowsMut::BF16(d)) => {
                self.backward_bf16(x, y, g, n, t, d)
            }
            (Rows::F32(x), Rows::F32(y), Rows::F32(g), RowsMut::F32(d)) => {
                self.backward_f32(x, y, g, n, t, d)
            }
            (Rows::F64(x), Rows::F64(y), Rows::F64(g), RowsMut::F64(d)) => {
                self.backward_f64(x, y, g, n, t, d)
            }
            (_, y, g, d) => {
                let wrong = [
                    ("output", y.dtype()),
                    ("grad_output", g.dtype()),
                    ("grad_input", d.dtype()),
                ]
                .into_iter()
                .find(|&(_, dt)| dt != xd)
                .unwrap_or(("grad_input", d.dtype()));
                Err(mismatch(wrong.0, wrong.1, xd))
            }
        }
    }

    fn timed_call(
        &self,
        direction: Direction,
        x: Rows<'_>,
        dy: Rows<'_>,
        n: usize,
        opts: &Options,
    ) -> Option<Result<TimedCall, VariantError>> {
        self.typed_timed_call(direction, x, dy, n, opts)
    }
}

/// A variant written as plain loops over one row, generic in the dtype. The
/// blanket [`TypedKernel`] impl walks the rows (and so the adapter checks the
/// call and dispatches on the dtype).
pub trait RowKernel: Send + Sync {
    /// What the variant is.
    const INFO: VariantInfo;

    /// Forward over one row: `out.len() == x.len() == n`.
    fn forward_row<T: Element>(&self, x: &[T], t: f64, out: &mut [T]);

    /// Backward over one row; `None` means "no backward" (match `INFO.has_backward`).
    fn backward_row<T: Element>(
        &self,
        x: &[T],
        y: &[T],
        dy: &[T],
        t: f64,
        dx: &mut [T],
    ) -> Option<()>;
}

/// The id of a row kernel's variant.
fn id_of<K: RowKernel>(_: &K) -> &'static str {
    K::INFO.id
}

/// Forward over every row of a batch.
fn run_rows<T: Element>(
    k: &impl RowKernel,
    x: &[T],
    n: usize,
    t: f64,
    out: &mut [T],
) -> Result<(), VariantError> {
    for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        k.forward_row(xr, t, or);
    }
    Ok(())
}

/// Backward over every row of a batch; a row without a backward is `NoBackward`.
#[allow(clippy::too_many_arguments)]
fn run_rows_back<T: Element>(
    k: &impl RowKernel,
    x: &[T],
    y: &[T],
    dy: &[T],
    n: usize,
    t: f64,
    dx: &mut [T],
) -> Result<(), VariantError> {
    let rows = x
        .chunks_exact(n)
        .zip(y.chunks_exact(n))
        .zip(dy.chunks_exact(n));
    for (((xr, yr), gr), dr) in rows.zip(dx.chunks_exact_mut(n)) {
        k.backward_row(xr, yr, gr, t, dr)
            .ok_or_else(|| VariantError::NoBackward(id_of(k).to_string()))?;
    }
    Ok(())
}

impl<K: RowKernel> TypedKernel for K {
    fn kernel_info(&self) -> &VariantInfo {
        &K::INFO
    }

    crate::typed_kernel_methods!(run_rows, run_rows_back);
}
