//! What both binaries do around a command: the signal set-up before it and the exit code after.
//! `src/worker/main.rs` includes this file too, so that `xnas` and `xnas-worker` end alike.

/// Rust ignores SIGPIPE, so `println!` into a closed pipe (`xnas pareto … | head`) panics. A
/// command-line tool should end quietly instead, as `cat` does.
pub fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The exit code of a command's result; an error is printed with its chain of causes.
pub fn exit_code(result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
