//! One `xnas evaluate` child process: spawn it with its job on stdin, read its progress lines and
//! log from stderr and its record from stdout on a thread, and turn its exit into a [`JobOutcome`].

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::thread;

use super::{ExecError, Job, JobOutcome, JobProgress, CONFIG_ERROR_EXIT, PROGRESS_PREFIX};
use crate::record::MeasurementRecord;

/// Lines of a child's stderr kept for the error message when it fails.
pub(super) const STDERR_TAIL_LINES: usize = 20;

/// What the reader thread of a child reports.
pub(super) enum ChildEvent {
    Progress(u64, JobProgress),
    /// stdout closed: the child is exiting. Its whole stdout and the end of its stderr.
    Closed {
        job: u64,
        stdout: String,
        stderr_tail: String,
    },
}

/// Starts `program evaluate` for `job` with extra environment variables; its events go to `events`.
/// Log lines are appended to `log`, prefixed with the job id.
pub(super) fn spawn(
    program: &Path,
    job: &Job,
    env: &[(String, String)],
    log: Option<PathBuf>,
    events: Sender<ChildEvent>,
) -> Result<Child, ExecError> {
    let mut command = Command::new(program);
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // Spinning OpenMP threads make libtorch 10-70x slower when anything else runs.
        command.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    die_with_parent(&mut command);
    let mut child = command
        .arg("evaluate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ExecError::Spawn { program: program.display().to_string(), message: e.to_string() })?;
    let id = job.id;
    let input = serde_json::to_vec(job).expect("a job serialises");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    thread::spawn(move || {
        // A child that died before reading its job shows up as an exit without a record.
        let _ = stdin.write_all(&input);
        drop(stdin);
        let progress = events.clone();
        let stderr_reader = thread::spawn(move || {
            let mut tail: VecDeque<String> = VecDeque::new();
            let mut log_file = log.and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(json) = line.strip_prefix(PROGRESS_PREFIX) {
                    if let Ok(p) = serde_json::from_str(json) {
                        let _ = progress.send(ChildEvent::Progress(id, p));
                    }
                    continue;
                }
                if let Some(f) = log_file.as_mut() {
                    let _ = writeln!(f, "[job {id}] {line}");
                }
                tail.push_back(line);
                if tail.len() > STDERR_TAIL_LINES {
                    tail.pop_front();
                }
            }
            tail.into_iter().collect::<Vec<_>>().join("\n")
        });
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let stderr_tail = stderr_reader.join().unwrap_or_default();
        let _ = events.send(ChildEvent::Closed { job: id, stdout: out, stderr_tail });
    });
    Ok(child)
}

/// Makes the child die when this process dies (`kill -9` of a run, a crashed head): an orphaned
/// training would hold its GPU and cores while `xnas resume` starts the same job again.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// The outcome of a child from its stdout, the end of its stderr and its exit status.
pub(super) fn outcome(stdout: &str, stderr_tail: &str, status: std::io::Result<ExitStatus>) -> JobOutcome {
    let status = match status {
        Ok(status) => status,
        Err(e) => return JobOutcome::Lost(format!("could not wait for the evaluation process: {e}")),
    };
    if status.success() {
        if let Ok(record) = serde_json::from_str::<MeasurementRecord>(stdout.trim()) {
            return JobOutcome::Record(Box::new(record));
        }
    }
    let detail = if stderr_tail.trim().is_empty() { String::new() } else { format!(":\n{stderr_tail}") };
    if status.code().is_none() {
        // No exit code: a signal ended it (kill -9, the out-of-memory killer, a cancelled job).
        return JobOutcome::Lost(format!("the evaluation process was killed ({status}){detail}"));
    }
    if status.code() == Some(CONFIG_ERROR_EXIT) {
        JobOutcome::Config(format!("the evaluation refused its configuration{detail}"))
    } else if status.success() {
        JobOutcome::Error(format!("the evaluation process ended without a valid record{detail}"))
    } else {
        JobOutcome::Error(format!("the evaluation process {status}{detail}"))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    #[test]
    fn a_signal_is_a_lost_job_an_exit_code_an_error_and_the_config_code_a_config_error() {
        let killed = outcome("", "training…", Ok(ExitStatus::from_raw(9)));
        assert!(
            matches!(&killed, JobOutcome::Lost(m) if m.contains("killed") && m.contains("training…")),
            "{killed:?}"
        );
        let failed = outcome("", "error: no dataset", Ok(ExitStatus::from_raw(1 << 8)));
        assert!(matches!(&failed, JobOutcome::Error(m) if m.contains("exit status: 1") && m.contains("no dataset")));
        let refused = outcome("", "error: lr must be > 0", Ok(ExitStatus::from_raw(CONFIG_ERROR_EXIT << 8)));
        assert!(matches!(&refused, JobOutcome::Config(m) if m.contains("lr must be > 0")), "{refused:?}");
        let garbage = outcome("not json", "", Ok(ExitStatus::from_raw(0)));
        assert!(matches!(&garbage, JobOutcome::Error(m) if m.contains("without a valid record")), "{garbage:?}");
    }
}
