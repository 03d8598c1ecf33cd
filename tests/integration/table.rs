//! Tables of a space, end to end through the real binary: an exhaustive search
//! (`search.algorithm "exhaustive"`) over a restricted space trains each of its distinct cells
//! once — the set brute force over the space's genomes gives — and `xnas run --table` replays a
//! search from that run folder without training anything, its records the table's; a cell the
//! table lacks, or another training configuration, stops the replay with an error naming it; the
//! table exported as one file (`xnas table export`) replays the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use xnas::space::{Genome, Op};
use xnas::store::{EvalStatus, Store};

use super::run::{temp_dir, xnas, XNAS};

/// 1←0 skip or conv3x3, 3←0 none or conv3x3, 3←1 none or skip, the other edges none: 8 genomes,
/// 6 of them valid, in 4 canonical forms (see `distinct_cells_are_the_brute_force_set`).
const SPACE_OPS: [&[u8]; 6] = [&[4, 0], &[3], &[3], &[3, 0], &[3, 4], &[3]];

fn ops_literal(ops: &[&[u8]]) -> String {
    let edges: Vec<String> =
        ops.iter().map(|edge| format!("[{}]", edge.iter().map(u8::to_string).collect::<Vec<_>>().join(", "))).collect();
    format!("[{}]", edges.join(", "))
}

/// A tiny experiment over `ops` with the given search settings: 1-epoch trainings on 200 images.
fn script(dir: &Path, name: &str, ops: &str, search: &str) -> PathBuf {
    let path = dir.join(format!("{name}.rhai"));
    let text = format!(
        r#"let exp = experiment("{name}");
exp.dataset(#{{ name: "fashion-mnist", train_subset: 200, val_subset: 100, test_subset: 100 }});
exp.space(#{{ channels: 4, cells: 1, ops: {ops} }});
exp.training(#{{ epochs: 1, batch_size: 64, device: "cpu" }});
exp.search({search});
exp.objective("accuracy", "max", |r| r.val_accuracy);
exp.objective("introspectability", "max", |r| r.introspectability);
exp.reference_point([0.1, 0.0]);
exp
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The distinct canonical forms of the valid genomes whose every edge takes an allowed op: brute
/// force over all 5^6 genomes.
fn brute_force_forms(ops: &[&[u8]]) -> BTreeSet<String> {
    Genome::all()
        .filter(|g| g.0.iter().zip(ops).all(|(op, allowed)| allowed.contains(&op.code())))
        .filter(Genome::is_valid)
        .map(|g| g.canonical().to_string())
        .collect()
}

fn done(run: &Path) -> Vec<xnas::store::StoredEvaluation> {
    Store::open_read_only(run).unwrap().evaluations(Some(EvalStatus::Done)).unwrap()
}

fn xnas_fails(args: &[&str]) -> String {
    let out = Command::new(XNAS).args(args).env("OMP_NUM_THREADS", "1").output().unwrap();
    assert!(!out.status.success(), "xnas {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_exhaustive_table_replays_a_search_without_training() {
    assert_eq!(Op::from_code(4), Some(Op::Skip), "the op codes SPACE_OPS uses");
    let dir = temp_dir("table");
    let ops = ops_literal(&SPACE_OPS);
    let exhaustive = script(&dir, "exhaustive", &ops, r#"#{ algorithm: "exhaustive", seed: 5 }"#);
    let table = dir.join("table");
    xnas(&["run", exhaustive.to_str().unwrap(), "--dir", table.to_str().unwrap()]);

    // Every distinct valid cell of the space, each trained once.
    let trained = done(&table);
    let forms: BTreeSet<String> = trained.iter().map(|e| e.canonical.clone()).collect();
    assert_eq!(forms, brute_force_forms(&SPACE_OPS));
    assert_eq!(forms.len(), 4, "counted by hand");
    assert_eq!(trained.len(), forms.len(), "no cell twice");
    assert!(trained.iter().all(|e| e.reused_from.is_none() && e.record.as_ref().unwrap().replayed_from.is_none()));
    let by_form: BTreeMap<String, xnas::record::MeasurementRecord> =
        trained.into_iter().map(|e| (e.canonical, e.record.unwrap())).collect();

    // A search replayed from it: every record is the table's record of its canonical cell, and
    // nothing was trained (every attempt ran on the table, not on a worker).
    let search = script(&dir, "replay", &ops, r#"#{ algorithm: "nsga2", population: 2, generations: 2, seed: 1 }"#);
    let replay = dir.join("replay");
    let out =
        xnas(&["run", search.to_str().unwrap(), "--dir", replay.to_str().unwrap(), "--table", table.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(0 trained,"), "{stdout}");
    let replayed = done(&replay);
    assert!(replayed.len() >= 2, "{} evaluation(s)", replayed.len());
    let store = Store::open_read_only(&replay).unwrap();
    for e in &replayed {
        let mut record = e.record.clone().unwrap();
        let source = record.replayed_from.take().expect("a replayed record says so");
        assert!(source.contains(" #"), "{source}");
        assert_eq!(&record, &by_form[&e.canonical], "candidate {}", e.candidate);
        for attempt in store.attempts(e.id).unwrap() {
            assert_eq!(attempt.worker.as_deref(), Some("table"));
        }
    }

    // Its report measures it against the table: the hypervolume gap is the table front's
    // hypervolume minus the run's archive's, both summed by hand (maximised, from (0.1, 0)).
    let hypervolume = |points: Vec<(f64, f64)>| {
        let mut points = points;
        points.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
        let (mut total, mut best) = (0.0, 0.0_f64);
        for (accuracy, intro) in points {
            if accuracy > 0.1 && intro > best {
                total += (accuracy - 0.1) * (intro - best);
                best = intro;
            }
        }
        total
    };
    let axes = |r: &xnas::record::MeasurementRecord| (r.val_accuracy.unwrap(), r.introspectability.unwrap());
    let table_hv = hypervolume(by_form.values().map(axes).collect());
    let run_hv = hypervolume(replayed.iter().map(|e| axes(e.record.as_ref().unwrap())).collect());
    xnas(&["report", replay.to_str().unwrap()]);
    let html = std::fs::read_to_string(replay.join("report/index.html")).unwrap();
    assert!(html.contains("Against the table") && html.contains("It holds all 4 cells of the space"), "{html}");
    let expected = format!("a hypervolume gap of {:.4}", table_hv - run_hv);
    assert!(html.contains(&expected), "{expected} in {html}");
    let gaps = std::fs::read_to_string(replay.join("report/table_gap.csv")).unwrap();
    assert!(gaps.starts_with("generation,archive_hypervolume,table_hypervolume,hypervolume_gap,igd_plus"), "{gaps}");

    // The table as one file replays the same search the same way.
    let file = dir.join("table.jsonl.gz");
    let out = xnas(&["table", "export", table.to_str().unwrap(), file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 record(s)"));
    let from_file = dir.join("from-file");
    xnas(&["run", search.to_str().unwrap(), "--dir", from_file.to_str().unwrap(), "--table", file.to_str().unwrap()]);
    let scores = |run: &Path| -> Vec<(u64, String, Option<f64>)> {
        done(run).into_iter().map(|e| (e.candidate, e.canonical, e.record.unwrap().val_accuracy)).collect()
    };
    assert_eq!(scores(&from_file), scores(&replay));
    // Exporting again replaces the table file; a file that is not one is refused.
    xnas(&["table", "export", table.to_str().unwrap(), file.to_str().unwrap()]);
    let message = xnas_fails(&["table", "export", table.to_str().unwrap(), search.to_str().unwrap()]);
    assert!(message.contains("not an xnas table file"), "{message}");

    // A training configuration the table was not made with is refused before anything runs,
    // naming the setting.
    let other = dir.join("other");
    let message = xnas_fails(&[
        "run",
        search.to_str().unwrap(),
        "--dir",
        other.to_str().unwrap(),
        "--table",
        table.to_str().unwrap(),
        "--set",
        "training.epochs=2",
    ]);
    assert!(message.contains("training.epochs is 1 in the table and 2 in the script"), "{message}");

    // A search over the whole space soon asks for a cell the table lacks: the run stops naming it.
    let wide =
        script(&dir, "wide", "[0, 1, 2, 3, 4]", r#"#{ algorithm: "nsga2", population: 8, generations: 1, seed: 1 }"#);
    let missed = dir.join("missed");
    let message = xnas_fails(&[
        "run",
        wide.to_str().unwrap(),
        "--dir",
        missed.to_str().unwrap(),
        "--table",
        table.to_str().unwrap(),
    ]);
    assert!(message.contains("cannot be replayed from the table") && message.contains("cell "), "{message}");
    std::fs::remove_dir_all(dir).ok();
}

/// A table grows: an exhaustive search over a wider space, given the table of a narrower one in
/// its script (`search.table`, `table_miss: "train"`), answers the cells the table holds from it
/// and trains exactly the cells it lacks — the brute-force difference of the two spaces.
#[test]
fn a_table_miss_is_trained_when_the_script_says_so() {
    let dir = temp_dir("table-miss");
    let narrow_ops = ops_literal(&SPACE_OPS);
    let narrow = script(&dir, "narrow", &narrow_ops, r#"#{ algorithm: "exhaustive", seed: 5 }"#);
    let table = dir.join("table");
    xnas(&["run", narrow.to_str().unwrap(), "--dir", table.to_str().unwrap()]);
    let by_form: BTreeMap<String, xnas::record::MeasurementRecord> =
        done(&table).into_iter().map(|e| (e.canonical, e.record.unwrap())).collect();

    // The last edge (3←2) may now be a skip too.
    let wider_ops: [&[u8]; 6] = [&[4, 0], &[3], &[3], &[3, 0], &[3, 4], &[3, 4]];
    let search = format!(r#"#{{ algorithm: "exhaustive", seed: 5, table: {:?}, table_miss: "train" }}"#, table);
    let wider = script(&dir, "wider", &ops_literal(&wider_ops), &search);
    let grown = dir.join("grown");
    xnas(&["run", wider.to_str().unwrap(), "--dir", grown.to_str().unwrap()]);

    let (narrow_forms, wider_forms) = (brute_force_forms(&SPACE_OPS), brute_force_forms(&wider_ops));
    assert!(narrow_forms.is_subset(&wider_forms) && wider_forms.len() > narrow_forms.len());
    let store = Store::open_read_only(&grown).unwrap();
    let evaluations = done(&grown);
    let forms: BTreeSet<String> = evaluations.iter().map(|e| e.canonical.clone()).collect();
    assert_eq!(forms, wider_forms, "every cell of the wider space, once");
    assert_eq!(evaluations.len(), wider_forms.len());
    let mut trained = BTreeSet::new();
    for e in &evaluations {
        let mut record = e.record.clone().unwrap();
        let workers: Vec<Option<String>> = store.attempts(e.id).unwrap().into_iter().map(|a| a.worker).collect();
        match record.replayed_from.take() {
            Some(_) => {
                assert_eq!(&record, &by_form[&e.canonical], "a held cell is the table's record");
                assert_eq!(workers, [Some("table".to_string())]);
            }
            None => {
                assert!(!workers.contains(&Some("table".to_string())), "{workers:?}");
                trained.insert(e.canonical.clone());
            }
        }
    }
    let lacking: BTreeSet<String> = wider_forms.difference(&narrow_forms).cloned().collect();
    assert_eq!(trained, lacking, "exactly the cells the table lacks were trained");

    // Without `table_miss: "train"` the same search stops at the first cell the table lacks.
    let strict = script(
        &dir,
        "strict",
        &ops_literal(&wider_ops),
        &format!(r#"#{{ algorithm: "exhaustive", seed: 5, table: {:?} }}"#, table),
    );
    let stopped = dir.join("stopped");
    let message = xnas_fails(&["run", strict.to_str().unwrap(), "--dir", stopped.to_str().unwrap()]);
    assert!(message.contains("--table-miss train"), "{message}");
    std::fs::remove_dir_all(dir).ok();
}

/// An exhaustive search is one generation, so its time budget stops it between jobs: out of time,
/// it leaves the rest of the space queued and says so, and `xnas resume` trains exactly what is
/// left, each cell once.
#[test]
fn an_exhaustive_search_out_of_time_stops_between_jobs_and_resumes() {
    let dir = temp_dir("table-time");
    let exhaustive = script(&dir, "exhaustive", &ops_literal(&SPACE_OPS), r#"#{ algorithm: "exhaustive", seed: 5 }"#);
    let table = dir.join("table");
    let out = xnas(&[
        "run",
        exhaustive.to_str().unwrap(),
        "--dir",
        table.to_str().unwrap(),
        "--set",
        "search.max_seconds=0.001",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the time budget ran out") && stderr.contains(" of 4 evaluation(s) of the list not started"),
        "{stderr}"
    );
    // The first job may start within the millisecond; none after it.
    assert!(done(&table).len() <= 1, "{} evaluation(s) started after the budget ran out", done(&table).len());

    xnas(&["resume", table.to_str().unwrap(), "--set", "search.max_seconds=null"]);
    // What finished before is reused (a row pointing at it), not trained again.
    let trained: Vec<String> =
        done(&table).into_iter().filter(|e| e.reused_from.is_none()).map(|e| e.canonical).collect();
    let distinct: BTreeSet<String> = trained.iter().cloned().collect();
    assert_eq!(distinct, brute_force_forms(&SPACE_OPS));
    assert_eq!(trained.len(), distinct.len(), "no cell trained twice");
    // Its export holds each cell once, the reuse rows left out, and leaves no staging file.
    let file = dir.join("table.jsonl.gz");
    let out = xnas(&["table", "export", table.to_str().unwrap(), file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(": 4 record(s)"), "{}", String::from_utf8_lossy(&out.stdout));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(dir).ok();
}

/// An early-stopping rule replays on the table's per-epoch points: a table built with
/// `training.epoch_validation` answers each epoch as the worker measured it, and a stop ends the
/// replayed job there, its record stopped with that epoch's accuracy and introspectability.
#[test]
fn an_early_stopping_rule_replays_on_the_tables_epochs() {
    let dir = temp_dir("table-early");
    let ops = ops_literal(&SPACE_OPS);
    let with_epochs = |name: &str, search: &str, rule: &str| {
        let path = script(&dir, name, &ops, search);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("exp.training(#{ epochs: 1,", "exp.training(#{ epochs: 2, epoch_validation: 50,");
        std::fs::write(&path, text.replace("\nexp\n", &format!("\n{rule}\nexp\n"))).unwrap();
        path
    };
    let exhaustive = with_epochs("exhaustive", r#"#{ algorithm: "exhaustive", seed: 5 }"#, "");
    let table = dir.join("table");
    xnas(&["run", exhaustive.to_str().unwrap(), "--dir", table.to_str().unwrap()]);
    let by_form: BTreeMap<String, xnas::record::MeasurementRecord> =
        done(&table).into_iter().map(|e| (e.canonical, e.record.unwrap())).collect();
    assert!(by_form.values().all(|r| r.epochs.len() == 1), "one measured epoch before the last of two");

    // Stop every training after its first epoch.
    let search = with_epochs(
        "stopping",
        r#"#{ algorithm: "nsga2", population: 2, generations: 2, seed: 1 }"#,
        "exp.stop_early(|p| p.epoch >= 1);",
    );
    let replay = dir.join("replay");
    xnas(&["run", search.to_str().unwrap(), "--dir", replay.to_str().unwrap(), "--table", table.to_str().unwrap()]);
    let replayed = done(&replay);
    assert!(!replayed.is_empty());
    for e in replayed {
        let record = e.record.unwrap();
        let full = &by_form[&e.canonical];
        assert_eq!(record.status, xnas::record::Status::Stopped, "candidate {}", e.candidate);
        assert_eq!(record.val_accuracy, Some(full.epochs[0].val_accuracy));
        assert_eq!(record.introspectability, full.epochs[0].introspectability);
        assert!(record.train_seconds < full.train_seconds, "a stop saves the second epoch's seconds");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// `xnas check SCRIPT --table` scores every cell of the table with the script's objectives and
/// gives the true front: the same set, and the same hypervolume, as brute force over the table's
/// records (every pair compared; the 2-D hypervolume summed as rectangles by hand).
#[test]
fn check_with_a_table_prints_the_brute_force_true_front() {
    let dir = temp_dir("table-check");
    // Every edge a skip or a conv3x3 but the last two edges fixed: more cells than SPACE_OPS.
    let ops: [&[u8]; 6] = [&[4, 0], &[3, 0], &[4, 3], &[3, 0], &[3, 4], &[3]];
    let exhaustive = script(&dir, "exhaustive", &ops_literal(&ops), r#"#{ algorithm: "exhaustive", seed: 5 }"#);
    let table = dir.join("table");
    xnas(&["run", exhaustive.to_str().unwrap(), "--dir", table.to_str().unwrap()]);
    let cells: Vec<(String, f64, f64)> = done(&table)
        .into_iter()
        .map(|e| {
            let record = e.record.unwrap();
            (record.genome.clone(), record.val_accuracy.unwrap(), record.introspectability.unwrap())
        })
        .collect();
    assert_eq!(cells.len(), brute_force_forms(&ops).len());
    let dominated =
        |(_, a, i): &(String, f64, f64)| cells.iter().any(|(_, a2, i2)| a2 >= a && i2 >= i && (a2 > a || i2 > i));
    let mut front: Vec<(String, f64, f64)> = cells.iter().filter(|c| !dominated(c)).cloned().collect();
    front.sort_by(|x, y| y.1.total_cmp(&x.1));
    // Maximised from (0.1, 0.0): by accuracy descending, each point adds the strip of
    // introspectability above the best so far.
    let (mut hypervolume, mut best_intro) = (0.0, 0.0_f64);
    for (_, accuracy, intro) in &front {
        if *accuracy > 0.1 && *intro > best_intro {
            hypervolume += (accuracy - 0.1) * (intro - best_intro);
            best_intro = *intro;
        }
    }

    let search =
        script(&dir, "search", &ops_literal(&ops), r#"#{ algorithm: "nsga2", population: 4, generations: 2 }"#);
    let csv = dir.join("cells.csv");
    let out =
        xnas(&["check", search.to_str().unwrap(), "--table", table.to_str().unwrap(), "--out", csv.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("table: {} of the space's {} cells", cells.len(), cells.len())), "{stdout}");
    assert!(stdout.contains(&format!("{} cell(s), hypervolume {hypervolume:.6}", front.len())), "{stdout}");
    let on_front: BTreeSet<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| line.ends_with(",true"))
        .map(|line| line.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(on_front, front.iter().map(|c| c.0.clone()).collect::<BTreeSet<_>>());
    std::fs::remove_dir_all(dir).ok();
}
