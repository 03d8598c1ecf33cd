//! Runs jobs in `xnas-worker` processes on this machine: `jobs_per_device` at once on each
//! device, each slot with its long-lived worker (`serve`; replaced when it dies, after
//! [`WorkerPolicy::recycle_after`] jobs or past its memory bound) or a fresh process per job
//! (`evaluate`). A GPU job sees only its GPU (`CUDA_VISIBLE_DEVICES`, so it trains on `cuda:0`); the
//! CPU thread budget is split evenly over all slots so that K concurrent jobs do not fight over
//! the cores (libtorch would otherwise start one thread per core in every child).
//!
//! A watchdog ends a job whose process neither wrote a progress or epoch line nor used CPU time
//! (`/proc/PID/stat`) for [`WorkerPolicy::stall_timeout`]: a worker stopped with `kill -STOP`, or
//! hung in a driver or on a file system, would otherwise keep the run waiting forever. The
//! process is killed and the job reported [`JobOutcome::Lost`], so the run retries it as it
//! retries a dead worker's. Each replacement of a long-lived worker is reported as an
//! [`ExecEvent::Note`] naming the slot and why.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::child::{self, ChildEvent, ServingWorker};
use super::{Decision, ExecError, ExecEvent, Executor, Job, JobOutcome};

/// How to run locally.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The `xnas-worker` binary that runs evaluations.
    pub program: PathBuf,
    /// `cpu` or `cuda:N` (N as this process sees it), from [`resolve_devices`].
    pub devices: Vec<String>,
    /// Concurrent jobs on each device.
    pub jobs_per_device: usize,
    /// libtorch CPU threads for all jobs together; `None`: the machine's cores.
    pub cpu_threads: Option<usize>,
    /// Where children's log lines go (appended).
    pub log: Option<PathBuf>,
    /// One long-lived worker per slot, or a fresh process per evaluation.
    pub workers: WorkerPolicy,
}

/// How evaluation processes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerPolicy {
    /// One long-lived `xnas-worker serve` per slot, job after job (libtorch, the CUDA context and
    /// the dataset on the device stay loaded); `false`: a fresh `xnas-worker evaluate` per job.
    pub persistent: bool,
    /// A long-lived worker is replaced after answering this many jobs.
    pub recycle_after: usize,
    /// … or when, after a job, its resident memory is above this many MiB.
    pub max_memory_mib: Option<u64>,
    /// A job's process (long-lived or not) that sends no progress and uses no CPU time for this
    /// long is killed and its job reported lost; `None`: never (local executor only).
    pub stall_timeout: Option<Duration>,
}

/// How long a worker may go without output and without CPU time before the watchdog ends it:
/// long enough for any pause a healthy training makes (a slow first read of a dataset keeps
/// using CPU), short enough that a stopped worker costs minutes, not the night.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(600);

impl Default for WorkerPolicy {
    fn default() -> Self {
        WorkerPolicy {
            persistent: true,
            recycle_after: 100,
            max_memory_mib: Some(16 * 1024),
            stall_timeout: Some(DEFAULT_STALL_TIMEOUT),
        }
    }
}

struct Slot {
    device: String,
    /// `cuda:1#0`: device and position on it, for the store and the log.
    worker: String,
    /// The job it runs.
    job: Option<u64>,
    /// Per-evaluation processes: the child running `job`, and its stdin when it waits for
    /// decisions after its epochs.
    child: Option<Child>,
    decisions: Option<ChildStdin>,
    /// Persistent workers: this slot's worker, idle between jobs.
    server: Option<ServingWorker>,
    /// While it runs a job: when its process last showed life, for the watchdog.
    alive: Option<LastSign>,
    /// The watchdog killed its process for this long a silence; its end is the job's loss.
    stalled: Option<Duration>,
}

/// The last sign of life of a job's process: output, or CPU time used.
struct LastSign {
    at: Instant,
    /// Its CPU time when last looked at (`None` before the first look, or where unreadable).
    cpu_ticks: Option<u64>,
}

impl LastSign {
    fn now() -> LastSign {
        LastSign { at: Instant::now(), cpu_ticks: None }
    }
}

/// Runs jobs in child processes, several per device.
pub struct LocalExecutor {
    options: LocalOptions,
    threads_per_job: usize,
    slots: Vec<Slot>,
    queue: VecDeque<Job>,
    events: mpsc::Receiver<ChildEvent>,
    sender: mpsc::Sender<ChildEvent>,
    /// Events produced without a child (a job started, a spawn that failed).
    ready: VecDeque<ExecEvent>,
    cancelled: HashSet<u64>,
    in_flight: usize,
    /// Long-lived workers started so far: the next one's id.
    servers_started: u64,
    /// When the watchdog last looked at the running jobs' processes.
    last_watch: Instant,
}

/// The devices to run on. `flag` is `--devices`: `cpu`, or GPU indices / names (`0,1` or
/// `cuda:0,cuda:1`). Without it, the experiment's device decides: `cpu` and `cuda:N` are one
/// device; `cuda` and `auto` mean every visible GPU (`auto` falls back to the CPU without one).
/// `worker` is the `xnas-worker` binary, asked how many GPUs libtorch sees when that matters.
pub fn resolve_devices(flag: Option<&str>, config_device: &str, worker: &Path) -> Result<Vec<String>, ExecError> {
    if let Some(flag) = flag {
        let mut devices = Vec::new();
        for item in flag.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let device = if item == "cpu" {
                "cpu".to_string()
            } else {
                let index = item.strip_prefix("cuda:").unwrap_or(item);
                let index: usize = index.parse().map_err(|_| {
                    ExecError::Settings(format!(
                        "--devices {flag}: `{item}` is not a device; use `cpu` or GPU indices such as `0,1`"
                    ))
                })?;
                format!("cuda:{index}")
            };
            if devices.contains(&device) {
                return Err(ExecError::Settings(format!("--devices {flag}: {device} is listed twice")));
            }
            devices.push(device);
        }
        if devices.is_empty() {
            return Err(ExecError::Settings("--devices is empty; use `cpu` or GPU indices such as `0,1`".into()));
        }
        return Ok(devices);
    }
    Ok(match config_device {
        "cuda" | "auto" => match visible_gpus(worker) {
            0 if config_device == "auto" => vec!["cpu".to_string()],
            0 => vec!["cuda:0".to_string()],
            n => (0..n).map(|i| format!("cuda:{i}")).collect(),
        },
        other => vec![other.to_string()],
    })
}

/// Refuses GPUs this machine does not have, naming the one asked for: checked in the head before
/// a run starts, because a child sees only its own GPU (as `cuda:0`) and could not say which.
pub fn check_devices(devices: &[String], worker: &Path) -> Result<(), ExecError> {
    if devices.iter().all(|d| !d.starts_with("cuda:")) {
        return Ok(());
    }
    let gpus = visible_gpus(worker);
    for device in devices {
        let Some(index) = device.strip_prefix("cuda:").and_then(|i| i.parse::<usize>().ok()) else { continue };
        if index >= gpus {
            let seen = match gpus {
                0 => "libtorch sees no CUDA device here (no GPU, no driver, or a CPU-only libtorch)".to_string(),
                n => format!("libtorch sees {n} CUDA device(s) here: cuda:0..cuda:{}", n - 1),
            };
            return Err(ExecError::Settings(format!(
                "device {device} was asked for, but {seen}; pick others with --devices or --device"
            )));
        }
    }
    Ok(())
}

/// The CUDA devices libtorch sees here, as `xnas-worker devices` reports them (this process does
/// not load libtorch); 0 when the worker cannot say. Asked once per process.
fn visible_gpus(worker: &Path) -> usize {
    static GPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *GPUS.get_or_init(|| {
        std::process::Command::new(worker)
            .arg("devices")
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(0)
    })
}

/// The `CUDA_VISIBLE_DEVICES` value that shows a child only GPU `index` of this process: the
/// index-th entry of this process's own list when it has one, else the index.
fn pinned_gpu(index: usize, ours: Option<&str>) -> String {
    match ours {
        Some(list) if !list.trim().is_empty() => {
            list.split(',').map(str::trim).nth(index).map_or_else(|| index.to_string(), str::to_string)
        }
        _ => index.to_string(),
    }
}

impl LocalExecutor {
    pub fn new(options: LocalOptions) -> Result<Self, ExecError> {
        if options.jobs_per_device == 0 {
            return Err(ExecError::Settings("--jobs-per-device must be at least 1".into()));
        }
        if options.devices.is_empty() {
            return Err(ExecError::Settings("no device to run on".into()));
        }
        if options.cpu_threads == Some(0) {
            return Err(ExecError::Settings("--threads must be at least 1".into()));
        }
        let slots: Vec<Slot> = options
            .devices
            .iter()
            .flat_map(|device| {
                (0..options.jobs_per_device).map(move |k| Slot {
                    device: device.clone(),
                    worker: format!("{device}#{k}"),
                    job: None,
                    child: None,
                    decisions: None,
                    server: None,
                    alive: None,
                    stalled: None,
                })
            })
            .collect();
        let budget = options.cpu_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let (sender, events) = mpsc::channel();
        Ok(LocalExecutor {
            threads_per_job: (budget / slots.len()).max(1),
            options,
            slots,
            queue: VecDeque::new(),
            events,
            sender,
            ready: VecDeque::new(),
            cancelled: HashSet::new(),
            in_flight: 0,
            servers_started: 0,
            last_watch: Instant::now(),
        })
    }

    /// Starts queued jobs on free slots.
    fn fill(&mut self) {
        while let Some(slot) = self.slots.iter().position(|s| s.job.is_none()) {
            let Some(mut job) = self.queue.pop_front() else { return };
            let device = self.slots[slot].device.clone();
            let mut env = Vec::new();
            if let Some(index) = device.strip_prefix("cuda:") {
                let index: usize = index.parse().expect("resolve_devices writes cuda:N");
                let ours = std::env::var("CUDA_VISIBLE_DEVICES").ok();
                env.push(("CUDA_VISIBLE_DEVICES".to_string(), pinned_gpu(index, ours.as_deref())));
                job.config.device = "cuda:0".to_string();
                job.device_name = Some(device.clone());
            } else {
                job.config.device = device.clone();
            }
            job.threads = Some(self.threads_per_job);
            let id = job.id;
            let started = if self.options.workers.persistent {
                self.send_to_server(slot, &job, &env)
            } else {
                child::spawn(&self.options.program, &job, &env, self.options.log.clone(), self.sender.clone()).map(
                    |(process, decisions)| {
                        self.slots[slot].child = Some(process);
                        self.slots[slot].decisions = decisions;
                    },
                )
            };
            match started {
                Ok(()) => {
                    self.slots[slot].job = Some(id);
                    self.slots[slot].alive = Some(LastSign::now());
                    self.slots[slot].stalled = None;
                    self.ready.push_back(ExecEvent::Started { job: id, worker: self.slots[slot].worker.clone() });
                }
                Err(e) => {
                    self.ready.push_back(ExecEvent::Finished { job: id, outcome: JobOutcome::Error(e.to_string()) })
                }
            }
        }
    }

    /// Hands `job` to the slot's long-lived worker, starting one if it has none (or if the one it
    /// has turns out to be gone).
    fn send_to_server(&mut self, slot: usize, job: &Job, env: &[(String, String)]) -> Result<(), ExecError> {
        if let Some(server) = self.slots[slot].server.as_mut() {
            if server.send(job).is_ok() {
                return Ok(());
            }
            // It died while idle: its end is reported with no job to fail; a new one takes the job.
            self.slots[slot].server.take().expect("checked").stop();
        }
        self.servers_started += 1;
        let mut server = ServingWorker::spawn(
            self.servers_started,
            &self.options.program,
            env,
            self.options.log.clone(),
            self.sender.clone(),
        )?;
        server.send(job).map_err(|e| ExecError::Spawn {
            program: self.options.program.display().to_string(),
            message: format!("the new evaluation worker did not take its job: {e}"),
        })?;
        self.slots[slot].server = Some(server);
        Ok(())
    }

    /// After a long-lived worker answered: replaced when it served its share or grew too big, so
    /// that a leak in libtorch or the CUDA allocator cannot build up over a long search.
    fn recycle_if_due(&mut self, slot: usize) {
        let policy = self.options.workers;
        let Some(server) = self.slots[slot].server.as_mut() else { return };
        server.served += 1;
        let worn = server.served >= policy.recycle_after.max(1);
        let big = policy.max_memory_mib.and_then(|limit| Some((limit, server.resident_mib()?))).filter(|(l, m)| m > l);
        let why = match (worn, big) {
            (_, Some((limit, mib))) => format!(
                "its resident memory after the job, {mib} MiB, is above the bound of {limit} MiB (--worker-max-memory)"
            ),
            (true, None) => {
                format!("it served {} jobs (--worker-recycle-after {})", server.served, policy.recycle_after)
            }
            (false, None) => return,
        };
        self.slots[slot].server.take().expect("checked").stop();
        let worker = &self.slots[slot].worker;
        self.ready.push_back(ExecEvent::Note(format!("worker {worker} replaced by a fresh process: {why}")));
    }

    /// A sign of life of `job`'s process (a progress or epoch line, a decision sent to it).
    fn alive(&mut self, job: u64) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.job == Some(job)) {
            slot.alive = Some(LastSign::now());
        }
    }

    /// How often the watchdog looks, and so how long [`Executor::next_event`] waits at most for
    /// an event before looking.
    fn watch_every(&self) -> Option<Duration> {
        let timeout = self.options.workers.stall_timeout?;
        Some((timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)))
    }

    /// The watchdog: kills the process of every job that showed no sign of life (output or CPU
    /// time) for the stall timeout; its end then reports the job lost.
    fn watch(&mut self) {
        let Some(timeout) = self.options.workers.stall_timeout else { return };
        self.last_watch = Instant::now();
        for slot in &mut self.slots {
            if slot.job.is_none() || slot.stalled.is_some() {
                continue;
            }
            let pid = match (&slot.child, &slot.server) {
                (Some(process), _) => process.id(),
                (None, Some(server)) => server.pid(),
                (None, None) => continue,
            };
            let sign = slot.alive.get_or_insert_with(LastSign::now);
            let ticks = child::cpu_ticks(pid);
            // Where CPU time cannot be read, silence proves nothing: never a stall.
            if ticks.is_none() || ticks != sign.cpu_ticks {
                *sign = LastSign { at: Instant::now(), cpu_ticks: ticks };
                continue;
            }
            if sign.at.elapsed() < timeout {
                continue;
            }
            slot.stalled = Some(timeout);
            if let Some(process) = slot.child.as_mut() {
                let _ = process.kill();
            } else if let Some(server) = slot.server.as_mut() {
                server.kill();
            }
        }
    }

    /// The outcome of a job whose process ended: `ended` as its exit says, unless the watchdog
    /// killed it for its silence.
    fn ended(&mut self, slot: usize, ended: JobOutcome) -> JobOutcome {
        self.slots[slot].alive = None;
        match self.slots[slot].stalled.take() {
            Some(silence) => JobOutcome::Lost(format!(
                "its worker {} wrote nothing and used no CPU time for {} s (stopped with kill -STOP, or hung in \
                 a driver or on a file system), so it was killed (--worker-stall-timeout sets how long a worker \
                 may be silent)",
                self.slots[slot].worker,
                silence.as_secs_f64()
            )),
            None => ended,
        }
    }

    /// Reports `outcome` for `job` unless the job was cancelled.
    fn finish(&mut self, job: u64, outcome: JobOutcome) {
        if !self.cancelled.remove(&job) {
            self.ready.push_back(ExecEvent::Finished { job, outcome });
        }
    }
}

impl LocalExecutor {
    fn slot_of_server(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.server.as_ref().is_some_and(|server| server.id == id))
    }
}

impl Executor for LocalExecutor {
    fn submit(&mut self, job: Job) -> Result<(), ExecError> {
        self.queue.push_back(job);
        self.in_flight += 1;
        self.fill();
        Ok(())
    }

    fn next_event(&mut self) -> Option<ExecEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                if matches!(event, ExecEvent::Finished { .. }) {
                    self.in_flight -= 1;
                }
                return Some(event);
            }
            if self.in_flight == 0 {
                return None;
            }
            let event = match self.watch_every() {
                Some(every) => {
                    if self.last_watch.elapsed() >= every {
                        self.watch();
                    }
                    match self.events.recv_timeout(every) {
                        Ok(event) => event,
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the executor holds a sender"),
                    }
                }
                None => self.events.recv().expect("the executor holds a sender"),
            };
            match event {
                ChildEvent::Progress(job, progress) => {
                    self.alive(job);
                    if !self.cancelled.contains(&job) {
                        return Some(ExecEvent::Progress { job, progress });
                    }
                }
                ChildEvent::Epoch(job, point) => {
                    self.alive(job);
                    if !self.cancelled.contains(&job) {
                        return Some(ExecEvent::Epoch { job, point });
                    }
                }
                ChildEvent::Closed { job, stdout, stderr_tail } => {
                    let Some(slot) = self.slots.iter().position(|s| s.job == Some(job) && s.child.is_some()) else {
                        continue;
                    };
                    let mut process = self.slots[slot].child.take().expect("checked");
                    self.slots[slot].decisions = None;
                    self.slots[slot].job = None;
                    let outcome = child::outcome(&stdout, &stderr_tail, process.wait());
                    let outcome = self.ended(slot, outcome);
                    self.fill();
                    self.finish(job, outcome);
                }
                ChildEvent::Replied { worker, reply } => {
                    let Some(slot) = self.slot_of_server(worker) else { continue };
                    if self.slots[slot].job != Some(reply.job) {
                        continue;
                    }
                    self.slots[slot].job = None;
                    self.slots[slot].alive = None;
                    self.recycle_if_due(slot);
                    self.fill();
                    self.finish(reply.job, reply.result.into_outcome());
                }
                ChildEvent::WorkerGone { worker, stderr_tail } => {
                    // A worker that was replaced on purpose is no slot's any more.
                    let Some(slot) = self.slot_of_server(worker) else { continue };
                    let server = self.slots[slot].server.take().expect("checked");
                    let status = server.wait();
                    if let Some(job) = self.slots[slot].job.take() {
                        let outcome = child::outcome("", &stderr_tail, status);
                        let outcome = self.ended(slot, outcome);
                        self.fill();
                        self.finish(job, outcome);
                    }
                }
            }
        }
    }

    fn cancel_all(&mut self) {
        self.queue.clear();
        // Jobs whose process could not start are simply not reported.
        self.ready.clear();
        for slot in &mut self.slots {
            let Some(job) = slot.job.take() else { continue };
            slot.decisions = None;
            slot.alive = None;
            slot.stalled = None;
            if let Some(mut process) = slot.child.take() {
                let _ = process.kill();
                let _ = process.wait();
            }
            if let Some(server) = slot.server.take() {
                server.stop();
            }
            self.cancelled.insert(job);
        }
        self.in_flight = 0;
    }

    fn decide(&mut self, job: u64, stop: bool) {
        // The job waited for the head, not the other way round: its silence until now is no stall.
        self.alive(job);
        let Some(slot) = self.slots.iter_mut().find(|s| s.job == Some(job)) else { return };
        let decision = Decision { job, stop };
        // A process that is gone reports its end as an event; the decision no longer matters.
        if let Some(server) = slot.server.as_mut() {
            let _ = server.decide(decision);
        } else if let Some(stdin) = slot.decisions.as_mut() {
            let _ = child::write_line(stdin, &decision);
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn slots(&self) -> usize {
        self.slots.len()
    }

    fn describe(&self) -> String {
        let workers = if self.options.workers.persistent {
            format!("long-lived workers, each replaced after {} jobs", self.options.workers.recycle_after)
        } else {
            "a fresh process per evaluation".to_string()
        };
        format!(
            "local: {} job(s) at once on each of {} ({} libtorch thread(s) per job, {workers})",
            self.options.jobs_per_device,
            self.options.devices.join(", "),
            self.threads_per_job
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_come_from_the_flag_or_the_experiment() {
        // Never asked: only `cuda` and `auto` need the worker's count of GPUs.
        let worker = Path::new("/nonexistent/xnas-worker");
        assert_eq!(resolve_devices(Some("0,1"), "cpu", worker).unwrap(), ["cuda:0", "cuda:1"]);
        assert_eq!(resolve_devices(Some("cuda:2, cpu"), "cpu", worker).unwrap(), ["cuda:2", "cpu"]);
        assert_eq!(resolve_devices(None, "cpu", worker).unwrap(), ["cpu"]);
        assert_eq!(resolve_devices(None, "cuda:3", worker).unwrap(), ["cuda:3"]);
        let bad = resolve_devices(Some("0,gpu1"), "cpu", worker).unwrap_err().to_string();
        assert!(bad.contains("`gpu1` is not a device"), "{bad}");
        assert!(resolve_devices(Some("0,0"), "cpu", worker).unwrap_err().to_string().contains("twice"));
        assert!(resolve_devices(Some(","), "cpu", worker).is_err());
    }

    #[test]
    fn a_child_sees_only_its_gpu_through_our_own_visible_list() {
        assert_eq!(pinned_gpu(1, None), "1");
        assert_eq!(pinned_gpu(1, Some("4,6")), "6");
        assert_eq!(pinned_gpu(0, Some("GPU-abc, GPU-def")), "GPU-abc");
        assert_eq!(pinned_gpu(3, Some("4,6")), "3");
    }

    #[test]
    fn the_thread_budget_is_split_over_the_slots() {
        let options = |devices: &[&str], k, threads| LocalOptions {
            program: PathBuf::from("xnas"),
            devices: devices.iter().map(|d| d.to_string()).collect(),
            jobs_per_device: k,
            cpu_threads: threads,
            log: None,
            workers: WorkerPolicy::default(),
        };
        assert_eq!(LocalExecutor::new(options(&["cpu"], 2, Some(8))).unwrap().threads_per_job, 4);
        assert_eq!(LocalExecutor::new(options(&["cpu"], 4, Some(2))).unwrap().threads_per_job, 1);
        assert_eq!(LocalExecutor::new(options(&["cuda:0", "cuda:1"], 2, Some(16))).unwrap().slots(), 4);
        assert!(LocalExecutor::new(options(&["cpu"], 0, None)).is_err());
    }
}
