//! The `xnas-worker` processes of the local executor, on threads that read their output: a
//! one-shot `evaluate` child (its job on stdin, its record on stdout, its exit turned into a
//! [`JobOutcome`]) or a long-lived `serve` worker (jobs and replies one line each).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread;

use super::{
    Decision, ExecError, Job, JobOutcome, JobProgress, WorkerReply, CONFIG_ERROR_EXIT, EPOCH_PREFIX, PROGRESS_PREFIX,
};
use crate::record::EpochPoint;
use crate::record::MeasurementRecord;

/// Lines of a child's stderr kept for the error message when it fails.
pub(super) const STDERR_TAIL_LINES: usize = 20;

/// What the reader threads of a child report.
pub(super) enum ChildEvent {
    Progress(u64, JobProgress),
    Epoch(u64, EpochPoint),
    /// A one-shot child's stdout closed: it is exiting. Its whole stdout and the end of its stderr.
    Closed {
        job: u64,
        stdout: String,
        stderr_tail: String,
    },
    /// A long-lived worker answered a job.
    Replied {
        worker: u64,
        reply: WorkerReply,
    },
    /// A long-lived worker's stdout closed: it is exiting, or died. The end of its stderr.
    WorkerGone {
        worker: u64,
        stderr_tail: String,
    },
}

/// `program SUBCOMMAND` with extra environment variables and pipes on all three streams, dying
/// with this process.
fn command(program: &Path, subcommand: &str, env: &[(String, String)]) -> Command {
    let mut command = Command::new(program);
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // Spinning OpenMP threads make libtorch 10-70x slower when anything else runs.
        command.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    die_with_parent(&mut command);
    command.arg(subcommand).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn spawn_error(program: &Path, error: std::io::Error) -> ExecError {
    ExecError::Spawn { program: program.display().to_string(), message: error.to_string() }
}

/// Reads a child's stderr to its end: progress lines become events for the job `job_now()`
/// names, the rest goes to `log`, prefixed with that job. Returns the last lines, for errors.
fn read_stderr(
    stderr: impl Read,
    log: Option<PathBuf>,
    events: Sender<ChildEvent>,
    job_now: impl Fn() -> u64,
) -> String {
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut log_file = log.and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if let Some(json) = line.strip_prefix(PROGRESS_PREFIX) {
            if let Ok(p) = serde_json::from_str(json) {
                let _ = events.send(ChildEvent::Progress(job_now(), p));
            }
            continue;
        }
        if let Some(json) = line.strip_prefix(EPOCH_PREFIX) {
            if let Ok(point) = serde_json::from_str(json) {
                let _ = events.send(ChildEvent::Epoch(job_now(), point));
            }
            continue;
        }
        if let Some(f) = log_file.as_mut() {
            let _ = writeln!(f, "[job {}] {line}", job_now());
        }
        tail.push_back(line);
        if tail.len() > STDERR_TAIL_LINES {
            tail.pop_front();
        }
    }
    tail.into_iter().collect::<Vec<_>>().join("\n")
}

/// Starts `program evaluate` for `job` with extra environment variables; its events go to `events`.
/// Log lines are appended to `log`, prefixed with the job id. When the job waits for decisions
/// after its epochs, its stdin stays open and is returned to send them.
pub(super) fn spawn(
    program: &Path,
    job: &Job,
    env: &[(String, String)],
    log: Option<PathBuf>,
    events: Sender<ChildEvent>,
) -> Result<(Child, Option<ChildStdin>), ExecError> {
    let mut child = command(program, "evaluate", env).spawn().map_err(|e| spawn_error(program, e))?;
    let id = job.id;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    // A child that died before reading its job shows up as an exit without a record.
    let _ = write_line(&mut stdin, job);
    let decisions = job.decide_each_epoch.then_some(stdin);
    thread::spawn(move || {
        let progress = events.clone();
        let stderr_reader = thread::spawn(move || read_stderr(stderr, log, progress, move || id));
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let stderr_tail = stderr_reader.join().unwrap_or_default();
        let _ = events.send(ChildEvent::Closed { job: id, stdout: out, stderr_tail });
    });
    Ok((child, decisions))
}

/// Writes `message` as one JSON line and flushes it.
pub(super) fn write_line(to: &mut impl Write, message: &impl serde::Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).expect("protocol messages serialise");
    line.push(b'\n');
    to.write_all(&line)?;
    to.flush()
}

/// A long-lived `program serve` worker: jobs go to its stdin one line each; its replies and its
/// end come back as [`ChildEvent::Replied`] and [`ChildEvent::WorkerGone`] tagged with `id`.
pub(super) struct ServingWorker {
    /// Tells its events from those of the worker it replaced.
    pub id: u64,
    child: Child,
    stdin: ChildStdin,
    /// The job it runs now, for its progress and log lines.
    current: Arc<AtomicU64>,
    /// Jobs it has answered.
    pub served: usize,
}

impl ServingWorker {
    pub fn spawn(
        id: u64,
        program: &Path,
        env: &[(String, String)],
        log: Option<PathBuf>,
        events: Sender<ChildEvent>,
    ) -> Result<ServingWorker, ExecError> {
        let mut child = command(program, "serve", env).spawn().map_err(|e| spawn_error(program, e))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let current = Arc::new(AtomicU64::new(0));
        let job_now = Arc::clone(&current);
        thread::spawn(move || {
            let progress = events.clone();
            let stderr_reader =
                thread::spawn(move || read_stderr(stderr, log, progress, move || job_now.load(Ordering::Relaxed)));
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Anything else on stdout (a library's stray print) is not a reply.
                if let Ok(reply) = serde_json::from_str::<WorkerReply>(&line) {
                    let _ = events.send(ChildEvent::Replied { worker: id, reply });
                }
            }
            let stderr_tail = stderr_reader.join().unwrap_or_default();
            let _ = events.send(ChildEvent::WorkerGone { worker: id, stderr_tail });
        });
        Ok(ServingWorker { id, child, stdin, current, served: 0 })
    }

    /// Hands it `job`; an error means the worker is gone (its end is reported as an event).
    pub fn send(&mut self, job: &Job) -> std::io::Result<()> {
        self.current.store(job.id, Ordering::Relaxed);
        write_line(&mut self.stdin, job)
    }

    /// Answers its current job's epoch.
    pub fn decide(&mut self, decision: Decision) -> std::io::Result<()> {
        write_line(&mut self.stdin, &decision)
    }

    /// Its resident memory in MiB (Linux; `None` elsewhere or once it is gone).
    pub fn resident_mib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib: u64 =
            status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024)
    }

    /// Its process id, for the stall watchdog.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it without waiting: its end comes back as [`ChildEvent::WorkerGone`] (a stalled
    /// worker, whose job the executor then fails as lost).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Waits for it to end after its stdout closed.
    pub fn wait(mut self) -> std::io::Result<ExitStatus> {
        self.child.wait()
    }

    /// Ends it now (a finished worker being replaced, or a cancelled run).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time process `pid` has used so far (all its threads, user and system), in clock ticks;
/// `None` where it cannot be read (not Linux, or the process is gone).
pub(super) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the parenthesised command name (which may hold spaces): field 3 (state) onwards;
    // utime and stime are fields 14 and 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
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

    #[cfg(target_os = "linux")]
    #[test]
    fn cpu_time_is_read_for_a_live_process_and_grows_with_work() {
        let me = std::process::id();
        let before = cpu_ticks(me).expect("this process's own stat");
        let started = std::time::Instant::now();
        let mut x = 0u64;
        // Busy for a little over two clock ticks (10 ms each at the usual 100 Hz).
        while started.elapsed() < std::time::Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(cpu_ticks(me).unwrap() > before, "{x}");
        assert_eq!(cpu_ticks(u32::MAX), None, "no such process");
    }

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
