//! Compiles the C ABI example (`fixtures/sl_example.c`) into a shared library in
//! OUT_DIR with the `cc` crate's compiler, and exports its path to the tests as
//! `SL_EXAMPLE_LIB`. Without a working C compiler the crate still builds (the
//! runner needs none): `SL_EXAMPLE_LIB` is empty, a cargo warning says why, and
//! the tests that load the example fail saying so.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("fixtures/sl_example.c");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed=../../include/softmax_lab.h");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        println!("cargo:rustc-env=SL_EXAMPLE_LIB=");
        return;
    };
    let lib = out.join(if cfg!(target_os = "macos") {
        "libsl_example.dylib"
    } else {
        "libsl_example.so"
    });
    let built = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .map_err(|e| e.to_string())
        .and_then(|compiler| {
            let mut cmd: Command = compiler.to_command();
            cmd.args(["-shared", "-fPIC", "-O2", "-o"])
                .arg(&lib)
                .arg(&src)
                .arg("-lm");
            match cmd.status() {
                Ok(s) if s.success() => Ok(()),
                Ok(s) => Err(format!("the C compiler exited with {s}")),
                Err(e) => Err(format!("cannot run the C compiler: {e}")),
            }
        });
    match built {
        Ok(()) => println!("cargo:rustc-env=SL_EXAMPLE_LIB={}", lib.display()),
        Err(e) => {
            println!(
                "cargo:warning=the C example {} was not built ({e}); the tests that load it will fail",
                src.display()
            );
            println!("cargo:rustc-env=SL_EXAMPLE_LIB=");
        }
    }
}
