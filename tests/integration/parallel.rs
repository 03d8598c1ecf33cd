//! Parallel execution through the real binary: K jobs at once give the results of one at a time;
//! a job whose process is killed is retried and nothing is lost, and so is one whose worker was
//! stopped (`kill -STOP`) once the watchdog gives up on it; steady-state scheduling runs its
//! budget and resumes after `kill -9` with the evaluations that were in flight.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xnas::store::{AttemptOutcome, EvalStatus, Store};

use super::run::{temp_dir, tiny_script, trained, wait_for, xnas, XNAS, XNAS_WORKER};

/// Evaluation processes (`xnas-worker evaluate` or `xnas-worker serve`) whose parent is `parent`
/// (when given), by pid.
pub(crate) fn evaluate_processes(parent: Option<u32>) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if args.len() < 2 || args[0] != XNAS_WORKER.as_bytes() || !matches!(args[1], b"evaluate" | b"serve") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // The fields after the parenthesised command name: state, ppid, ...
        let Some(ppid) = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)) else { continue };
        let Ok(ppid) = ppid.parse::<u32>() else { continue };
        if parent.is_none_or(|p| p == ppid) {
            found.push((pid, ppid));
        }
    }
    found
}

pub(crate) fn kill_9(pid: u32) {
    let status = Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill -9 {pid}");
}

fn spawn_run(args: &[&str]) -> Child {
    Command::new(XNAS).args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "the run failed:\n{stderr}");
    stderr
}

#[test]
fn two_jobs_at_once_give_the_same_results_as_one() {
    let dir = temp_dir("jobs");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let (one, two) = (dir.join("one"), dir.join("two"));
    // One libtorch thread per job in both runs, so that the arithmetic is the same.
    xnas(&[
        "run",
        script.to_str().unwrap(),
        "--dir",
        one.to_str().unwrap(),
        "--jobs-per-device",
        "1",
        "--threads",
        "1",
    ]);
    xnas(&[
        "run",
        script.to_str().unwrap(),
        "--dir",
        two.to_str().unwrap(),
        "--jobs-per-device",
        "2",
        "--threads",
        "2",
    ]);
    let (a, b) = (trained(&one), trained(&two));
    assert_eq!(a.len(), 8);
    assert_eq!(a, b, "K=2 trains the same genomes to the same accuracies as K=1");
    // Bit for bit, on continuous measurements too (tiny trainings often sit at chance accuracy).
    let measured = |run: &Path| -> Vec<(String, Option<f64>, Option<f64>)> {
        let store = Store::open(run).unwrap();
        let done = store.evaluations(Some(EvalStatus::Done)).unwrap();
        done.into_iter()
            .map(|e| {
                let r = e.record.unwrap();
                (e.genome.compact(), r.val_loss, r.introspectability)
            })
            .collect()
    };
    assert_eq!(measured(&one), measured(&two));
    assert!(measured(&one).iter().all(|(_, loss, i)| loss.is_some() && i.is_some()));

    let store = Store::open(&two).unwrap();
    assert_eq!(store.execution::<xnas::run::Execution>().unwrap().unwrap().jobs_per_device, 2);
    let mut workers = std::collections::BTreeSet::new();
    let mut spans = Vec::new();
    for e in store.evaluations(Some(EvalStatus::Done)).unwrap().into_iter().filter(|e| e.reused_from.is_none()) {
        let attempts = store.attempts(e.id).unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].outcome, AttemptOutcome::Done);
        workers.insert(attempts[0].worker.clone().unwrap());
        spans.push((attempts[0].started_at, attempts[0].finished_at.unwrap()));
    }
    assert_eq!(workers.into_iter().collect::<Vec<_>>(), ["cpu#0", "cpu#1"]);
    let overlapping = spans.iter().any(|a| spans.iter().any(|b| a != b && a.0 < b.1 && b.0 < a.1));
    assert!(overlapping, "two evaluations ran at the same time: {spans:?}");
    std::fs::remove_dir_all(dir).ok();
}

/// Runs `xnas ARGS` to its end while watching its evaluation processes: the distinct pids of its
/// long-lived workers (`xnas-worker serve`), whether any one-shot child (`evaluate`) ran, and the
/// run's stderr.
fn run_watching_workers(args: &[&str]) -> (std::collections::BTreeSet<u32>, bool, String) {
    let mut child = spawn_run(args);
    let (mut servers, mut one_shot) = (std::collections::BTreeSet::new(), false);
    while child.try_wait().unwrap().is_none() {
        for (pid, _) in evaluate_processes(Some(child.id())) {
            // Read again: the process may have ended since (then its cmdline reads empty).
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            match cmdline.split(|&b| b == 0).nth(1) {
                Some(b"serve") => _ = servers.insert(pid),
                Some(b"evaluate") => one_shot = true,
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let stderr = finish(child);
    (servers, one_shot, stderr)
}

#[test]
fn long_lived_workers_give_the_results_of_a_process_per_evaluation_and_are_replaced_as_asked() {
    let dir = temp_dir("workers");
    // Population 4, 2 generations: 8 evaluations, one at a time.
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let run = |name: &str, extra: &[&str]| {
        let path = dir.join(name);
        let args =
            [&["run", script.to_str().unwrap(), "--dir", path.to_str().unwrap(), "--threads", "1"], extra].concat();
        let watched = run_watching_workers(&args);
        (path, watched)
    };
    let (fresh, (servers, one_shot, _)) = run("fresh", &["--workers", "per-evaluation"]);
    assert!(servers.is_empty() && one_shot, "a process per evaluation: {servers:?}");
    let (recycled, (servers, one_shot, stderr)) = run("recycled", &["--worker-recycle-after", "3"]);
    assert!(!one_shot);
    assert_eq!(servers.len(), 3, "8 evaluations, a worker replaced after 3 jobs: {servers:?}");
    // Each replacement is one line naming the slot and why.
    let line = "worker cpu#0 replaced by a fresh process: it served 3 jobs (--worker-recycle-after 3)";
    assert_eq!(stderr.matches(line).count(), 2, "after jobs 3 and 6:\n{stderr}");
    let (bounded, (servers, _, stderr)) = run("bounded", &["--worker-max-memory", "1"]);
    assert_eq!(servers.len(), 8, "every worker is above 1 MiB after its job, so each serves one: {servers:?}");
    let memory = stderr
        .lines()
        .filter(|l| {
            l.contains("worker cpu#0 replaced by a fresh process: its resident memory after the job")
                && l.contains("MiB, is above the bound of 1 MiB (--worker-max-memory)")
        })
        .count();
    assert_eq!(memory, 8, "one line per job:\n{stderr}");

    // Bit for bit, continuous measurements included: the cached dataset and a worker's earlier
    // trainings change nothing.
    let measured = |run: &Path| -> Vec<(String, [Option<f64>; 3])> {
        let store = Store::open(run).unwrap();
        let done = store.evaluations(Some(EvalStatus::Done)).unwrap();
        assert_eq!(done.len(), 8);
        done.into_iter()
            .map(|e| {
                let r = e.record.unwrap();
                (e.genome.compact(), [r.val_accuracy, r.val_loss, r.introspectability])
            })
            .collect()
    };
    assert_eq!(measured(&fresh), measured(&recycled));
    assert_eq!(measured(&fresh), measured(&bounded));
    let execution = Store::open(&recycled).unwrap().execution::<xnas::run::Execution>().unwrap().unwrap();
    assert_eq!((execution.workers, execution.worker_recycle_after), (xnas::run::Workers::Persistent, 3));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_killed_evaluation_is_retried_and_nothing_is_lost() {
    let dir = temp_dir("retry");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let run = dir.join("run");
    let child = spawn_run(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--jobs-per-device", "2"]);
    // Kill the first evaluation process as soon as it appears (it is still loading libtorch).
    let deadline = Instant::now() + Duration::from_secs(120);
    let victim = loop {
        assert!(Instant::now() < deadline, "no evaluation process appeared");
        if let Some(&(pid, _)) = evaluate_processes(Some(child.id())).first() {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    kill_9(victim);
    let stderr = finish(child);
    assert!(stderr.contains("was lost") && stderr.contains("trying again (2 of at most 3)"), "{stderr}");

    let store = Store::open(&run).unwrap();
    let all = store.evaluations(None).unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|e| e.status == EvalStatus::Done), "every evaluation finished");
    let retried: Vec<_> = all.iter().filter(|e| e.attempt == 2).collect();
    assert_eq!(retried.len(), 1, "exactly the killed one ran twice");
    let attempts = store.attempts(retried[0].id).unwrap();
    let outcomes: Vec<AttemptOutcome> = attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, [AttemptOutcome::Lost, AttemptOutcome::Done]);
    assert!(attempts[0].error.as_deref().unwrap().contains("killed"), "{:?}", attempts[0].error);
    std::fs::remove_dir_all(dir).ok();
}

/// Sends `signal` (`-STOP`, `-CONT`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn a_stopped_worker_is_killed_by_the_watchdog_and_its_job_retried() {
    let dir = temp_dir("stall");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let run = dir.join("run");
    let mut child = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap(), "--threads", "1"])
        .args(["--worker-stall-timeout", "5"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the first worker as soon as it appears: it holds its first job from the start.
    let deadline = Instant::now() + Duration::from_secs(120);
    let victim = loop {
        assert!(Instant::now() < deadline, "no worker appeared");
        if let Some(&(pid, _)) = evaluate_processes(Some(child.id())).first() {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    signal(victim, "-STOP");
    // Without the watchdog the run would wait for the stopped worker forever.
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            signal(victim, "-CONT");
            panic!("the run still waits for its stopped worker after 300 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stderr = finish(child);
    assert!(
        stderr.contains("wrote nothing and used no CPU time for 5 s")
            && stderr.contains("trying again (2 of at most 3)"),
        "{stderr}"
    );
    assert!(evaluate_processes(None).iter().all(|&(pid, _)| pid != victim), "the stopped worker was killed");

    let store = Store::open(&run).unwrap();
    let all = store.evaluations(None).unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|e| e.status == EvalStatus::Done), "every evaluation finished");
    let retried: Vec<_> = all.iter().filter(|e| e.attempt == 2).collect();
    assert_eq!(retried.len(), 1, "exactly the stopped worker's job ran twice");
    let attempts = store.attempts(retried[0].id).unwrap();
    let outcomes: Vec<AttemptOutcome> = attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, [AttemptOutcome::Lost, AttemptOutcome::Done]);
    assert!(attempts[0].error.as_deref().unwrap().contains("--worker-stall-timeout"), "{:?}", attempts[0].error);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn steady_state_runs_its_budget_and_resumes_after_kill_9() {
    let dir = temp_dir("steady");
    // Population 4, 3 generations: 4 + 2 × 4 = 12 evaluations.
    let script = tiny_script(&dir, 3, "|r| r.introspectability");
    let run = dir.join("run");
    let args = [
        "run",
        script.to_str().unwrap(),
        "--dir",
        run.to_str().unwrap(),
        "--scheduling",
        "steady-state",
        "--jobs-per-device",
        "2",
    ];
    let mut child = spawn_run(&args);
    wait_for(&run, "5 finished evaluations", |s| s.counts().is_ok_and(|c| c.done >= 5));
    child.kill().unwrap();
    child.wait().unwrap();
    // The children die with the run (PR_SET_PDEATHSIG): nothing keeps training unseen.
    std::thread::sleep(Duration::from_millis(500));
    assert!(evaluate_processes(Some(child.id())).is_empty());
    let before = trained(&run);
    assert!(before.len() >= 5 && before.len() < 12, "{before:?}");

    // `resume` reads the scheduling back from the store.
    let stderr = String::from_utf8(xnas(&["resume", run.to_str().unwrap()]).stderr).unwrap();
    assert!(stderr.contains("steady-state scheduling"), "{stderr}");
    let after = trained(&run);
    // In id order, an evaluation that was in flight at the kill now sits among the earlier ones.
    assert!(before.iter().all(|b| after.contains(b)), "finished evaluations are kept: {before:?} / {after:?}");
    assert_eq!(after.len(), 12, "the whole budget, each candidate once: {after:?}");
    let mut genomes: Vec<&String> = after.iter().map(|(g, _)| g).collect();
    genomes.sort();
    genomes.dedup();
    assert_eq!(genomes.len(), 12, "no genome was trained twice");
    let store = Store::open(&run).unwrap();
    let generations: Vec<u64> = store.generations().unwrap().iter().map(|g| g.generation).collect();
    assert_eq!(generations, [1, 2, 3]);
    let candidates: std::collections::BTreeSet<u64> =
        store.evaluations(None).unwrap().iter().map(|e| e.candidate).collect();
    assert_eq!(candidates.len(), 12, "one store row per candidate: in-flight ones were re-run, not re-asked");
    std::fs::remove_dir_all(dir).ok();
}

/// Runs `xnas ARGS` expecting it to fail; its stderr.
fn fails(args: &[&str]) -> String {
    let out = Command::new(XNAS).args(args).env("OMP_NUM_THREADS", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "xnas {args:?} succeeded:\n{stderr}");
    stderr
}

#[test]
fn deterministic_failures_are_caught_before_a_run_folder_exists() {
    let dir = temp_dir("preflight");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quickstart = repo.join("experiments/quickstart.rhai");
    let cifar10 = repo.join("experiments/cifar10.rhai");
    let (quickstart, cifar10) = (quickstart.to_str().unwrap(), cifar10.to_str().unwrap());
    let cases: [(&[&str], &str); 4] = [
        (&[cifar10], "cifar10 has no default folder"),
        (&[quickstart, "--set", "dataset.train_subset=0"], "train_subset = 0"),
        (&[quickstart, "--set", "training.lr=-1"], "lr = -1"),
        (&[quickstart, "--devices", "7"], "device cuda:7 was asked for"),
    ];
    for (i, (args, message)) in cases.iter().enumerate() {
        let run = dir.join(format!("run{i}"));
        let started = Instant::now();
        let stderr = fails(&[&["run"], *args, &["--dir", run.to_str().unwrap()]].concat());
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!run.exists(), "{args:?} created {}", run.display());
        assert!(started.elapsed() < Duration::from_secs(30), "{args:?} took {:?}", started.elapsed());
        if !args.contains(&"--devices") {
            let stderr = fails(&[&["check"], *args].concat());
            assert!(stderr.contains(message), "check {args:?}: {stderr}");
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_configuration_error_in_a_child_stops_the_run_without_retrying() {
    // The files are there and the training labels are a real IDX file (the check before the run
    // reads the training split's size from them), but the images are not IDX files: every
    // evaluation would fail reading them, so the first one stops the run.
    let dir = temp_dir("child-config");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for stem in ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        std::fs::write(data.join(stem), b"not an idx file").unwrap();
    }
    let images = 60_000u32;
    let mut labels = vec![0, 0, 8, 1];
    labels.extend(images.to_be_bytes());
    labels.extend((0..images).map(|i| (i % 10) as u8));
    std::fs::write(data.join("train-labels-idx1-ubyte"), labels).unwrap();
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let text = std::fs::read_to_string(&script)
        .unwrap()
        .replace("val_subset: 100", &format!("val_subset: 100, data_dir: {:?}", data.display().to_string()));
    std::fs::write(&script, text).unwrap();
    let run = dir.join("run");
    let stderr = fails(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap()]);
    assert!(stderr.contains("cannot run as configured") && stderr.contains("is not a valid"), "{stderr}");
    assert!(!stderr.contains("trying again"), "{stderr}");
    let store = Store::open(&run).unwrap();
    let attempts: usize = store.evaluations(None).unwrap().iter().map(|e| store.attempts(e.id).unwrap().len()).sum();
    assert_eq!(attempts, 1, "one child ran, once: {stderr}");
    std::fs::remove_dir_all(dir).ok();
}
