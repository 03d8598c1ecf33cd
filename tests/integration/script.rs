//! Experiment scripts end to end: every shipped experiment passes `check`; malformed scripts give
//! errors with file:line:column; `--set` overrides; stdlib and user imports; scores and
//! primitives against the library functions; the generated API page is current; hot reload.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use xnas::introspect;
use xnas::record::synthetic_record;
use xnas::record::EvalConfig;
use xnas::script::{self, check, compile_file, compile_file_with, Algorithm, Limits, ScriptError, ScriptWatcher};
use xnas::space::Genome;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory under the system's temp dir, unique to this process and call.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "xnas-script-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The lines of a minimal valid experiment, before its objectives.
pub(crate) const HEAD: &str = r#"let exp = experiment("t");
exp.dataset(#{ name: "fashion-mnist", train_subset: 100, val_subset: 50, test_subset: 50 });
exp.space(#{ channels: 4, cells: 1 });
exp.training(#{ epochs: 1 });
exp.search(#{ population: 4, generations: 2, seed: 3 });
"#;

/// Writes `HEAD` + `tail` to a file and compiles it.
fn compile_with_tail(tail: &str) -> (PathBuf, Result<script::Experiment, ScriptError>) {
    let path = temp_dir("tail").join("exp.rhai");
    std::fs::write(&path, format!("{HEAD}{tail}")).unwrap();
    let result = compile_file(&path);
    (path, result)
}

/// Compiles and dry-runs; the first error.
fn check_tail(tail: &str) -> (PathBuf, ScriptError) {
    let (path, compiled) = compile_with_tail(tail);
    let error = match compiled {
        Ok(exp) => check(&exp).expect_err("the dry run should fail"),
        Err(e) => e,
    };
    (path, error)
}

fn record() -> xnas::record::MeasurementRecord {
    synthetic_record(
        &EvalConfig { channels: 4, cells_per_stage: 1, ..EvalConfig::default() },
        &"002404".parse().unwrap(),
    )
}

#[test]
fn every_experiment_passes_check() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("experiments")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rhai") {
            let exp = compile_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let report = check(&exp).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(report.to_string().ends_with("ok"));
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} experiments found");
}

#[test]
fn paper_presets_reach_the_experiments() {
    let cifar = compile_file(&repo().join("experiments/cifar10.rhai")).unwrap();
    let spec = cifar.spec();
    assert_eq!((spec.training.epochs, spec.search.population, spec.search.generations), (12, 64, Some(34)));
    assert_eq!(
        (spec.search.crossover_probability, spec.search.crossover_eta, spec.search.mutation_eta),
        (0.9, 3.0, 3.0)
    );
    assert_eq!(spec.search.mutation_probability, Some(1.0 / 6.0));
    assert_eq!(
        (spec.training.batch_size, spec.training.lr, spec.training.weight_decay, spec.training.nesterov),
        (512, 0.1, 5e-4, true)
    );
    let mnist = compile_file(&repo().join("experiments/mnist.rhai")).unwrap();
    assert_eq!((mnist.spec().training.epochs, mnist.spec().search.generations), (5, Some(18)));
    let imagenet = compile_file(&repo().join("experiments/imagenet16.rhai")).unwrap();
    assert_eq!((imagenet.spec().training.epochs, imagenet.spec().search.generations), (200, Some(11)));
    // WordNet runs report, refine and compare in the WordNet plane (Table 1's ImageNet row).
    for wordnet in [&imagenet, &compile_file(&repo().join("experiments/wordnet.rhai")).unwrap()] {
        assert_eq!(wordnet.spec().report_axis_names(), ["val_accuracy", "wordnet_introspectability"]);
    }
    // Section 4.3's reg baseline: the ✗ search (a GA on accuracy) with the regularizer, at a limited budget.
    let regularized = compile_file(&repo().join("experiments/regularized.rhai")).unwrap();
    assert_eq!(regularized.spec().training.regularizer, 0.5);
    let search = &regularized.spec().search;
    assert_eq!(
        (search.algorithm, search.objective.as_deref(), search.generations),
        (Algorithm::Ga, Some("accuracy"), Some(4))
    );
    let baseline = compile_file(&repo().join("experiments/single_objective.rhai")).unwrap();
    assert_eq!(baseline.spec().search.algorithm, script::Algorithm::Ga);
    assert_eq!(baseline.spec().ga_objective(), Some(0));
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let (path, compiled) = compile_with_tail("exp.objective(\"a\", \"max\", |r| r.val_accuracy;\n");
    let error = compiled.unwrap_err();
    let ScriptError::Syntax { location, .. } = &error else { panic!("not a syntax error: {error}") };
    assert_eq!((location.file.as_str(), location.line), (path.to_str().unwrap(), 6), "{error}");
    assert!(error.to_string().starts_with(&format!("{}:6:", path.display())), "{error}");
}

#[test]
fn unknown_functions_are_reported_where_they_are_called() {
    // At top level: while the script runs.
    let (path, compiled) = compile_with_tail("let w = frobnicate(3);\n");
    let error = compiled.unwrap_err();
    assert!(error.to_string().starts_with(&format!("{}:6:9: unknown function frobnicate", path.display())), "{error}");
    // Inside an objective's closure: when it is called, long after the script ran.
    let (path, error) = check_tail("exp.objective(\"a\", \"max\", |r| frobnicate(r.val_accuracy));\n");
    let text = error.to_string();
    assert!(text.starts_with(&format!("{}:6:31: unknown function frobnicate", path.display())), "{text}");
    assert!(text.contains("in objective \"a\" declared at"), "{text}");
    // A typo in a record field lists the fields.
    let (_, error) = check_tail("exp.objective(\"a\", \"max\", |r| r.val_acuracy);\n");
    assert!(error.to_string().contains("val_acuracy") && error.to_string().contains("val_accuracy"), "{error}");
}

#[test]
fn wrong_objective_arity_is_an_error() {
    let (path, compiled) = compile_with_tail("exp.objective(\"a\", \"max\", |r, extra| r.val_accuracy);\n");
    let error = compiled.unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with(&format!("{}:6:5:", path.display())), "{text}");
    assert!(text.contains("exactly one parameter") && text.contains("takes 2"), "{text}");
    // A closure made in a user module is checked when it is first called (by check).
    let dir = temp_dir("arity");
    std::fs::write(dir.join("lib.rhai"), "fn two() { |a, b| a }\n").unwrap();
    std::fs::write(
        dir.join("exp.rhai"),
        format!("import \"lib\" as lib;\n{HEAD}exp.objective(\"pair\", \"max\", lib::two());\n"),
    )
    .unwrap();
    let exp = compile_file(&dir.join("exp.rhai")).unwrap();
    let error = check(&exp).unwrap_err();
    assert!(matches!(&error, ScriptError::Objective { name, .. } if name == "pair"), "{error}");
    assert!(
        error.to_string().starts_with(&format!(
            "{}:7:5: objective \"pair\" must be a function of one parameter",
            dir.join("exp.rhai").display()
        )),
        "{error}"
    );
}

#[test]
fn nan_and_non_numbers_name_the_objective() {
    let (path, error) = check_tail("exp.objective(\"ratio\", \"max\", |r| 0.0 / 0.0);\n");
    assert!(matches!(&error, ScriptError::Objective { name, .. } if name == "ratio"), "{error}");
    assert!(
        error.to_string().starts_with(&format!("{}:6:5: objective \"ratio\" returned NaN", path.display())),
        "{error}"
    );
    let (_, error) = check_tail("exp.objective(\"label\", \"max\", |r| \"high\");\n");
    assert!(error.to_string().contains("objective \"label\" returned string"), "{error}");
    // The same through the run loop's API, on a real record.
    let (_, exp) = compile_with_tail("exp.objective(\"acc\", \"max\", |r| r.val_accuracy);\nexp.objective(\"nan\", \"min\", |r| r.val_loss / 0.0 * 0.0);\nexp.reference_point([0.1, 1.0]);\n");
    let error = exp.unwrap().score(&record()).unwrap_err();
    assert!(matches!(&error, ScriptError::Objective { name, .. } if name == "nan"), "{error}");
}

#[test]
fn endless_loops_stop_with_a_clear_error() {
    let limits = Limits { max_operations: 200_000, ..Limits::default() };
    let dir = temp_dir("loop");
    let path = dir.join("exp.rhai");
    std::fs::write(&path, format!("{HEAD}let n = 0;\nloop {{ n += 1; }}\n")).unwrap();
    let error = compile_file_with(&path, &limits).unwrap_err();
    assert!(error.to_string().starts_with(&format!("{}:7:", path.display())), "{error}");
    assert!(error.to_string().contains("more than 200000 operations"), "{error}");
    // In a closure called later (default limits: still stops, in well under a few seconds).
    std::fs::write(&path, format!("{HEAD}exp.objective(\"spin\", \"max\", |r| {{ while true {{}} 1.0 }});\n")).unwrap();
    let exp = compile_file(&path).unwrap();
    let started = std::time::Instant::now();
    let error = exp.score(&record()).unwrap_err();
    assert!(error.to_string().contains("operations") && error.to_string().contains("in objective \"spin\""), "{error}");
    assert!(error.location().is_some_and(|l| l.line == 6), "{error}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn growing_an_array_without_bound_stops_within_the_time_budget() {
    // Each push makes rhai re-measure the array, so this loop is quadratic in time while it
    // counts few operations: only the wall-clock budget stops it, during compilation (run
    // through the real binary) and inside a closure alike.
    let dir = temp_dir("grow");
    let path = dir.join("exp.rhai");
    let grow = "let a = [];\nfor i in 0..100000000 { a.push(i) }\n";
    std::fs::write(&path, format!("{HEAD}{grow}exp.objective(\"a\", \"max\", |r| r.val_accuracy);\n")).unwrap();
    let started = std::time::Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xnas"))
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}: {stderr}");
    assert!(stderr.contains(&format!("{}:7:", path.display())), "{stderr}");
    assert!(stderr.contains("ran longer than 10 s"), "{stderr}");

    let limits = Limits { max_call_time: Duration::from_millis(500), ..Limits::default() };
    let body = "|r| { let a = []; for i in 0..100000000 { a.push(i) } 1.0 }";
    std::fs::write(&path, format!("{HEAD}exp.objective(\"grow\", \"max\", {body});\n")).unwrap();
    let exp = compile_file_with(&path, &limits).unwrap();
    let started = std::time::Instant::now();
    let error = exp.score(&record()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(error.to_string().starts_with(&format!("{}:6:", path.display())), "{error}");
    assert!(error.to_string().contains("ran longer than 0.5 s"), "{error}");
    assert!(error.to_string().contains("in objective \"grow\""), "{error}");
}

#[test]
fn an_exact_hypervolume_too_large_for_the_budget_stops_within_it_and_says_its_size() {
    // 2,000 points in 8-D: 54 s of native work that the engine's operation counter never sees.
    // Points on the simplex (coordinates summing to 1) so that none dominates another.
    let points = "let pts = []; for i in 0..2000 { let p = []; let sum = 0.0; for j in 0..8 { let u = ((i * 7919 + j * 104729 + i * j * 31) % 1000 + 1) * 1.0; p.push(u); sum += u; } for j in 0..8 { p[j] = p[j] / sum; } pts.push(p) }";
    // Built once when the script is compiled; the objective's call is the hypervolume alone.
    let body = "|r| hypervolume(pts, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])";
    let dir = temp_dir("hv-budget");
    let path = dir.join("exp.rhai");
    std::fs::write(&path, format!("{HEAD}{points}\nexp.objective(\"hv\", \"max\", {body});\n")).unwrap();

    // Through the real binary: the dry run's objective call stops at the default budget of 5 s.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xnas"))
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{}:7:", path.display())), "{stderr}");
    assert!(
        stderr.contains("hypervolume: 2000 points in 8 objectives did not finish within the call's time budget of 5 s"),
        "{stderr}"
    );

    // With a very small budget, the same call stops with the same error (and no timing is asserted:
    // without the deadline it would finish, late, with a number).
    let limits = Limits { max_call_time: Duration::from_millis(50), ..Limits::default() };
    let exp = compile_file_with(&path, &limits).unwrap();
    let error = exp.score(&record()).unwrap_err().to_string();
    assert!(error.contains("within the call's time budget of 0.05 s") && error.contains("non_dominated"), "{error}");
    assert!(error.contains("in objective \"hv\""), "{error}");
}

#[test]
fn overrides_set_keys_and_reject_unknown_ones() {
    let (_, exp) = compile_with_tail("exp.objective(\"acc\", \"max\", |r| r.val_accuracy);\n");
    let mut exp = exp.unwrap();
    let set = |k: &str, v: &str| (k.to_string(), v.to_string());
    exp.apply_overrides(&[
        set("search.population", "16"),
        set("training.epochs", "3"),
        set("dataset.val_subset", "70"),
    ])
    .unwrap();
    assert_eq!(exp.spec().search.population, 16);
    assert_eq!(exp.eval_config().epochs, 3);
    assert_eq!(exp.eval_config().val_subset, Some(70), "dataset settings reach the training config");
    let error = exp.apply_overrides(&[set("search.populaton", "16")]).unwrap_err();
    let ScriptError::UnknownKey { valid, .. } = &error else { panic!("{error}") };
    assert!(valid.contains(&"search.population".to_string()) && valid.contains(&"training.epochs".to_string()));
    assert!(error.to_string().contains("valid keys: name, reference_point, report_axes, dataset.data_dir"), "{error}");
    let error = exp.apply_overrides(&[set("training.epochs", "-1")]).unwrap_err();
    assert!(error.to_string().contains("training.epochs"), "{error}");
    let error = exp.apply_overrides(&[set("training.channels", "8")]).unwrap_err();
    assert!(matches!(error, ScriptError::UnknownKey { .. }), "space settings are not training settings: {error}");
    assert!(script::parse_override("search.population").is_err());
    // In a script, an unknown key is reported at its line, with the valid keys.
    let (path, compiled) = compile_with_tail("exp.training(#{ epoch: 2 });\n");
    let error = compiled.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("{}:6:5: unknown setting \"epoch\" in training; valid keys:", path.display())),
        "{error}"
    );
    assert!(error.contains("epochs") && error.contains("regularizer"), "{error}");
}

#[test]
fn stdlib_modules_import_and_report_errors_in_their_own_file() {
    let dir = temp_dir("stdlib");
    let path = dir.join("exp.rhai");
    std::fs::write(
        &path,
        format!(
            "import \"xnas/objectives\" as objectives;\nimport \"xnas/presets\" as presets;\nimport \"xnas/repairs\" as repairs;\n\
             {HEAD}exp.training(presets::training(\"cifar10\"));\nexp.objective(\"acc\", \"max\", objectives::accuracy());\n\
             exp.objective(\"intro\", \"max\", objectives::plain());\nexp.repair(repairs::resample_zeroize());\n"
        ),
    )
    .unwrap();
    let exp = compile_file(&path).unwrap();
    assert_eq!(exp.eval_config().epochs, 12);
    let r = record();
    assert_eq!(
        exp.score(&r).unwrap(),
        vec![r.val_accuracy.unwrap(), introspect::introspectability(&r.class_distance).unwrap()]
    );
    let broken: Genome = "333333".parse().unwrap();
    let repaired = exp.repair(broken).unwrap().expect("resample_zeroize repairs every cell");
    assert!(repaired.is_valid() && !repaired.0.contains(&xnas::space::Op::Zeroize));
    assert_eq!(exp.repair(broken).unwrap(), Some(repaired), "repairs are deterministic");
    assert!(exp.sources().iter().any(|s| s.name == "stdlib/repairs.rhai"));

    // An error raised inside a built-in module points into it, with the call that led there.
    std::fs::write(
        &path,
        format!("import \"xnas/presets\" as presets;\n{HEAD}exp.training(presets::training(\"svhn\"));\n"),
    )
    .unwrap();
    let error = compile_file(&path).unwrap_err().to_string();
    assert!(
        error.starts_with("stdlib/presets.rhai:") && error.contains("no paper setting for dataset \"svhn\""),
        "{error}"
    );
    assert!(error.contains(&format!("called at {}:7:", path.display())), "{error}");
    std::fs::write(&path, format!("import \"xnas/nope\" as nope;\n{HEAD}")).unwrap();
    let error = compile_file(&path).unwrap_err().to_string();
    assert!(error.contains("\"xnas/objectives\", \"xnas/presets\", \"xnas/repairs\""), "{error}");
}

#[test]
fn user_modules_keep_their_environment() {
    let dir = temp_dir("user");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    // A module importing another module relative to itself, with a private helper its closure uses.
    std::fs::write(dir.join("lib/scale.rhai"), "fn factor() { 2.0 }\n").unwrap();
    std::fs::write(
        dir.join("lib/mine.rhai"),
        "import \"scale\" as scale;\nprivate fn half(x) { x / scale::factor() }\nfn halved_accuracy() { |r| half(r.val_accuracy) }\nfn broken() { |r| r.val_accuracy + missing_fn() }\n",
    )
    .unwrap();
    let path = dir.join("exp.rhai");
    std::fs::write(&path, format!("import \"lib/mine\" as mine;\n{HEAD}exp.objective(\"half\", \"max\", mine::halved_accuracy());\nexp.objective(\"twice\", \"max\", |r| r.val_accuracy * mine::scale::factor());\n")).unwrap();
    let exp = compile_file(&path).unwrap();
    let r = record();
    let acc = r.val_accuracy.unwrap();
    assert_eq!(exp.score(&r).unwrap(), vec![acc / 2.0, acc * 2.0]);
    let names: Vec<&str> = exp.sources().iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.iter().any(|n| n.ends_with("lib/mine.rhai")) && names.iter().any(|n| n.ends_with("lib/scale.rhai")),
        "{names:?}"
    );
    // An error in a module's closure names the module file and line.
    std::fs::write(
        &path,
        format!("import \"lib/mine\" as mine;\n{HEAD}exp.objective(\"b\", \"max\", mine::broken());\n"),
    )
    .unwrap();
    let error = check(&compile_file(&path).unwrap()).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("{}:4:", dir.join("lib/mine.rhai").display())) && error.contains("missing_fn"),
        "{error}"
    );
}

/// What a script may reach: built-in modules and `.rhai` files in its own folder or below it.
/// Absolute paths, `..` out of the folder, links out of it and `eval` are refused where the script
/// names them, by `xnas check` too; a stored version that imported from outside (stored by an xnas
/// without the rule) still compiles from its stored texts, so old runs resume.
#[test]
fn a_script_reaches_only_its_own_folder_and_cannot_eval() {
    let root = temp_dir("reach");
    let (dir, outside) = (root.join("exp"), root.join("shared"));
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("far.rhai"), "fn two() { 2.0 }\n").unwrap();
    std::fs::write(dir.join("near.rhai"), "fn two() { 2.0 }\n").unwrap();
    // Within the folder, `..` from a subfolder's module is fine.
    std::fs::write(dir.join("lib/up.rhai"), "import \"../near\" as near;\nfn two() { near::two() }\n").unwrap();
    std::os::unix::fs::symlink(outside.join("far.rhai"), dir.join("link.rhai")).unwrap();
    let path = dir.join("exp.rhai");
    let with_import = |import: &str| {
        std::fs::write(&path, format!("import {import:?} as m;\n{HEAD}exp.objective(\"a\", \"max\", |r| m::two());\n"))
            .unwrap();
        compile_file(&path)
    };
    assert!(with_import("near").is_ok());
    assert!(with_import("lib/up").is_ok(), "`..` that stays in the folder");
    let far = outside.join("far.rhai");
    for (import, why) in [
        (far.to_str().unwrap(), "an absolute path"),
        ("../shared/far", "is outside the main script's folder"),
        ("lib/../../shared/far", "is outside the main script's folder"),
        ("link", "is a symbolic link to"),
    ] {
        let error = with_import(import).unwrap_err().to_string();
        assert!(error.starts_with(&format!("{}:1:", path.display())), "at the import: {error}");
        assert!(error.contains(&format!("cannot import {import:?}")) && error.contains(why), "{import}: {error}");
        assert!(error.contains("in its own folder or below it"), "the rule is stated: {error}");
    }
    // From inside a module, too: the error names the module's line.
    std::fs::write(dir.join("lib/escape.rhai"), "fn x() { 1 }\nimport \"../../shared/far\" as far;\n").unwrap();
    let error = with_import("lib/escape").unwrap_err().to_string();
    assert!(error.contains("escape.rhai:2:") && error.contains("outside the main script's folder"), "{error}");

    let (eval_path, error) = compile_with_tail("let x = eval(\"40 + 2\");\nexp.objective(\"a\", \"max\", |r| x);\n");
    let error = error.unwrap_err().to_string();
    assert!(error.starts_with(&format!("{}:6:9:", eval_path.display())), "{error}");
    assert!(error.contains("`eval` is not available to scripts"), "{error}");
    let error = compile_with_tail("exp.objective(\"a\", \"max\", |r| Fn(\"eval\").call(\"1\"));\n").1;
    assert!(error.is_err() || check(&error.unwrap()).is_err(), "no eval through a function pointer either");

    // Through the real binary: `xnas check` refuses the same way.
    std::fs::write(&path, format!("import {:?} as m;\n{HEAD}exp.objective(\"a\", \"max\", |r| m::two());\n", far))
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xnas")).arg("check").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("an absolute path"), "{stderr}");

    // A stored version that imported from outside still compiles from its stored texts.
    std::fs::write(
        &path,
        format!("import \"../shared/far\" as m;\n{HEAD}exp.objective(\"a\", \"max\", |r| m::two());\n"),
    )
    .unwrap();
    let stored = [
        script::SourceFile {
            name: path.display().to_string(),
            path: Some(path.clone()),
            text: std::fs::read_to_string(&path).unwrap(),
        },
        script::SourceFile {
            name: dir.join("../shared/far.rhai").display().to_string(),
            path: Some(dir.join("../shared/far.rhai")),
            text: "fn two() { 2.0 }\n".into(),
        },
    ];
    std::fs::remove_dir_all(&outside).unwrap();
    let exp = script::compile_stored(&path, &stored, &Limits::default()).unwrap();
    assert_eq!(exp.score(&record()).unwrap(), vec![2.0]);
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn score_functions_match_the_library() {
    let wordnet = xnas::wordnet::WordNet::open(None).expect("WordNet 3.0 is installed (scripts/setup.sh)");
    let labels =
        xnas::wordnet::LabelSynsets::for_dataset(&wordnet, xnas::datasets::DatasetName::FashionMnist, None, &[])
            .unwrap();
    let similarity = labels.similarity_matrix(&wordnet).unwrap();
    let r = record();
    let omega = xnas::introspect::PairWeights::Pairs(vec![xnas::introspect::PairWeight { a: 3, b: 5, weight: 25.0 }])
        .dense(10)
        .unwrap();
    let (_, exp) = compile_with_tail(
        "exp.objective(\"plain\", \"max\", |r| introspectability(r.class_distance));\n\
         exp.objective(\"wordnet\", \"max\", |r| wordnet_introspectability(r));\n\
         exp.objective(\"pairwise\", \"max\", |r| weighted_introspectability(r, [[3, 5, 25.0]]));\n\
         exp.objective(\"ones\", \"max\", |r| weighted_introspectability(r, []));\n",
    );
    let values = exp.unwrap().score(&r).unwrap();
    let d = &r.class_distance;
    assert_eq!(values[0], introspect::introspectability(d).unwrap());
    assert_eq!(values[1], introspect::wordnet_introspectability(d, &similarity).unwrap());
    assert_eq!(values[2], introspect::weighted_introspectability(d, &omega).unwrap());
    assert_eq!(values[3], values[0], "eq. 5 with ω = 1 is eq. 1");
    assert_ne!(values[1], values[0]);
}

#[test]
fn primitives_match_hand_computed_values() {
    // Each objective evaluates one primitive; the record is unused.
    let (_, exp) = compile_with_tail(
        "exp.objective(\"hv\", \"max\", |r| hypervolume([[1, 2], [2, 1]], [3, 3]));\n\
         exp.objective(\"hv_max\", \"max\", |r| hypervolume([[0.9, 0.5], [0.6, 0.8]], [0.0, 0.1], [\"max\", \"max\"]));\n\
         exp.objective(\"dom\", \"max\", |r| if dominates([0.9, 0.3], [0.8, 0.3], [\"max\", \"max\"]) && !dominates([1, 2], [2, 1]) { 1 } else { 0 });\n\
         exp.objective(\"fronts\", \"max\", |r| { let f = non_dominated_sort([[1, 1], [2, 2], [0, 3], [3, 3]]); f.len() * 10 + f[0].len() });\n\
         exp.objective(\"crowd\", \"max\", |r| crowding_distance([[0, 4], [1, 2], [4, 0]])[1]);\n\
         exp.objective(\"sim\", \"max\", |r| path_similarity(\"dog.n.01\", \"cat.n.01\"));\n\
         exp.objective(\"params\", \"max\", |r| params(genome(\"000000\"), #{}));\n\
         exp.objective(\"codes\", \"max\", |r| { let g = genome(\"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\"); if g.compact == \"002404\" && g.is_valid() && !genome(\"333333\").is_valid() { g.index } else { -1 } });\n\
         exp.reference_point([0, 0, 0, 0, 0, 0, 0, 0]);\n",
    );
    let values = exp.unwrap().score(&record()).unwrap();
    assert_eq!(values[0], 3.0);
    assert!((values[1] - (0.9 * 0.4 + 0.6 * 0.3)).abs() < 1e-12);
    assert_eq!(values[2], 1.0);
    // Fronts {0,2}, {1}, {3}: 3 fronts, 2 points in the first.
    assert_eq!(values[3], 32.0);
    // Middle point: ((4 − 0)/4 + (4 − 0)/4) / 2 objectives = 1 (pymoo divides by the objectives).
    assert_eq!(values[4], 1.0);
    assert_eq!(values[5], 0.2);
    // NAS-Bench-201's largest CIFAR-10 network (all conv3x3): 1.53 M parameters.
    assert_eq!(values[6], xnas::space::params(&"000000".parse().unwrap(), &xnas::space::MacroConfig::default()) as f64);
    // Codes 0 0 2 4 0 4 read in base 5.
    assert_eq!(values[7], (2 * 125 + 4 * 25 + 4) as f64);
}

#[test]
fn repairs_and_callbacks_are_checked() {
    let (path, error) = check_tail("exp.objective(\"a\", \"max\", |r| r.val_accuracy);\nexp.repair(|g| \"000000\");\n");
    assert!(
        error.to_string().starts_with(&format!("{}:7:5: the repair function returned string", path.display())),
        "{error}"
    );
    let (_, error) = check_tail(
        "exp.space(#{ ops: [\"nor_conv_3x3\", \"skip_connect\", \"none\"] });\nexp.objective(\"a\", \"max\", |r| r.val_accuracy);\nexp.repair(|g| g.with_op(0, \"avg_pool_3x3\"));\n",
    );
    assert!(error.to_string().contains("which space.ops does not allow"), "{error}");
    let (_, exp) = compile_with_tail(
        "exp.objective(\"a\", \"max\", |r| r.val_accuracy);\nexp.on_generation(|s| if s.generation >= 1 && s.population.len() > 0 { \"stop\" } else { () });\n",
    );
    let report = check(&exp.unwrap()).unwrap();
    assert_eq!(report.callback, Some(script::CallbackOutcome::Stop));
    let (_, error) =
        check_tail("exp.objective(\"a\", \"max\", |r| r.val_accuracy);\nexp.on_generation(|s| s.no_such_field);\n");
    assert!(error.to_string().contains("in the on_generation callback"), "{error}");
}

#[test]
fn experiments_need_the_essentials() {
    let path = temp_dir("essentials").join("exp.rhai");
    std::fs::write(&path, "let x = 1;\n").unwrap();
    assert!(compile_file(&path).unwrap_err().to_string().contains("declares no experiment"));
    let (_, compiled) = compile_with_tail("");
    assert!(compiled.unwrap_err().to_string().contains("no objective"));
    let (_, compiled) = compile_with_tail("exp.objective(\"loss\", \"min\", |r| r.val_loss);\n");
    assert!(compiled.unwrap_err().to_string().contains("no default hypervolume reference point"));
    let (_, compiled) = compile_with_tail(
        "exp.objective(\"acc\", \"max\", |r| r.val_accuracy);\nexp.search(#{ generations: (), evaluations: () });\n",
    );
    let error = compiled.unwrap_err().to_string();
    assert!(error.contains(":7:5:") && error.contains("no budget"), "reported at the search call: {error}");
    let (_, compiled) = compile_with_tail("exp.objective(\"acc\", \"max\", |r| r.val_accuracy);\nexp.objective(\"intro\", \"max\", |r| r.introspectability);\n");
    let mut exp = compiled.unwrap();
    assert_eq!(exp.spec().reference_point, vec![0.1, 0.0], "the paper's default reference point");
    exp.apply_overrides(&[("dataset.name".into(), "imagenet16-120".into())]).unwrap();
    assert_eq!(exp.spec().reference_point, vec![1.0 / 120.0, 0.0], "the default follows the dataset");
    assert_eq!(exp.eval_config().dataset, xnas::datasets::DatasetName::ImageNet16_120);
}

#[test]
fn api_docs_are_current() {
    let generated = script::api_reference();
    let path = repo().join("docs/script-api.md");
    if std::env::var_os("XNAS_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/script-api.md is stale; regenerate it with \
         `XNAS_UPDATE_DOCS=1 cargo test --no-default-features --test integration api_docs`"
    );
    for name in ["experiment", "objective", "hypervolume", "wordnet_introspectability", "genome", "presets::training"] {
        assert!(generated.contains(name), "{name} is missing from the reference");
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn watcher_reloads_good_edits_and_keeps_the_last_good_version() {
    let dir = temp_dir("watch");
    let path = dir.join("exp.rhai");
    write(&dir.join("weights.rhai"), "fn w() { 1.0 }\n");
    let objective =
        |body: &str| format!("import \"weights\" as weights;\n{HEAD}exp.objective(\"acc\", \"max\", |r| {body});\n");
    write(&path, &objective("r.val_accuracy"));
    let first = compile_file(&path).unwrap();
    let mut watcher = ScriptWatcher::new(&path, first, vec![]).unwrap();
    watcher.set_settle(Duration::from_millis(50));
    assert!(watcher.poll().is_none());
    let r = record();
    let wait = Duration::from_secs(20);

    // An objective edit: re-score, no retraining.
    write(&path, &objective("r.val_accuracy * weights::w()"));
    let reload = watcher.wait(wait).expect("the edit is noticed").expect("the edit compiles");
    assert!(reload.diff.needs_rescoring() && !reload.diff.needs_training(), "{}", reload.diff);

    // An edit in an imported module is noticed too.
    write(&dir.join("weights.rhai"), "fn w() { 0.5 }\n");
    let reload = watcher.wait(wait).expect("the module edit is noticed").unwrap();
    assert_eq!(reload.experiment.score(&r).unwrap(), vec![r.val_accuracy.unwrap() * 0.5]);

    // A training edit needs new evaluations.
    write(&path, &objective("r.val_accuracy * weights::w()").replace("epochs: 1", "epochs: 2"));
    let reload = watcher.wait(wait).unwrap().unwrap();
    assert!(reload.diff.needs_training(), "{}", reload.diff);
    assert!(reload.diff.to_string().contains("training.epochs: 1 → 2"), "{}", reload.diff);

    // A broken edit is reported once, with its position, and the last good version stays.
    write(&path, &objective("r.val_accuracy +"));
    let error = watcher.wait(wait).expect("the broken edit is noticed").expect_err("it does not compile");
    assert!(error.to_string().starts_with(&format!("{}:7:", path.display())), "{error}");
    assert_eq!(watcher.current().eval_config().epochs, 2);
    assert!(watcher.wait(Duration::from_millis(400)).is_none(), "the same broken text is not reported again");
    // A dry-run failure (NaN) is rejected the same way.
    write(&path, &objective("0.0 / 0.0"));
    let error = watcher.wait(wait).unwrap().unwrap_err();
    assert!(matches!(error, ScriptError::Objective { .. }), "{error}");
    assert_eq!(watcher.current().score(&r).unwrap(), vec![r.val_accuracy.unwrap() * 0.5]);
}
