//! The library kind: a shared library exporting the C ABI of
//! `include/softmax_lab.h`, loaded with `libloading` at the variant's first call
//! and called in-process on the caller's buffers (so the usual runner times it).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use softmax_lab_core::variant::check_call;
use softmax_lab_core::{
    DType, Options, Rows, RowsMut, Source, SourceStatus, Variant, VariantError, VariantInfo,
};

use crate::decl::{Access, Declaration};

/// `int <prefix>_<sfx>(const T *x, T *y, size_t rows, size_t n, double t)`.
type ForwardFn = unsafe extern "C" fn(*const c_void, *mut c_void, usize, usize, f64) -> c_int;
/// `int <prefix>_vjp_<sfx>(const T *x, const T *y, const T *dy, T *dx, size_t rows, size_t n, double t)`.
type VjpFn = unsafe extern "C" fn(
    *const c_void,
    *const c_void,
    *const c_void,
    *mut c_void,
    usize,
    usize,
    f64,
) -> c_int;
/// `const char *sl_version(void)`.
type VersionFn = unsafe extern "C" fn() -> *const c_char;

/// The library and the symbols the declaration promises, resolved once.
struct Loaded {
    /// Per dtype of [`DType::ALL`]: the forward entry point (declared dtypes only).
    forward: [Option<ForwardFn>; 4],
    /// Per dtype: the VJP entry point (declared dtypes, when `backward = true`).
    vjp: [Option<VjpFn>; 4],
    /// `sl_version()`, when exported.
    version: Option<String>,
    /// Keeps the symbols valid for the variant's lifetime.
    _lib: libloading::Library,
}

/// An external variant reached through a shared library (see the module docs).
pub struct LibraryVariant {
    info: VariantInfo,
    decl: Declaration,
    loaded: OnceLock<Result<Loaded, VariantError>>,
    status: Mutex<SourceStatus>,
}

fn slot(d: DType) -> usize {
    DType::ALL.iter().position(|a| *a == d).unwrap_or(0)
}

impl LibraryVariant {
    /// The variant of a `kind = "library"` declaration (nothing is loaded yet).
    pub fn new(decl: Declaration, info: VariantInfo) -> LibraryVariant {
        LibraryVariant {
            info,
            decl,
            loaded: OnceLock::new(),
            status: Mutex::new(SourceStatus::NotStarted),
        }
    }

    fn fail(&self, message: String) -> VariantError {
        if let Ok(mut s) = self.status.lock() {
            *s = SourceStatus::Failed(message.clone());
        }
        VariantError::Backend {
            variant: self.info.id.to_string(),
            message,
        }
    }

    fn paths(&self) -> (String, String, PathBuf) {
        match &self.decl.access {
            Access::Library { library, prefix } => {
                let p = PathBuf::from(library);
                let resolved = if p.is_absolute() {
                    p
                } else {
                    self.decl.base_dir().join(p)
                };
                (library.clone(), prefix.clone(), resolved)
            }
            // A library variant is only built from a library declaration.
            Access::Command { .. } => (String::new(), String::new(), PathBuf::new()),
        }
    }

    fn load(&self) -> Result<Loaded, VariantError> {
        let (declared, prefix, path) = self.paths();
        // SAFETY: loading runs the library's initialisers; declaring a library is
        // the user's statement that it is a well-behaved implementation of the ABI.
        let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| {
            self.fail(format!(
                "cannot load library '{declared}' (declared in {}): {e}",
                self.decl.declared_in.display()
            ))
        })?;
        let mut forward = [None; 4];
        let mut vjp = [None; 4];
        let missing = |sym: &str, e: libloading::Error| {
            self.fail(format!(
                "library '{declared}' lacks symbol `{sym}` (expected for {} in the declaration \
                 in {}): {e}",
                self.info.function.name(),
                self.decl.declared_in.display()
            ))
        };
        for &d in &self.decl.dtypes {
            let sym = format!("{prefix}_{}", d.name());
            // SAFETY: the symbol's type is the one the ABI documents for it.
            let f: ForwardFn = unsafe { lib.get::<ForwardFn>(sym.as_bytes()) }
                .map(|s| *s)
                .map_err(|e| missing(&sym, e))?;
            forward[slot(d)] = Some(f);
            if self.decl.backward {
                let sym = format!("{prefix}_vjp_{}", d.name());
                // SAFETY: as above.
                let f: VjpFn = unsafe { lib.get::<VjpFn>(sym.as_bytes()) }
                    .map(|s| *s)
                    .map_err(|e| missing(&sym, e))?;
                vjp[slot(d)] = Some(f);
            }
        }
        // SAFETY: as above; a NULL return is read as "no version".
        let version = unsafe { lib.get::<VersionFn>(b"sl_version") }
            .ok()
            .and_then(|f| {
                let p = unsafe { (*f)() };
                (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            });
        if let Ok(mut s) = self.status.lock() {
            *s = SourceStatus::Ok;
        }
        Ok(Loaded {
            forward,
            vjp,
            version,
            _lib: lib,
        })
    }

    fn loaded(&self) -> Result<&Loaded, VariantError> {
        self.loaded
            .get_or_init(|| self.load())
            .as_ref()
            .map_err(Clone::clone)
    }

    fn code(&self, what: &str, dtype: DType, code: c_int) -> Result<(), VariantError> {
        if code == 0 {
            return Ok(());
        }
        let (_, prefix, _) = self.paths();
        let sym = match what {
            "forward" => format!("{prefix}_{}", dtype.name()),
            _ => format!("{prefix}_vjp_{}", dtype.name()),
        };
        Err(self.fail(format!("`{sym}` returned error code {code} (expected 0)")))
    }
}

fn ptr(x: &Rows<'_>) -> *const c_void {
    match x {
        Rows::F16(v) => v.as_ptr().cast(),
        Rows::BF16(v) => v.as_ptr().cast(),
        Rows::F32(v) => v.as_ptr().cast(),
        Rows::F64(v) => v.as_ptr().cast(),
    }
}

fn ptr_mut(x: &mut RowsMut<'_>) -> *mut c_void {
    match x {
        RowsMut::F16(v) => v.as_mut_ptr().cast(),
        RowsMut::BF16(v) => v.as_mut_ptr().cast(),
        RowsMut::F32(v) => v.as_mut_ptr().cast(),
        RowsMut::F64(v) => v.as_mut_ptr().cast(),
    }
}

impl Variant for LibraryVariant {
    fn info(&self) -> &VariantInfo {
        &self.info
    }

    fn forward(
        &self,
        x: Rows<'_>,
        n: usize,
        opts: &Options,
        mut out: RowsMut<'_>,
    ) -> Result<(), VariantError> {
        check_call(
            &self.info,
            &x,
            &[("output", out.dtype(), out.len())],
            n,
            opts,
        )?;
        let lib = self.loaded()?;
        let dtype = x.dtype();
        let f = lib.forward[slot(dtype)].ok_or_else(|| VariantError::UnsupportedDType {
            variant: self.info.id.to_string(),
            dtype,
            supported: self.info.dtypes.to_vec(),
        })?;
        // SAFETY: both buffers hold rows × n elements of the symbol's element type
        // (f16/bf16 are 16-bit patterns, repr(transparent) over u16), checked above.
        let code = unsafe { f(ptr(&x), ptr_mut(&mut out), x.len() / n, n, opts.temperature) };
        self.code("forward", dtype, code)
    }

    fn backward(
        &self,
        x: Rows<'_>,
        y: Rows<'_>,
        dy: Rows<'_>,
        n: usize,
        opts: &Options,
        mut dx: RowsMut<'_>,
    ) -> Result<(), VariantError> {
        crate::check_backward(&self.info, &x, &y, &dy, &dx, n, opts)?;
        let lib = self.loaded()?;
        let dtype = x.dtype();
        let f =
            lib.vjp[slot(dtype)].ok_or_else(|| VariantError::NoBackward(self.info.id.into()))?;
        // SAFETY: as in forward; every buffer checked to rows × n elements.
        let code = unsafe {
            f(
                ptr(&x),
                ptr(&y),
                ptr(&dy),
                ptr_mut(&mut dx),
                x.len() / n,
                n,
                opts.temperature,
            )
        };
        self.code("backward", dtype, code)
    }

    fn source(&self) -> Option<Source> {
        let version = self
            .loaded
            .get()
            .and_then(|l| l.as_ref().ok())
            .and_then(|l| l.version.clone());
        Some(Source {
            kind: "library".into(),
            declared: self.decl.access.declared(),
            name: version.clone().unwrap_or_default(),
            versions: version
                .map(|v| vec![("sl_version".to_string(), v)])
                .unwrap_or_default(),
            status: self
                .status
                .lock()
                .map(|s| s.clone())
                .unwrap_or(SourceStatus::NotStarted),
        })
    }
}
