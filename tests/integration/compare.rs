//! `xnas compare` end to end: a single-objective (✗) and a multi-objective (✓) run of the same
//! tiny experiment, then one Table 1 with a row per run, in the order given, on the same axes.

use crate::run::{temp_dir, tiny_script, xnas};

#[test]
fn a_single_and_a_multi_objective_run_compare_in_one_table() {
    let dir = temp_dir("compare");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let (multi, single) = (dir.join("multi"), dir.join("single"));
    // Enough training that accuracies leave chance (0.1, the reference) and hypervolumes are > 0.
    let learn = ["--set", "dataset.train_subset=1000", "--set", "training.epochs=3"];
    xnas(&[&["run", script.to_str().unwrap(), "--dir", multi.to_str().unwrap()][..], &learn].concat());
    xnas(&[
        "run",
        script.to_str().unwrap(),
        "--dir",
        single.to_str().unwrap(),
        learn[0],
        learn[1],
        learn[2],
        learn[3],
        "--set",
        "search.algorithm=ga",
        "--set",
        "search.objective=accuracy",
    ]);
    let out = dir.join("compared");
    xnas(&["compare", single.to_str().unwrap(), multi.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(out.join("table1.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with(&format!("\"{}\",tiny,fashion-mnist,✗,", single.display())), "{csv}");
    assert!(rows[1].starts_with(&format!("\"{}\",tiny,fashion-mnist,✓,", multi.display())), "{csv}");
    // Both hypervolumes are measured from the same reference point, (0.1, 0) for ten classes.
    for row in &rows {
        assert!(row.ends_with(",0.1,0"), "{row}");
        let hypervolume: f64 = row.split(',').nth(10).unwrap().parse().unwrap();
        assert!(hypervolume > 0.0, "{row}");
    }
    for file in ["table1.md", "fronts.svg", "hypervolume.svg", "index.html"] {
        assert!(out.join(file).exists(), "{file}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// `xnas refine`: the front of a finished run trained again with the regularizer, as a new run
/// with one evaluation per front member, listed by `compare` as the ✓+reg row; resuming it
/// trains nothing more.
#[test]
fn a_refined_front_is_a_new_run_and_the_refined_row() {
    use xnas::store::{EvalStatus, Store};
    let dir = temp_dir("refine");
    let script = tiny_script(&dir, 1, "|r| r.introspectability");
    let (multi, refined) = (dir.join("multi"), dir.join("refined"));
    xnas(&["run", script.to_str().unwrap(), "--dir", multi.to_str().unwrap()]);
    let mut front = xnas::report::input::front_genomes(&multi).unwrap();
    assert!(!front.is_empty());
    let out = xnas(&[
        "refine",
        multi.to_str().unwrap(),
        "--regularizer",
        "0.5",
        "--dir",
        refined.to_str().unwrap(),
        "--jobs-per-device",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{} trained", front.len())), "{stdout}");
    let store = Store::open_read_only(&refined).unwrap();
    let done = store.evaluations(Some(EvalStatus::Done)).unwrap();
    let mut trained: Vec<String> = done.iter().map(|e| e.genome.compact()).collect();
    trained.sort();
    front.sort();
    assert_eq!(trained, front);
    for e in &done {
        let record = e.record.as_ref().unwrap();
        assert_eq!(record.config.regularizer, 0.5, "{}", e.genome.compact());
        assert_eq!(e.parents, Vec::<u64>::new());
    }
    assert_eq!(store.run().unwrap().name, "refined");
    drop(store);
    let resumed = xnas(&["resume", refined.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("already complete"));
    let compared = dir.join("compared");
    xnas(&["compare", multi.to_str().unwrap(), refined.to_str().unwrap(), "--out", compared.to_str().unwrap()]);
    let csv = std::fs::read_to_string(compared.join("table1.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(rows[0].starts_with(&format!("\"{}\",tiny,fashion-mnist,✓,", multi.display())), "{csv}");
    assert!(rows[1].starts_with(&format!("\"{}\",refined,fashion-mnist,✓+reg,1,", refined.display())), "{csv}");
    // The same refinement from a script: a fixed search over the front, here without the regularizer.
    let again = dir.join("again");
    let from = format!("search.front_of={}", multi.display());
    let out = xnas(&[
        "run",
        script.to_str().unwrap(),
        "--dir",
        again.to_str().unwrap(),
        "--set",
        "search.algorithm=fixed",
        "--set",
        &from,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("({} trained, 0 reused", front.len())), "{stdout}");
    let store = Store::open_read_only(&again).unwrap();
    assert_eq!(store.evaluations(Some(EvalStatus::Done)).unwrap().len(), front.len());
    std::fs::remove_dir_all(dir).ok();
}
