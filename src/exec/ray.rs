//! Runs jobs on a Ray cluster. This process starts a small Python Ray driver (`ray_driver.py`,
//! compiled into the binary and written next to the run) and talks to it in JSON lines over its
//! stdin and stdout: the head keeps NSGA-II and the store, the driver hands each job to a pool of
//! Ray actors, each requesting `num_gpus` and keeping one long-lived `xnas-worker serve` on its
//! node (or, with per-evaluation workers, makes each job a Ray task that runs `xnas-worker
//! evaluate`). Nothing is fetched from the internet; the cluster needs Ray [`RAY_VERSION`] and
//! `xnas-worker` at the same path on every node (a shared filesystem, or the same install), with
//! the datasets where the script says. Jobs on Ray train to their last epoch: the head's
//! early-stopping decisions do not travel through the driver.
//! The run folder need not be shared: a job that keeps its model saves it on its worker, the task
//! returns the files (base64) with the record, and the driver writes them into the run folder
//! (whole or not at all) before it reports the job finished.

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde::Deserialize;

use super::child::{self, STDERR_TAIL_LINES};
use super::local::WorkerPolicy;
use super::{ExecError, ExecEvent, Executor, Job, JobOutcome};

/// The Ray release the driver is written and tested for.
pub const RAY_VERSION: &str = "2.60.0";

/// The driver's source, shipped inside the binary so that any xnas can start it.
const DRIVER: &str = include_str!("ray_driver.py");

/// How long the driver may take to connect to the cluster.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(180);

/// How to reach the cluster and what each evaluation asks of it.
#[derive(Debug, Clone)]
pub struct RayOptions {
    /// `HOST:PORT` of the Ray head (GCS), or `auto` on a node of the cluster.
    pub address: String,
    /// A Python with Ray installed (the driver runs in it).
    pub python: PathBuf,
    /// The `xnas-worker` binary as the worker nodes see it.
    pub program: PathBuf,
    /// Long-lived workers (a pool of Ray actors, each with its `xnas-worker serve`, replaced after
    /// `recycle_after` jobs), or one Ray task per evaluation.
    pub workers: WorkerPolicy,
    /// GPUs each evaluation requests (Ray pins the task's `CUDA_VISIBLE_DEVICES` to them).
    pub num_gpus: f64,
    /// CPUs each evaluation requests; also its libtorch thread count.
    pub num_cpus: f64,
    /// Where to write the driver script (normally the run folder).
    pub driver_path: PathBuf,
    /// Where the jobs' log lines and the driver's own stderr go (appended).
    pub log: Option<PathBuf>,
}

/// Messages from the driver.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum DriverMessage {
    Ready { ray_version: String, resources: serde_json::Map<String, serde_json::Value>, nodes: usize },
    Finished { id: u64, worker: String, returncode: i32, stdout: String, log: String },
    Lost { id: u64, error: String },
    Fatal { error: String },
    Warning { message: String },
}

enum Incoming {
    Message(DriverMessage),
    /// The driver's stdout closed: it exited. The end of its stderr.
    Gone(String),
}

/// Jobs as Ray tasks, through the driver process.
pub struct RayExecutor {
    options: RayOptions,
    driver: Child,
    stdin: Option<ChildStdin>,
    incoming: mpsc::Receiver<Incoming>,
    in_flight: HashSet<u64>,
    ready: VecDeque<ExecEvent>,
    slots: usize,
    summary: String,
    gone: Option<String>,
}

fn append_log(log: &Option<PathBuf>, text: &str) {
    if let Some(path) = log {
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

impl RayExecutor {
    /// Starts the driver and waits until it is connected to the cluster.
    pub fn connect(options: RayOptions) -> Result<Self, ExecError> {
        if !(options.num_gpus >= 0.0 && options.num_cpus > 0.0) {
            return Err(ExecError::Settings(format!(
                "each Ray evaluation needs num_gpus ≥ 0 and num_cpus > 0 (got {} and {})",
                options.num_gpus, options.num_cpus
            )));
        }
        std::fs::write(&options.driver_path, DRIVER).map_err(|e| {
            ExecError::Ray(format!("cannot write the driver script {}: {e}", options.driver_path.display()))
        })?;
        let mut command = Command::new(&options.python);
        command
            .arg(&options.driver_path)
            .arg("--address")
            .arg(&options.address)
            .arg("--program")
            .arg(&options.program)
            .arg("--num-gpus")
            .arg(options.num_gpus.to_string())
            .arg("--num-cpus")
            .arg(options.num_cpus.to_string())
            .arg("--workers")
            .arg(if options.workers.persistent { "persistent" } else { "per-evaluation" })
            .arg("--recycle-after")
            .arg(options.workers.recycle_after.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if std::env::var_os("RAY_USAGE_STATS_ENABLED").is_none() {
            command.env("RAY_USAGE_STATS_ENABLED", "0");
        }
        let mut driver = command.spawn().map_err(|e| ExecError::Spawn {
            program: format!("{} (the Python for the Ray driver; set it with --ray-python)", options.python.display()),
            message: e.to_string(),
        })?;
        let stdin = driver.stdin.take();
        let stdout = driver.stdout.take().expect("piped stdout");
        let stderr = driver.stderr.take().expect("piped stderr");
        let (sender, incoming) = mpsc::channel();
        let log = options.log.clone();
        let stderr_reader = thread::spawn(move || {
            let mut tail = VecDeque::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                append_log(&log, &format!("[ray driver] {line}\n"));
                tail.push_back(line);
                if tail.len() > 20 {
                    tail.pop_front();
                }
            }
            tail.into_iter().collect::<Vec<_>>().join("\n")
        });
        let log = options.log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<DriverMessage>(&line) {
                    Ok(message) => {
                        if sender.send(Incoming::Message(message)).is_err() {
                            return;
                        }
                    }
                    // Ray itself prints to stdout (a raylet's note on a dead worker): log, not protocol.
                    Err(_) => append_log(&log, &format!("[ray] {line}\n")),
                }
            }
            let _ = sender.send(Incoming::Gone(stderr_reader.join().unwrap_or_default()));
        });
        let mut executor = RayExecutor {
            options,
            driver,
            stdin,
            incoming,
            in_flight: HashSet::new(),
            ready: VecDeque::new(),
            slots: 1,
            summary: String::new(),
            gone: None,
        };
        match executor.incoming.recv_timeout(CONNECT_TIMEOUT) {
            Ok(Incoming::Message(DriverMessage::Ready { ray_version, resources, nodes })) => {
                let total = |key: &str| resources.get(key).and_then(|v| v.as_f64()).unwrap_or(0.0);
                let (gpus, cpus) = (total("GPU"), total("CPU"));
                let o = executor.options.clone();
                let by_gpu = if o.num_gpus > 0.0 { (gpus / o.num_gpus).floor() } else { f64::INFINITY };
                let by_cpu = (cpus / o.num_cpus).floor();
                let slots = by_gpu.min(by_cpu);
                if slots < 1.0 {
                    executor.shutdown();
                    return Err(ExecError::Ray(format!(
                        "the cluster at {} has {gpus} GPU(s) and {cpus} CPU(s); an evaluation asks for {} GPU(s) and \
                         {} CPU(s), so none could ever run (lower --ray-gpus / --ray-cpus, or add nodes)",
                        o.address, o.num_gpus, o.num_cpus
                    )));
                }
                executor.slots = slots as usize;
                if ray_version != RAY_VERSION {
                    eprintln!("warning: the Ray driver runs Ray {ray_version}; xnas is tested with Ray {RAY_VERSION}");
                }
                executor.summary = format!(
                    "ray {ray_version} at {}: {nodes} node(s), {gpus} GPU(s), {cpus} CPU(s); {} evaluation(s) at once \
                     ({} GPU, {} CPU each)",
                    o.address, executor.slots, o.num_gpus, o.num_cpus
                );
                Ok(executor)
            }
            Ok(Incoming::Message(DriverMessage::Fatal { error })) => {
                executor.shutdown();
                Err(ExecError::Ray(error))
            }
            Ok(Incoming::Gone(stderr)) => {
                executor.shutdown();
                Err(ExecError::Ray(format!(
                    "the driver ({} {}) exited before connecting:\n{stderr}",
                    executor.options.python.display(),
                    executor.options.driver_path.display()
                )))
            }
            Ok(Incoming::Message(_)) | Err(_) => {
                executor.shutdown();
                Err(ExecError::Ray(format!(
                    "no answer from the Ray cluster at {} within {} s",
                    executor.options.address,
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
        }
    }

    fn send(&mut self, message: serde_json::Value) -> Result<(), ExecError> {
        let gone = || ExecError::Ray("the driver has exited; see the run's evaluations.log".into());
        let stdin = self.stdin.as_mut().ok_or_else(gone)?;
        writeln!(stdin, "{message}").and_then(|_| stdin.flush()).map_err(|_| gone())
    }

    /// Closes the driver's input (it cancels what runs and exits) and waits for it.
    fn shutdown(&mut self) {
        self.stdin = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.driver.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    fn finished(&self, id: u64, returncode: i32, stdout: &str, log: &str) -> JobOutcome {
        let mut text = String::new();
        for line in log.lines() {
            text.push_str(&format!("[job {id}] {line}\n"));
        }
        append_log(&self.options.log, &text);
        let tail: Vec<&str> = log.lines().rev().take(STDERR_TAIL_LINES).collect::<Vec<_>>().into_iter().rev().collect();
        // Python's convention: -N is "killed by signal N"; as a wait status, the same outcome rules
        // as for a local child apply.
        use std::os::unix::process::ExitStatusExt;
        let status = if returncode < 0 {
            ExitStatus::from_raw(-returncode)
        } else {
            ExitStatus::from_raw((returncode & 0xff) << 8)
        };
        child::outcome(stdout, &tail.join("\n"), Ok(status))
    }
}

impl Executor for RayExecutor {
    fn submit(&mut self, mut job: Job) -> Result<(), ExecError> {
        if let Some(reason) = &self.gone {
            return Err(ExecError::Ray(format!("the driver has exited: {reason}")));
        }
        job.threads = Some((self.options.num_cpus.floor() as usize).max(1));
        // Decisions after each epoch do not travel through the driver: Ray's jobs train to the end.
        job.decide_each_epoch = false;
        let id = job.id;
        self.send(serde_json::json!({ "submit": { "id": id, "job": job } }))?;
        self.in_flight.insert(id);
        Ok(())
    }

    fn next_event(&mut self) -> Option<ExecEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                if let ExecEvent::Finished { job, .. } = &event {
                    // In flight until the caller has seen it finish.
                    self.in_flight.remove(job);
                }
                return Some(event);
            }
            if self.in_flight.is_empty() {
                return None;
            }
            let Ok(incoming) = self.incoming.recv() else {
                self.gone.get_or_insert_with(|| "its output closed".into());
                return self.fail_in_flight();
            };
            match incoming {
                Incoming::Message(DriverMessage::Finished { id, worker, returncode, stdout, log }) => {
                    if !self.in_flight.contains(&id) {
                        continue;
                    }
                    let outcome = self.finished(id, returncode, &stdout, &log);
                    self.ready.push_back(ExecEvent::Started { job: id, worker });
                    self.ready.push_back(ExecEvent::Finished { job: id, outcome });
                }
                Incoming::Message(DriverMessage::Lost { id, error }) => {
                    if self.in_flight.remove(&id) {
                        return Some(ExecEvent::Finished { job: id, outcome: JobOutcome::Lost(error) });
                    }
                }
                Incoming::Message(DriverMessage::Fatal { error }) => {
                    self.gone = Some(error);
                }
                Incoming::Message(DriverMessage::Warning { message }) => {
                    return Some(ExecEvent::Warning(format!("Ray: {message}")));
                }
                Incoming::Message(DriverMessage::Ready { .. }) => {}
                Incoming::Gone(stderr) => {
                    self.gone.get_or_insert(if stderr.is_empty() { "it exited".into() } else { stderr });
                    return self.fail_in_flight();
                }
            }
        }
    }

    fn cancel_all(&mut self) {
        for job in std::mem::take(&mut self.in_flight) {
            let _ = self.send(serde_json::json!({ "cancel": job }));
        }
        self.ready.clear();
    }

    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn slots(&self) -> usize {
        self.slots
    }

    fn describe(&self) -> String {
        self.summary.clone()
    }
}

impl RayExecutor {
    /// The driver is gone: every job in flight is lost with it.
    fn fail_in_flight(&mut self) -> Option<ExecEvent> {
        let reason = format!("the Ray driver exited: {}", self.gone.clone().unwrap_or_default());
        let reported: HashSet<u64> = self
            .ready
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Finished { job, .. } => Some(*job),
                _ => None,
            })
            .collect();
        let mut jobs: Vec<u64> = self.in_flight.iter().copied().filter(|j| !reported.contains(j)).collect();
        jobs.sort_unstable();
        for job in jobs {
            self.ready.push_back(ExecEvent::Finished { job, outcome: JobOutcome::Lost(reason.clone()) });
        }
        self.next_event()
    }
}

impl Drop for RayExecutor {
    fn drop(&mut self) {
        self.shutdown();
    }
}
