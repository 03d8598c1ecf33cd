//! The Ray backend end to end: a local Ray head declaring 2 logical GPUs (loopback only), a tiny
//! search with `--executor ray`, and the Ray worker running one job killed mid-attempt; then a
//! cluster of three nodes on this machine (`ray_cluster.py`) with the node running one job killed
//! whole. Each run must complete with that job retried and every evaluation done. The tests install
//! Ray 2.60.0 into the project's venv themselves (`scripts/setup.sh --ray`) when it is missing, and
//! take turns (each would otherwise kill the other's workers).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xnas::store::{AttemptOutcome, EvalStatus, Store};

use super::parallel::{evaluate_processes, kill_9};
use super::run::{temp_dir, tiny_script, XNAS};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One Ray test at a time.
static RAY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The venv's Python, with Ray installed into it first if need be.
fn python_with_ray() -> PathBuf {
    let status = Command::new("bash").arg(Path::new(ROOT).join("scripts/setup.sh")).arg("--ray").status().unwrap();
    assert!(status.success(), "scripts/setup.sh --ray failed");
    let venv = std::env::var_os("XNAS_VENV").map_or_else(|| Path::new(ROOT).join(".venv"), PathBuf::from);
    venv.join("bin/python")
}

/// The environment every Ray process of this test shares: no usage stats, no token auth, and
/// loopback addresses kept as they are.
fn ray_env(command: &mut Command) -> &mut Command {
    command
        .env("RAY_USAGE_STATS_ENABLED", "0")
        .env("RAY_AUTH_MODE", "disabled")
        .env("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
}

/// A local Ray head; stopped (by its own process id, not `ray stop`) when dropped.
struct RayHead {
    process: Child,
    address: String,
    temp_dir: PathBuf,
}

impl RayHead {
    fn start(python: &Path) -> RayHead {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Unix socket paths under the temp dir must stay under 108 bytes.
        let temp_dir = PathBuf::from(format!("/tmp/xr{}", std::process::id()));
        let log = std::fs::File::create(std::env::temp_dir().join(format!("xnas-ray-head-{port}.log"))).unwrap();
        let ray = python.parent().unwrap().join("ray");
        let process = ray_env(&mut Command::new(ray))
            .args(["start", "--head", "--block", "--include-dashboard=false", "--disable-usage-stats"])
            .args(["--node-ip-address=127.0.0.1", &format!("--port={port}")])
            .args(["--num-cpus=2", "--num-gpus=2", "--object-store-memory=80000000"])
            .arg(format!("--temp-dir={}", temp_dir.display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let head = RayHead { process, address: format!("127.0.0.1:{port}"), temp_dir };
        // Ready when its GCS port answers (a few seconds; longer on a busy machine).
        let deadline = Instant::now() + Duration::from_secs(90);
        while std::net::TcpStream::connect(&head.address).is_err() {
            assert!(Instant::now() < deadline, "the Ray head did not come up at {}", head.address);
            std::thread::sleep(Duration::from_millis(100));
        }
        head
    }
}

impl Drop for RayHead {
    fn drop(&mut self) {
        // SIGTERM: `ray start --block` then stops the processes it started.
        let _ = Command::new("kill").args(["-TERM", &self.process.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.temp_dir);
    }
}

#[test]
fn a_ray_run_with_two_logical_gpus_survives_a_killed_worker() {
    let _turn = RAY.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let python = python_with_ray();
    let head = RayHead::start(&python);
    // Kill the Ray worker of the first job we see: its attempt is lost, Ray reports the dead
    // worker, and the head must run the job again.
    let (run, stderr) = run_on_ray("ray", &python, &head.address, &[], |_, worker| kill_9(worker));
    assert!(stderr.contains("ray 2.60.0") && stderr.contains("2 evaluation(s) at once"), "{stderr}");

    let store = Store::open(&run).unwrap();
    let all = store.evaluations(None).unwrap();
    assert_eq!(all.len(), 8, "2 generations of 4");
    assert!(all.iter().all(|e| e.status == EvalStatus::Done), "nothing lost: {all:#?}");
    let retried: Vec<_> = all.iter().filter(|e| e.attempt > 1).collect();
    assert_eq!(retried.len(), 1, "the killed job, and only it, ran again");
    let attempts = store.attempts(retried[0].id).unwrap();
    assert_eq!(attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(), [AttemptOutcome::Lost, AttemptOutcome::Done]);
    // Long-lived workers (the default) live in Ray actors: the killed worker is a dead actor.
    assert!(attempts[0].error.as_deref().unwrap().contains("ActorDiedError"), "{:?}", attempts[0].error);
    // Ray pinned each task to one of the two logical GPUs and reported where it ran.
    let worker = attempts[1].worker.as_deref().unwrap();
    assert!(worker.starts_with("127.0.0.1 gpu ["), "{worker}");
    // The tasks sent their models back and the driver wrote them: exactly the front's are kept.
    assert_eq!(super::models::kept(&run), super::models::store_front(&run));
    drop(head);
    eprintln!("the Ray test took {:.1} s", started.elapsed().as_secs_f64());
    std::fs::remove_dir_all(run.parent().unwrap()).ok();
}

/// Runs the tiny search on the cluster at `address` (with `extra` flags); `kill` is called once a
/// job runs and gets the pid of the `xnas-worker` process and of its Ray worker (a task's or an
/// actor's). Returns the run folder and stderr.
fn run_on_ray(
    name: &str,
    python: &Path,
    address: &str,
    extra: &[&str],
    kill: impl FnOnce(u32, u32),
) -> (PathBuf, String) {
    let dir = temp_dir(name);
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let run = dir.join("run");
    let log = dir.join("run.stderr");
    let mut command = Command::new(XNAS);
    ray_env(&mut command)
        .args(["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap()])
        .args(["--executor", "ray", "--ray-address", address, "--ray-gpus", "1"])
        .args(extra)
        .arg("--ray-python")
        .arg(python)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (job, worker) = loop {
        assert!(Instant::now() < deadline, "no Ray worker ran an evaluation in time");
        if child.try_wait().unwrap().is_some() {
            panic!("the Ray run ended before any job ran:\n{}", std::fs::read_to_string(&log).unwrap());
        }
        let running = evaluate_processes(None).into_iter().find(|(_, parent)| {
            std::fs::read(format!("/proc/{parent}/cmdline")).is_ok_and(|cmdline| cmdline.starts_with(b"ray::"))
        });
        if let Some(found) = running {
            break found;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    kill(job, worker);
    let deadline = Instant::now() + Duration::from_secs(150);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the Ray run did not finish within 150 s:\n{}", std::fs::read_to_string(&log).unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(child.wait().unwrap().success(), "the Ray run failed:\n{stderr}");
    (run, stderr)
}

fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit_once(')').unwrap().1.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `pid` and all its descendants.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            if std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<u32>().ok()))
                == Some(tree[i])
            {
                tree.push(child);
            }
        }
        i += 1;
    }
    tree
}

/// `ray_cluster.py`; shut down (it stops its nodes when its stdin closes) when dropped.
struct LocalCluster(Child);

impl Drop for LocalCluster {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_dead_node_costs_its_job_one_attempt_and_the_run_goes_on() {
    let _turn = RAY.lock().unwrap_or_else(|e| e.into_inner());
    let python = python_with_ray();
    // Three nodes on loopback: a head without GPUs and two workers with one logical GPU each.
    let mut cluster = LocalCluster(
        ray_env(&mut Command::new(&python))
            .arg(Path::new(ROOT).join("tests/integration/ray_cluster.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut address = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(cluster.0.stdout.take().unwrap()), &mut address).unwrap();
    let address = address.trim().to_string();
    assert!(address.starts_with("127.0.0.1:"), "the cluster did not start: {address:?}");

    // Kill the whole node the first job runs on: its raylet (the Ray worker's parent) and every
    // process under it, as when a machine dies.
    // One Ray task per evaluation here, so that both ways of running jobs on Ray are tested.
    let (run, stderr) = run_on_ray("ray-node", &python, &address, &["--workers", "per-evaluation"], |_, worker| {
        for pid in process_tree(parent_of(worker)) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    assert!(stderr.contains("3 node(s), 2 GPU(s)"), "{stderr}");
    let store = Store::open(&run).unwrap();
    let all = store.evaluations(None).unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.iter().all(|e| e.status == EvalStatus::Done), "nothing lost: {all:#?}");
    let retried: Vec<_> = all.iter().filter(|e| e.attempt > 1).collect();
    assert_eq!(retried.len(), 1, "the job on the dead node, and only it, ran again");
    let attempts = store.attempts(retried[0].id).unwrap();
    assert_eq!(attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(), [AttemptOutcome::Lost, AttemptOutcome::Done]);
    let error = attempts[0].error.as_deref().unwrap();
    assert!(error.contains("NodeDiedError") || error.contains("WorkerCrashedError"), "{error}");
    drop(cluster);
    std::fs::remove_dir_all(run.parent().unwrap()).ok();
}
