//! Runs jobs as `xnas evaluate` child processes on this machine: `jobs_per_device` at once on each
//! device. A GPU job sees only its GPU (`CUDA_VISIBLE_DEVICES`, so it trains on `cuda:0`); the
//! CPU thread budget is split evenly over all slots so that K concurrent jobs do not fight over
//! the cores (libtorch would otherwise start one thread per core in every child).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::process::Child;
use std::sync::mpsc;

use super::child::{self, ChildEvent};
use super::{ExecError, ExecEvent, Executor, Job, JobOutcome};

/// How to run locally.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The xnas binary that runs `xnas evaluate` (normally this one).
    pub program: PathBuf,
    /// `cpu` or `cuda:N` (N as this process sees it), from [`resolve_devices`].
    pub devices: Vec<String>,
    /// Concurrent jobs on each device.
    pub jobs_per_device: usize,
    /// libtorch CPU threads for all jobs together; `None`: the machine's cores.
    pub cpu_threads: Option<usize>,
    /// Where children's log lines go (appended).
    pub log: Option<PathBuf>,
}

struct Slot {
    device: String,
    /// `cuda:1#0`: device and position on it, for the store and the log.
    worker: String,
    running: Option<(u64, Child)>,
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
}

/// The devices to run on. `flag` is `--devices`: `cpu`, or GPU indices / names (`0,1` or
/// `cuda:0,cuda:1`). Without it, the experiment's device decides: `cpu` and `cuda:N` are one
/// device; `cuda` and `auto` mean every visible GPU (`auto` falls back to the CPU without one).
pub fn resolve_devices(flag: Option<&str>, config_device: &str) -> Result<Vec<String>, ExecError> {
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
        "cuda" | "auto" => match visible_gpus() {
            0 if config_device == "auto" => vec!["cpu".to_string()],
            0 => vec!["cuda:0".to_string()],
            n => (0..n).map(|i| format!("cuda:{i}")).collect(),
        },
        other => vec![other.to_string()],
    })
}

/// Refuses GPUs this machine does not have, naming the one asked for: checked in the head before
/// a run starts, because a child sees only its own GPU (as `cuda:0`) and could not say which.
pub fn check_devices(devices: &[String]) -> Result<(), ExecError> {
    let gpus = visible_gpus();
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

#[cfg(feature = "torch")]
fn visible_gpus() -> usize {
    tch::Cuda::device_count().max(0) as usize
}

#[cfg(not(feature = "torch"))]
fn visible_gpus() -> usize {
    0
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
                    running: None,
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
        })
    }

    /// Starts queued jobs on free slots.
    fn fill(&mut self) {
        while let Some(slot) = self.slots.iter().position(|s| s.running.is_none()) {
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
            match child::spawn(&self.options.program, &job, &env, self.options.log.clone(), self.sender.clone()) {
                Ok(process) => {
                    self.slots[slot].running = Some((id, process));
                    self.ready.push_back(ExecEvent::Started { job: id, worker: self.slots[slot].worker.clone() });
                }
                Err(e) => {
                    self.ready.push_back(ExecEvent::Finished { job: id, outcome: JobOutcome::Error(e.to_string()) })
                }
            }
        }
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
            match self.events.recv().expect("the executor holds a sender") {
                ChildEvent::Progress(job, progress) => {
                    if !self.cancelled.contains(&job) {
                        return Some(ExecEvent::Progress { job, progress });
                    }
                }
                ChildEvent::Closed { job, stdout, stderr_tail } => {
                    let slot = self.slots.iter_mut().find(|s| s.running.as_ref().is_some_and(|(id, _)| *id == job));
                    let Some((_, mut process)) = slot.and_then(|s| s.running.take()) else { continue };
                    let outcome = child::outcome(&stdout, &stderr_tail, process.wait());
                    self.fill();
                    if self.cancelled.remove(&job) {
                        continue;
                    }
                    self.ready.push_back(ExecEvent::Finished { job, outcome });
                }
            }
        }
    }

    fn cancel_all(&mut self) {
        self.queue.clear();
        // Jobs whose process could not start are simply not reported.
        self.ready.clear();
        for (job, process) in self.slots.iter_mut().filter_map(|s| s.running.as_mut()) {
            let _ = process.kill();
            self.cancelled.insert(*job);
        }
        self.in_flight = 0;
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn slots(&self) -> usize {
        self.slots.len()
    }

    fn describe(&self) -> String {
        format!(
            "local: {} job(s) at once on each of {} ({} libtorch thread(s) per job)",
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
        assert_eq!(resolve_devices(Some("0,1"), "cpu").unwrap(), ["cuda:0", "cuda:1"]);
        assert_eq!(resolve_devices(Some("cuda:2, cpu"), "cpu").unwrap(), ["cuda:2", "cpu"]);
        assert_eq!(resolve_devices(None, "cpu").unwrap(), ["cpu"]);
        assert_eq!(resolve_devices(None, "cuda:3").unwrap(), ["cuda:3"]);
        let bad = resolve_devices(Some("0,gpu1"), "cpu").unwrap_err().to_string();
        assert!(bad.contains("`gpu1` is not a device"), "{bad}");
        assert!(resolve_devices(Some("0,0"), "cpu").unwrap_err().to_string().contains("twice"));
        assert!(resolve_devices(Some(","), "cpu").is_err());
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
        };
        assert_eq!(LocalExecutor::new(options(&["cpu"], 2, Some(8))).unwrap().threads_per_job, 4);
        assert_eq!(LocalExecutor::new(options(&["cpu"], 4, Some(2))).unwrap().threads_per_job, 1);
        assert_eq!(LocalExecutor::new(options(&["cuda:0", "cuda:1"], 2, Some(16))).unwrap().slots(), 4);
        assert!(LocalExecutor::new(options(&["cpu"], 0, None)).is_err());
    }
}
