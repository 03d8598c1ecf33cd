//! `xnas compare` end to end: a single-objective (✗) and a multi-objective (✓) run of the same
//! tiny experiment, then one Table 1 with a row per run, in the order given, on the same axes.

use crate::run::{temp_dir, tiny_script, xnas};

#[test]
fn a_single_and_a_multi_objective_run_compare_in_one_table() {
    let dir = temp_dir("compare");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let (multi, single) = (dir.join("multi"), dir.join("single"));
    xnas(&["run", script.to_str().unwrap(), "--dir", multi.to_str().unwrap()]);
    xnas(&[
        "run",
        script.to_str().unwrap(),
        "--dir",
        single.to_str().unwrap(),
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
