//! Gives every xnas binary, test and example an rpath to the libtorch it was built against, so that
//! they run without a hand-set LD_LIBRARY_PATH. torch-sys tells us where that libtorch lives.
//!
//! It also links libtorch_cuda without `--as-needed` into what trains — `xnas-worker`, tests,
//! examples and benchmarks: nothing in our code references a CUDA symbol directly, so the linker
//! would otherwise drop it and `tch::Cuda::is_available()` would say false on a GPU machine. The
//! `xnas` head binary never gets it: it references no libtorch symbol, so `--as-needed` leaves
//! every libtorch library out of it and it starts without loading the CUDA stack.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return; // built without the `torch` feature
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    if Path::new(&lib_dir).join("libtorch_cuda.so").exists() {
        for target in ["-bin=xnas-worker=", "-tests=", "-examples=", "-benches="] {
            println!("cargo:rustc-link-arg{target}-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg{target}-ltorch_cuda");
            println!("cargo:rustc-link-arg{target}-Wl,--as-needed");
        }
    }
}
