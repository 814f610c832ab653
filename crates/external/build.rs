//! Compiles the C ABI example (`fixtures/sl_example.c`) into a shared library in
//! OUT_DIR with the `cc` crate's compiler, and exports its path to the tests as
//! `SL_EXAMPLE_LIB`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("fixtures/sl_example.c");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed=../../include/softmax_lab.h");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let lib = out.join(if cfg!(target_os = "macos") {
        "libsl_example.dylib"
    } else {
        "libsl_example.so"
    });
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler();
    let mut cmd: Command = compiler.to_command();
    cmd.args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-lm");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler for {}: {e}", src.display()));
    assert!(status.success(), "compiling {} failed", src.display());
    println!("cargo:rustc-env=SL_EXAMPLE_LIB={}", lib.display());
}
