//! Runs jobs as `xnas evaluate` child processes on this machine, one at a time.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use super::{ExecError, Executor, Job, JobOutcome, JobProgress, PROGRESS_PREFIX};

enum Event {
    Progress(u64, JobProgress),
    Done(u64, JobOutcome),
}

/// One child process at a time; the rest wait in a queue.
pub struct LocalExecutor {
    program: PathBuf,
    queue: VecDeque<Job>,
    running: Option<(u64, Child)>,
    events: mpsc::Receiver<Event>,
    sender: mpsc::Sender<Event>,
    in_flight: usize,
    /// Where children's log lines go (appended).
    log: Option<PathBuf>,
}

impl LocalExecutor {
    /// `program` is the xnas binary (normally `std::env::current_exe()`).
    pub fn new(program: PathBuf, log: Option<PathBuf>) -> Self {
        let (sender, events) = mpsc::channel();
        LocalExecutor { program, queue: VecDeque::new(), running: None, events, sender, in_flight: 0, log }
    }

    fn start_next(&mut self) -> Result<(), ExecError> {
        if self.running.is_some() {
            return Ok(());
        }
        let Some(job) = self.queue.pop_front() else { return Ok(()) };
        let spawn_err = |e: std::io::Error| ExecError::Spawn {
            program: self.program.display().to_string(),
            message: e.to_string(),
        };
        let mut command = Command::new(&self.program);
        if std::env::var_os("OMP_WAIT_POLICY").is_none() {
            // Spinning OpenMP threads make libtorch 10-70x slower when anything else runs.
            command.env("OMP_WAIT_POLICY", "PASSIVE");
        }
        let mut child = command
            .arg("evaluate")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        let id = job.id;
        let input = serde_json::to_vec(&job).expect("a job serialises");
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let sender = self.sender.clone();
        let log = self.log.clone();
        thread::spawn(move || {
            // A child that died before reading its job shows up below as an error.
            let _ = stdin.write_all(&input);
            drop(stdin);
            let progress_sender = sender.clone();
            let stderr_reader = thread::spawn(move || {
                let mut tail: VecDeque<String> = VecDeque::new();
                let mut log_file = log.and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(json) = line.strip_prefix(PROGRESS_PREFIX) {
                        if let Ok(p) = serde_json::from_str(json) {
                            let _ = progress_sender.send(Event::Progress(id, p));
                        }
                        continue;
                    }
                    if let Some(f) = log_file.as_mut() {
                        let _ = writeln!(f, "[job {id}] {line}");
                    }
                    tail.push_back(line);
                    if tail.len() > 20 {
                        tail.pop_front();
                    }
                }
                tail.into_iter().collect::<Vec<_>>().join("\n")
            });
            let mut out = String::new();
            let read = stdout.read_to_string(&mut out);
            let stderr_tail = stderr_reader.join().unwrap_or_default();
            let outcome = match (read, serde_json::from_str(out.trim())) {
                (Ok(_), Ok(record)) => JobOutcome::Record(Box::new(record)),
                _ => JobOutcome::Error(if stderr_tail.is_empty() {
                    "the evaluation process ended without a record".to_string()
                } else {
                    stderr_tail
                }),
            };
            let _ = sender.send(Event::Done(id, outcome));
        });
        self.running = Some((id, child));
        Ok(())
    }
}

impl Executor for LocalExecutor {
    fn submit(&mut self, job: Job) -> Result<(), ExecError> {
        self.queue.push_back(job);
        self.in_flight += 1;
        self.start_next()
    }

    fn next(&mut self, progress: &mut dyn FnMut(u64, JobProgress)) -> Option<(u64, JobOutcome)> {
        if self.in_flight == 0 {
            return None;
        }
        loop {
            match self.events.recv().ok()? {
                Event::Progress(id, p) => progress(id, p),
                Event::Done(id, outcome) => {
                    if let Some((_, mut child)) = self.running.take() {
                        let status = child.wait();
                        let outcome = match (outcome, status) {
                            (JobOutcome::Error(e), Ok(s)) if !s.success() => {
                                JobOutcome::Error(format!("the evaluation process exited with {s}: {e}"))
                            }
                            (o, _) => o,
                        };
                        self.in_flight -= 1;
                        if let Err(e) = self.start_next() {
                            // Fail the queued job that could not start; the caller sees it next.
                            if let Some(job) = self.queue.pop_front() {
                                let _ = self.sender.send(Event::Done(job.id, JobOutcome::Error(e.to_string())));
                            }
                        }
                        return Some((id, outcome));
                    }
                    self.in_flight -= 1;
                    return Some((id, outcome));
                }
            }
        }
    }

    fn cancel_all(&mut self) {
        self.queue.clear();
        if let Some((_, child)) = self.running.as_mut() {
            let _ = child.kill();
        }
        self.in_flight = usize::from(self.running.is_some());
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }
}
