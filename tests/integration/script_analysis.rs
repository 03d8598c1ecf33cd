//! The search analyses scripts can call (`spearman`, `motifs`, `discover_motifs`, the group
//! statistics `wilcoxon`, `attainment_surfaces`, …): each against `xnas-analysis` on the same
//! numbers and against values worked out by hand; bad input fails
//! naming the function and the script position; the `analysis_callback` example keeps its state
//! across generations and stops once the front's leading motif settles.

use std::path::PathBuf;

use xnas::script::{compile_file, CallbackOutcome, GenerationStats, MemberStats, ScriptError};
use xnas::space::Genome;
use xnas_analysis::DiscoveryOptions;

use crate::script::{temp_dir, HEAD};

fn write_script(tail: &str) -> (PathBuf, Result<xnas::script::Experiment, ScriptError>) {
    let path = temp_dir("script").join("exp.rhai");
    std::fs::write(&path, format!("{HEAD}{tail}")).unwrap();
    let compiled = compile_file(&path);
    (path, compiled)
}

/// Evaluates each Rhai expression as an objective on a synthetic record and returns the values.
/// An expression may `throw` what it got instead of a number, so a mismatch shows in the panic.
fn evaluate(expressions: &[&str]) -> Vec<f64> {
    let mut tail = String::new();
    for (i, expression) in expressions.iter().enumerate() {
        tail += &format!("exp.objective(\"v{i}\", \"max\", |r| {expression});\n");
    }
    tail += &format!("exp.reference_point([{}]);\n", vec!["0"; expressions.len()].join(", "));
    let (_, compiled) = write_script(&tail);
    let exp = compiled.unwrap_or_else(|e| panic!("{e}"));
    let record = xnas::record::synthetic_record(&exp.eval_config().clone(), &"002404".parse().unwrap());
    exp.score(&record).unwrap_or_else(|e| panic!("{e}"))
}

/// 1 when the Rhai expression `got` (a string) equals `expected`; throws `got` otherwise.
fn equals_text(got: &str, expected: &str) -> String {
    format!("{{ let got = {got}; if got == {expected:?} {{ 1 }} else {{ throw `got ${{got}}` }} }}")
}

/// The error of a script whose line 6 is `line`.
fn error_of(line: &str) -> (PathBuf, String) {
    let (path, compiled) = write_script(&format!("{line}\nexp.objective(\"a\", \"max\", |r| r.val_accuracy);\n"));
    let error = compiled.expect_err("the script should fail");
    assert!(matches!(error, ScriptError::Runtime { .. }), "{error}");
    (path, error.to_string())
}

/// The Rhai expression joining the strings of the array `array` with commas.
fn joined(array: &str) -> String {
    format!("{array}.reduce(|text, item| if text == \"\" {{ item }} else {{ text + \",\" + item }}, \"\")")
}

fn genomes(compact: &[&str]) -> Vec<Genome> {
    compact.iter().map(|c| c.parse().unwrap()).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

const X: &str = "[0.12, 0.55, 0.31, 0.9, 0.47, 0.47, 0.05]";
const Y: &str = "[3, 8, 2, 9, 6, 5, 1]";

#[test]
fn statistics_match_the_library() {
    let x = [0.12, 0.55, 0.31, 0.9, 0.47, 0.47, 0.05];
    let y = [3.0, 8.0, 2.0, 9.0, 6.0, 5.0, 1.0];
    let values = evaluate(&[
        &format!("spearman({X}, {Y}).rho"),
        &format!("spearman({X}, {Y}).p_value"),
        &format!("spearman({X}, {Y}).n"),
        &format!("pearson({X}, {Y}).rho"),
        &format!("pearson({X}, {Y}).p_value"),
        &format!("mean_interval({X}).mean"),
        &format!("mean_interval({X}).low"),
        &format!("mean_interval({X}).high"),
        &format!("median({Y})"),
    ]);
    let spearman = xnas_analysis::spearman(&x, &y).unwrap();
    let pearson = xnas_analysis::pearson(&x, &y).unwrap();
    let interval = xnas_analysis::mean_confidence_interval(&x, 0.95).unwrap();
    assert_eq!(values[0], spearman.coefficient);
    assert_eq!(values[1], spearman.p_value.unwrap());
    assert_eq!(values[2], 7.0);
    assert_eq!(values[3], pearson.coefficient);
    assert_eq!(values[4], pearson.p_value.unwrap());
    assert_eq!(values[5], xnas_analysis::mean(&x).unwrap());
    assert_eq!((values[6], values[7]), (interval.low, interval.high));
    assert_eq!(values[8], xnas_analysis::median(&y).unwrap());
}

#[test]
fn statistics_match_hand_computed_values() {
    let values = evaluate(&[
        // Ranks of y: 1 2 4 3, so Σd² = 2 and ρ = 1 − 6·2 / (4·15) = 0.8; with n − 2 = 2 degrees of
        // freedom the t test's two-sided p-value is 1 − |ρ| = 0.2.
        "spearman([1, 2, 3, 4], [10, 20, 40, 30]).rho",
        "spearman([1, 2, 3, 4], [10, 20, 40, 30]).p_value",
        // Ties share their average rank: x ranks 1 2.5 2.5 4, y ranks 1 2 3 4.
        "spearman([1, 2, 2, 3], [1, 2, 3, 4]).rho",
        "pearson([1, 2, 3], [2, 4, 6]).rho",
        "pearson([1, 2, 3], [2, 4, 6]).p_value",
        // Two points: no degrees of freedom, no p-value.
        "if type_of(pearson([1, 2], [3, 5]).p_value) == \"()\" { 1 } else { 0 }",
        // mean 2, s/√n = 1/√3, t(0.975, 2) = 4.302652729911275.
        "mean_interval([1, 2, 3]).mean",
        "mean_interval([1, 2, 3]).low",
        "mean_interval([1, 2, 3]).high",
        "mean_interval([5, 5, 5]).high - mean_interval([5, 5, 5]).low",
        "median([3, 1, 4, 1])",
        "median([3, 1.5, 4])",
    ]);
    assert!(close(values[0], 0.8), "{}", values[0]);
    assert!(close(values[1], 0.2), "{}", values[1]);
    // Pearson of (−1.5, 0, 0, 1.5) and (−1.5, −0.5, 0.5, 1.5): 4.5 / √(4.5 · 5).
    assert!(close(values[2], 4.5 / (4.5f64 * 5.0).sqrt()), "{}", values[2]);
    assert_eq!((values[3], values[4], values[5]), (1.0, 0.0, 1.0));
    let half_width = 4.302652729911275 / 3f64.sqrt();
    assert_eq!(values[6], 2.0);
    assert!((values[7] - (2.0 - half_width)).abs() < 1e-9, "{}", values[7]);
    assert!((values[8] - (2.0 + half_width)).abs() < 1e-9, "{}", values[8]);
    assert_eq!(values[9], 0.0);
    assert_eq!((values[10], values[11]), (2.0, 3.0));
}

#[test]
fn operators_match_the_library_and_hand_counts() {
    let front = [
        "012340",
        "000000",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    ];
    let script_front = format!("[{:?}, genome({:?}), {:?}]", front[0], front[1], front[2]);
    let rows = xnas_analysis::operator_frequencies(&genomes(&front)).unwrap();
    let expected_ops: Vec<&str> = rows.iter().map(|r| r.op.nb201_name()).collect();
    let values = evaluate(&[
        &format!("operator_frequencies({script_front})[0].count"),
        &format!("operator_frequencies({script_front})[0].frequency"),
        &format!("operator_frequencies({script_front})[0].code"),
        &format!("operator_frequencies({script_front}).map(|r| r.frequency).reduce(|sum, f| sum + f, 0.0)"),
        &equals_text(
            &joined(&format!("operator_frequencies({script_front}).map(|r| r.op)")),
            &expected_ops.join(","),
        ),
        "conv_edges(genome(\"012340\"))",
        "conv_edges(\"012340\")",
        "pooling_edges(genome(\"222334\"))",
        "pooling_edges(\"012340\")",
        "conv_edges(\"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\")",
    ]);
    // 012340 + 000000 + 002404: op 0 on 2 + 6 + 3 = 11 of 18 edges.
    assert_eq!((values[0], values[1], values[2]), (11.0, 11.0 / 18.0, 0.0));
    assert_eq!((rows[0].count as f64, rows[0].frequency), (values[0], values[1]));
    assert!(close(values[3], 1.0));
    assert_eq!(values[4], 1.0);
    assert_eq!(values[5..], [3.0, 3.0, 3.0, 1.0, 3.0]);
}

#[test]
fn motifs_match_the_library_and_the_hand_worked_front() {
    // The library's own hand-worked front: [0 * * * * *] is held by the first three cells, and
    // size 2 ties between [0 * * * * 0] and [0 * * 3 * *].
    let front = ["000000", "012340", "033333", "444443"];
    let script_front = format!("{front:?}");
    let all: Vec<String> = xnas_analysis::motif_supports(&genomes(&front), 2)
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s.motif, s.support))
        .collect();
    let values = evaluate(&[
        &equals_text(&joined(&format!("top_motifs({script_front}, 1).map(|m| m.motif)")), "[0 * * * * *]"),
        &format!("top_motifs({script_front}, 1)[0].support"),
        &format!("top_motifs({script_front}, 1)[0].frequency"),
        &equals_text(&format!("`${{top_motifs({script_front}, 1)[0].holders}}`"), "[0, 1, 2]"),
        &equals_text(
            &joined(&format!("top_motifs({script_front}, 2).map(|m| m.motif)")),
            "[0 * * * * 0],[0 * * 3 * *]",
        ),
        &equals_text(
            &joined(&format!("motifs({script_front}, 2).map(|m| `${{m.motif}} ${{m.support}}`)")),
            &all.join(","),
        ),
        &format!("motifs({script_front}, 6).len()"),
        "motifs([\"000000\", \"012340\"], 1).len()",
    ]);
    assert_eq!(values[..5], [1.0, 3.0, 0.75, 1.0, 1.0]);
    assert_eq!(values[5], 1.0);
    // Size 6 motifs are the four whole cells; two cells share 2 of their 6 + 6 size-1 motifs.
    assert_eq!((values[6], values[7]), (4.0, 10.0));
}

#[test]
fn motif_discovery_matches_the_library() {
    // A front from the introspectable end to the accurate end: convolutions grow with accuracy.
    let front = ["333334", "233334", "223304", "203004", "200004", "100000", "000000", "000010"];
    let accuracy = [0.50, 0.55, 0.61, 0.70, 0.74, 0.80, 0.86, 0.88];
    let introspectability = [0.90, 0.85, 0.71, 0.60, 0.52, 0.40, 0.31, 0.20];
    let found =
        xnas_analysis::discover_motifs(&genomes(&front), &accuracy, &introspectability, &DiscoveryOptions::default())
            .unwrap();
    assert!(!found.retained.is_empty(), "the front should have retained patterns: {found:?}");
    let expected: Vec<String> = found
        .retained
        .iter()
        .map(|s| format!("{} {} {} {} {:?}", s.pattern, s.rho, s.support, s.size, s.holders))
        .collect();
    let call = format!("discover_motifs({front:?}, {accuracy:?}, {introspectability:?})");
    let values = evaluate(&[
        &equals_text(
            &joined(&format!(
                "{call}.retained.map(|p| `${{p.pattern}} ${{p.rho}} ${{p.support}} ${{p.size}} ${{p.holders}}`)"
            )),
            &expected.join(","),
        ),
        &equals_text(&format!("`${{{call}.unexplained}}`"), &format!("{:?}", found.unexplained)),
        &format!("{call}.retained[0].rho"),
        &format!("{call}.retained.len()"),
    ]);
    assert_eq!(values[..2], [1.0, 1.0]);
    assert_eq!(values[2], found.retained[0].rho);
    assert_eq!(values[3], found.retained.len() as f64);
    // Step 7's thresholds hold for what the script sees.
    assert!(found.retained.iter().all(|s| s.support >= 3 && s.rho.abs() >= 0.2));
}

#[test]
fn group_statistics_match_the_library_and_hand_computed_values() {
    let (a, b) = ([0.61, 0.64, 0.70, 0.52, 0.66], [0.58, 0.60, 0.66, 0.55, 0.59]);
    let (script_a, script_b) = (format!("{a:?}"), format!("{b:?}"));
    let fronts = "[[[1, 3], [3, 1]], [[2, 2]], [[4, 4]]]";
    let values = evaluate(&[
        &format!("summary({script_a}).std_dev"),
        &format!("summary({script_a}).low"),
        "if type_of(summary([2]).std_dev) == \"()\" && summary([2]).n == 1 { 1 } else { 0 }",
        &format!("wilcoxon({script_a}, {script_b}).statistic"),
        &format!("wilcoxon({script_a}, {script_b}).p_value"),
        &format!("mann_whitney({script_a}, {script_b}).p_value"),
        &format!("bootstrap_difference({script_a}, {script_b}, true, 3).low"),
        &format!("bootstrap_difference({script_a}, {script_b}, false, 3).high"),
        // U of [1, 2, 3] against [4, 5, 6] is 0, the most extreme of C(6, 3) = 20 placements: p = 2/20.
        "mann_whitney([1, 2, 3], [4, 5, 6]).p_value",
        &equals_text("mann_whitney([1, 2, 3], [4, 5, 6]).method", "exact"),
        // Three positive differences: R⁺ = 6 is one of 2³ sign patterns, two-sided p = 2/8.
        "wilcoxon([0.61, 0.64, 0.70], [0.58, 0.60, 0.66]).p_value",
        // The hand-drawn fronts of crates/analysis's attainment tests: median (level 2 of 3) corners.
        &equals_text(
            &format!("`${{attainment_surfaces({fronts}, [\"min\", \"min\"], [50])[0].points}}`"),
            "[[2.0, 3.0], [3.0, 2.0]]",
        ),
        &format!("attainment_surfaces({fronts}, [\"min\", \"min\"], [100, 0])[1].level"),
        &equals_text(
            "`${attainment_surfaces([[[0.9, 0.1]], [[0.8, 0.3]]], [\"max\", \"max\"], [100])[0].points}`",
            "[[0.8, 0.1]]",
        ),
        "attainment_difference([[[1, 3], [3, 1]]], [[[2, 2]]], [\"min\", \"min\"])[1].difference",
        &equals_text(
            "`${attainment_difference([[[1, 3], [3, 1]]], [[[2, 2]]], [\"min\", \"min\"])[1].point}`",
            "[2.0, 2.0]",
        ),
        // Short of (0.9, 0.2) by 0.1 and of (0.5, 0.6) by 0.2: the mean (crates/analysis's hand case).
        "igd_plus([[0.8, 0.4]], [[0.9, 0.2], [0.5, 0.6]], [\"max\", \"max\"])",
    ]);
    let summary = xnas_analysis::summarize(&a).unwrap();
    assert_eq!((values[0], values[1]), (summary.std_dev.unwrap(), summary.ci95.unwrap().low));
    assert_eq!(values[2], 1.0);
    let wilcoxon = xnas_analysis::wilcoxon_signed_rank(&a, &b).unwrap();
    assert_eq!((values[3], values[4]), (wilcoxon.statistic, wilcoxon.p_value));
    assert_eq!(values[5], xnas_analysis::mann_whitney_u(&a, &b).unwrap().p_value);
    use xnas_analysis::Pairing::{Independent, Paired};
    assert_eq!(values[6], xnas_analysis::bootstrap_mean_difference(&a, &b, Paired, 0.95, 10_000, 3).unwrap().low);
    assert_eq!(values[7], xnas_analysis::bootstrap_mean_difference(&a, &b, Independent, 0.95, 10_000, 3).unwrap().high);
    assert!(close(values[8], 0.1), "{}", values[8]);
    assert_eq!(values[9], 1.0);
    assert!(close(values[10], 0.25), "{}", values[10]);
    // Percentiles come back ascending: [100, 0] gives the worst surface second, level 3 of 3 fronts.
    assert_eq!((values[11], values[12], values[13]), (1.0, 3.0, 1.0));
    // (2, 2) is attained by the right front only.
    assert_eq!((values[14], values[15]), (-1.0, 1.0));
    assert!(close(values[16], 0.15), "{}", values[16]);
}

#[test]
fn bad_input_names_the_function_and_the_position() {
    let cases = [
        ("let v = spearman([1, 2, 3], [1, 2]);", 9, "spearman: y has 2 value(s) but 3 were expected"),
        ("let v = pearson([1, \"a\"], [1, 2]);", 9, "pearson: x: element 1 is string"),
        ("let v = spearman([1, 1, 1], [1, 2, 3]);", 9, "spearman: x is constant"),
        ("let v = mean_interval([4]);", 9, "mean_interval: values has 1 value(s) but needs at least 2"),
        ("let v = median([]);", 9, "median: values is empty"),
        ("let v = operator_frequencies([\"01234\"]);", 9, "operator_frequencies: genomes[0]:"),
        ("let v = operator_frequencies([\"000000\", 7]);", 9, "operator_frequencies: genomes[1] is i64"),
        ("let v = conv_edges(\"00000x\");", 9, "conv_edges:"),
        ("let v =   motifs([\"000000\"], 7);", 11, "motifs: motif size 7 is out of range"),
        ("let v = top_motifs([\"000000\"], -1);", 9, "top_motifs: motif size -1 is negative"),
        ("let v = top_motifs([], 2);", 9, "top_motifs: genomes is empty"),
        ("let v = wilcoxon([1, 2], [1]);", 9, "wilcoxon: y has 1 value(s) but 2 were expected"),
        ("let v = mann_whitney([], [1]);", 9, "mann_whitney: x is empty"),
        ("let v = bootstrap_difference([1, 2], [1], true, 0);", 9, "bootstrap_difference: y has 1 value(s) but 2"),
        (
            "let v = attainment_surfaces([[[1, 2, 3]]], [\"min\", \"min\"], [50]);",
            9,
            "attainment_surfaces: fronts[0] has points of 3 values; attainment needs two axes",
        ),
        (
            "let v = attainment_surfaces([[[1, 2]]], [\"min\"], [50]);",
            9,
            "attainment_surfaces: directions has 1 entries; give two",
        ),
        (
            "let v = attainment_surfaces([[[1, 2]]], [\"min\", \"min\"], [150]);",
            9,
            "attainment_surfaces: percentile 150 is not between 0 and 100",
        ),
        (
            "let v = attainment_difference([[[1, 2]]], [[]], [\"min\", \"min\"]);",
            9,
            "attainment_difference: right[0] is empty",
        ),
        (
            "let v = igd_plus([[1, 2]], [[1, 2, 3]], [\"max\", \"max\"]);",
            9,
            "igd_plus: reference has points of 3 values; IGD+ needs two axes",
        ),
        (
            "let v = discover_motifs([\"000000\", \"111111\"], [0.5, 0.6], [0.2]);",
            9,
            "discover_motifs: introspectability has 1 value(s) but 2 were expected",
        ),
    ];
    for (line, column, message) in cases {
        let (path, error) = error_of(line);
        let at = format!("{}:6:{column}: {message}", path.display());
        assert!(error.starts_with(&at), "{line}\n  expected: {at}\n  got:      {error}");
    }
    // Inside a closure called later, the position is the call in the closure.
    let (path, compiled) = write_script("exp.objective(\"a\", \"max\", |r| median([r.val_accuracy, ()]));\n");
    let error = xnas::script::check(&compiled.unwrap()).unwrap_err().to_string();
    assert!(error.starts_with(&format!("{}:6:31: median: values: element 1 is ()", path.display())), "{error}");
}

fn member(id: u64, compact: &str, accuracy: f64, introspectability: f64) -> MemberStats {
    let genome: Genome = compact.parse().unwrap();
    MemberStats {
        id,
        genome: genome.arch_string(),
        compact: compact.to_string(),
        objectives: vec![accuracy, introspectability],
        rank: 0,
    }
}

fn generation(number: u64, front: Vec<MemberStats>) -> GenerationStats {
    GenerationStats {
        generation: number,
        evaluations: 8 * number as usize,
        failed: 0,
        hypervolume: Some(0.1),
        objectives: vec!["accuracy".into(), "introspectability".into()],
        population: front.clone(),
        front,
        elapsed_seconds: 1.0,
    }
}

#[test]
fn the_analysis_callback_stops_once_the_leading_motif_settles() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/scripts/analysis_callback.rhai");
    let exp = compile_file(&path).unwrap();
    // [0 * * * * *] leads on both fronts; on the third, [* * * * * 4] does.
    let conv_front =
        || vec![member(1, "000004", 0.9, 0.2), member(2, "012340", 0.8, 0.4), member(3, "002404", 0.7, 0.5)];
    let skip_front = vec![member(4, "444444", 0.6, 0.6), member(5, "344444", 0.5, 0.7), member(6, "000004", 0.9, 0.2)];
    let outcomes: Vec<CallbackOutcome> =
        [conv_front(), conv_front(), skip_front, conv_front(), conv_front(), conv_front()]
            .into_iter()
            .enumerate()
            .map(|(i, front)| exp.on_generation(&generation(i as u64 + 1, front)).unwrap())
            .collect();
    use CallbackOutcome::{Continue, Stop};
    assert_eq!(outcomes, [Continue, Continue, Continue, Continue, Continue, Stop]);
    // A front of one cell has no correlation to print, and the callback still runs.
    let exp = compile_file(&path).unwrap();
    assert_eq!(exp.on_generation(&generation(1, vec![member(1, "000000", 0.9, 0.1)])).unwrap(), Continue);
}
