//! `xnas run SCRIPT --seeds LIST` end to end, through the real binary on Fashion-MNIST subsets:
//! a study is one ordinary run folder per seed, seed k's run is the plain run with
//! `--set search.seed=k`; `resume` and `status` take the study's folders; an interrupted or failed
//! study resumes every seed without training anything twice; `compare --group` groups two
//! studies, and `refine` refines a study seed by seed.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use xnas::store::Store;

use super::run::{temp_dir, tiny_script, trained, wait_for, XNAS};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// xnas run in `dir` (a study's folders go to `dir/runs/`), its outputs kept.
fn xnas_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(XNAS).args(args).current_dir(dir).env("OMP_NUM_THREADS", "1").output().unwrap()
}

/// [`xnas_in`] that must succeed.
fn ok_in(dir: &Path, args: &[&str]) -> Output {
    let out = xnas_in(dir, args);
    assert!(out.status.success(), "xnas {args:?} failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    out
}

/// The run's hypervolume per generation, as its report gives it.
fn hypervolumes(run: &Path) -> Vec<(u64, f64)> {
    xnas::report::input::report_input(run).unwrap().hypervolume_per_generation
}

/// How many generations the run saved.
fn generations(run: &Path) -> usize {
    Store::open_read_only(run).unwrap().generations().unwrap().len()
}

#[test]
fn a_study_is_one_plain_run_per_seed_and_studies_compare_as_groups() {
    let dir = temp_dir("study");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let script = script.to_str().unwrap();
    // Enough training that accuracies leave chance (0.1, the reference) and hypervolumes differ.
    let learn = ["--set", "dataset.train_subset=1000", "--set", "training.epochs=3"];
    let out = ok_in(&dir, &[&["run", script, "--seeds", "1..2"][..], &learn].concat());
    assert!(text(&out.stdout).contains("study: every seed finished"), "{}", text(&out.stdout));
    let (s1, s2) = (dir.join("runs/tiny-s1"), dir.join("runs/tiny-s2"));
    // Seed 1 of the study is the plain run with search.seed=1, evaluation for evaluation.
    ok_in(&dir, &[&["run", script, "--set", "search.seed=1", "--dir", "plain"][..], &learn].concat());
    let plain = dir.join("plain");
    assert!(!trained(&s1).is_empty());
    assert_eq!(trained(&s1), trained(&plain));
    assert_eq!(hypervolumes(&s1), hypervolumes(&plain));
    assert_eq!(generations(&s1), 2);
    assert_ne!(trained(&s1), trained(&s2), "another seed searches otherwise");
    // Status lists each seed.
    let status = text(&ok_in(&dir, &["status", "runs/tiny-s1", "runs/tiny-s2"]).stdout);
    for seed in ["runs/tiny-s1", "runs/tiny-s2"] {
        let section = status.split(&format!("run tiny ({seed})\n")).nth(1).unwrap_or_else(|| panic!("{status}"));
        assert!(section.contains("generation   2: hypervolume"), "{status}");
    }
    // The same study again is refused, naming the resume that continues it; a finished one resumes to nothing.
    let again = xnas_in(&dir, &["run", script, "--seeds", "2..3"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("runs/tiny-s2 already hold a run; continue them with `xnas resume runs/tiny-s2`"),
        "{}",
        text(&again.stderr)
    );
    assert!(!dir.join("runs/tiny-s3").exists(), "nothing of a refused study is created");
    let before = trained(&s1);
    let resumed = ok_in(&dir, &["resume", "runs/tiny-s1", "runs/tiny-s2"]);
    assert_eq!(text(&resumed.stderr).matches("already complete").count(), 2, "{}", text(&resumed.stderr));
    assert_eq!(trained(&s1), before);

    // The single-objective search, the same budget and seeds, as a second study; then both as groups.
    let single = ["--set", "search.algorithm=ga", "--set", "search.objective=accuracy", "--name", "single"];
    ok_in(&dir, &[&["run", script, "--seeds", "1..2"][..], &learn, &single].concat());
    ok_in(&dir, &["compare", "--group", "✓=runs/tiny-s*", "--group", "✗=runs/single-s*", "--out", "compared"]);
    let groups = std::fs::read_to_string(dir.join("compared/groups.csv")).unwrap();
    let rows: Vec<&str> = groups.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{groups}");
    assert!(rows[0].starts_with("\"✓\",2,") && rows[1].starts_with("\"✗\",2,"), "{groups}");
    let tests = std::fs::read_to_string(dir.join("compared/tests.csv")).unwrap();
    assert!(tests.lines().nth(1).unwrap().starts_with("\"✓\",\"✗\",2,2,paired_by_seed,"), "{tests}");

    // A study from a study, seeds paired by number: each seed proposes what its source seed trained,
    // so nothing is trained again (seed 2 from seed 1's run would have to train).
    let from = ok_in(
        &dir,
        &[&["run", script, "--seeds", "1..2", "--name", "again", "--from", "runs/tiny-s*"][..], &learn].concat(),
    );
    assert_eq!(text(&from.stdout).matches("(0 trained, ").count(), 2, "{}", text(&from.stdout));
    for seed in [1, 2] {
        let run = dir.join(format!("runs/again-s{seed}"));
        assert_eq!(generations(&run), 2);
        assert_eq!(trained(&run), trained(&dir.join(format!("runs/tiny-s{seed}"))), "seed {seed}'s records, reused");
    }

    // A study refined seed by seed: each seed's front into runs/tiny-refined-s<k>, a study of its own.
    let refined = ok_in(&dir, &["refine", "runs/tiny-s1", "runs/tiny-s2", "--regularizer", "0.5"]);
    for seed in [1, 2] {
        let run = dir.join(format!("runs/tiny-refined-s{seed}"));
        let mut front = xnas::report::input::front_genomes(&dir.join(format!("runs/tiny-s{seed}"))).unwrap();
        let mut again: Vec<String> = trained(&run).into_iter().map(|(genome, _)| genome).collect();
        front.sort();
        again.sort();
        assert_eq!(again, front, "seed {seed}: {}", text(&refined.stderr));
    }
    let refused = xnas_in(&dir, &["refine", "runs/tiny-s1", "runs/tiny-s2", "--name", "x"]);
    assert!(text(&refused.stderr).contains("--name and --dir name one refined run"), "{}", text(&refused.stderr));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn seeds_are_refused_with_the_fix_before_anything_is_created() {
    let dir = temp_dir("study-refusals");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let script = script.to_str().unwrap();
    for (args, says) in [
        (vec!["--seeds", "3..1"], "--seeds \"3..1\": the range 3..1 runs backwards; write 1..3"),
        (vec!["--seeds", "1.."], "a seed is missing"),
        (vec!["--seeds", "1,x"], "\"x\" is not a seed"),
        (vec!["--seeds", "1,1"], "seed 1 is given twice"),
        (vec!["--seeds", "1..2", "--dir", "here"], "name the study with --name NAME instead"),
        (vec!["--seeds", "1..2", "--set", "search.seed=4"], "--set search.seed=4 would make them one run"),
    ] {
        let out = xnas_in(&dir, &[&["run", script][..], &args].concat());
        assert!(!out.status.success() && text(&out.stderr).contains(says), "{args:?}: {}", text(&out.stderr));
    }
    assert!(!dir.join("runs").exists() && !dir.join("here").exists());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_interrupted_study_resumes_every_seed_and_trains_nothing_twice() {
    let dir = temp_dir("study-kill");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let mut child = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--seeds", "1,2"])
        .current_dir(&dir)
        .env("OMP_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (s1, s2) = (dir.join("runs/tiny-s1"), dir.join("runs/tiny-s2"));
    // Killed in seed 1's second generation: seed 2 has trained nothing, but its run exists.
    wait_for(&s1, "5 finished evaluations", |s| s.counts().is_ok_and(|c| c.done >= 5));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = trained(&s1);
    assert!(generations(&s1) < 2, "killed before seed 1 finished: {before:?}");
    assert!(trained(&s2).is_empty());
    let status = text(&ok_in(&dir, &["status", "runs/tiny-s1", "runs/tiny-s2"]).stdout);
    assert!(status.contains("run tiny (runs/tiny-s2)\nevaluations: 0 done"), "{status}");
    ok_in(&dir, &["resume", "runs/tiny-s1", "runs/tiny-s2"]);
    let after = trained(&s1);
    assert_eq!(&after[..before.len()], &before[..], "finished evaluations are kept");
    let mut genomes: Vec<&String> = after.iter().map(|(g, _)| g).collect();
    genomes.sort();
    genomes.dedup();
    assert_eq!(genomes.len(), after.len(), "no genome was trained twice: {after:?}");
    assert_eq!(generations(&s1), 2, "seed 1 finished on resume");
    assert_eq!(generations(&s2), 2, "seed 2 ran whole on resume");
    // Seed 2, begun by the resume, is still the plain run with its seed.
    ok_in(&dir, &["run", script.to_str().unwrap(), "--set", "search.seed=2", "--dir", "plain"]);
    assert_eq!(trained(&s2), trained(&dir.join("plain")));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_failing_seed_fails_the_study_and_the_others_still_run() {
    let dir = temp_dir("study-broken");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let broken = Command::new(XNAS)
        .args(["run", script.to_str().unwrap(), "--seeds", "1..2", "--max-attempts", "1"])
        .current_dir(&dir)
        .env("XNAS_WORKER", "/bin/false")
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let said = text(&broken.stderr);
    assert!(!broken.status.success(), "{said}");
    for seed in [1, 2] {
        assert!(said.contains(&format!("seed {seed} (runs/tiny-s{seed}) failed: ")), "{said}");
    }
    assert!(said.contains("`xnas resume runs/tiny-s1 runs/tiny-s2` continues them"), "{said}");
    ok_in(&dir, &["resume", "runs/tiny-s1", "runs/tiny-s2"]);
    for seed in ["runs/tiny-s1", "runs/tiny-s2"] {
        assert!(!trained(&dir.join(seed)).is_empty(), "{seed}");
        assert_eq!(generations(&dir.join(seed)), 1, "{seed}");
    }
    std::fs::remove_dir_all(dir).ok();
}
