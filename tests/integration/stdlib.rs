//! The built-in script modules (`stdlib/`) against computations written out here by hand.

use xnas::record::synthetic_record;
use xnas::record::EvalConfig;
use xnas::script::compile_file;

/// Eq. 3–4 with explicit pair weights, written out: Σ_{c<k} D·w / #pairs, with w normalised by
/// its mean over all label pairs c < k.
fn normalised_weighted_mean(d: &[Vec<Option<f64>>], weights: &[Vec<f64>]) -> f64 {
    let n = d.len();
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|c| (c + 1..n).map(move |k| (c, k))).collect();
    let mean_weight = pairs.iter().map(|&(c, k)| weights[c][k]).sum::<f64>() / pairs.len() as f64;
    let defined: Vec<f64> =
        pairs.iter().filter_map(|&(c, k)| d[c][k].map(|dist| dist * weights[c][k] / mean_weight)).collect();
    defined.iter().sum::<f64>() / defined.len() as f64
}

#[test]
fn the_two_wordnet_objectives_weigh_similar_and_dissimilar_pairs() {
    let wordnet = xnas::wordnet::WordNet::open(None).expect("WordNet 3.0 is installed (scripts/setup.sh)");
    let labels =
        xnas::wordnet::LabelSynsets::for_dataset(&wordnet, xnas::datasets::DatasetName::FashionMnist, None, &[])
            .unwrap();
    let similarity = labels.similarity_matrix(&wordnet).unwrap();
    let dissimilarity: Vec<Vec<f64>> = similarity.iter().map(|row| row.iter().map(|s| 1.0 - s).collect()).collect();

    let dir = std::env::temp_dir().join(format!("xnas-stdlib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exp.rhai");
    std::fs::write(
        &path,
        r#"import "xnas/objectives" as objectives;
let exp = experiment("t");
exp.dataset(#{ name: "fashion-mnist", train_subset: 100, val_subset: 50, test_subset: 50 });
exp.space(#{ channels: 4, cells: 1 });
exp.training(#{ epochs: 1 });
exp.search(#{ population: 4, generations: 2, seed: 3 });
exp.objective("similar", "max", objectives::wordnet());
exp.objective("dissimilar", "max", objectives::wordnet_dissimilar());
"#,
    )
    .unwrap();
    let experiment = compile_file(&path).unwrap();
    let record = synthetic_record(&EvalConfig::default(), &"002404".parse().unwrap());
    let values = experiment.score(&record).unwrap();
    let d = &record.class_distance;
    let similar = normalised_weighted_mean(d, &similarity);
    let dissimilar = normalised_weighted_mean(d, &dissimilarity);
    assert!((values[0] - similar).abs() < 1e-12, "{} vs {similar}", values[0]);
    assert!((values[1] - dissimilar).abs() < 1e-12, "{} vs {dissimilar}", values[1]);
    assert!((values[0] - values[1]).abs() > 1e-6, "the two weightings should differ on this record");
}

/// `early::dominated_by_front(margin, min_epoch)` on hand-made partial evaluations.
#[test]
fn dominated_by_front_stops_only_what_one_front_point_beats_on_both_axes() {
    use xnas::script::{FrontPoint, PartialCandidate, PartialEvaluation};

    let dir = std::env::temp_dir().join(format!("xnas-stdlib-early-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exp.rhai");
    std::fs::write(
        &path,
        r#"import "xnas/early" as early;
let exp = experiment("t");
exp.dataset(#{ name: "fashion-mnist", val_subset: 300 });
exp.search(#{ population: 4, generations: 2 });
exp.objective("accuracy", "max", |r| r.val_accuracy);
exp.objective("introspectability", "max", |r| r.introspectability);
exp.stop_early(early::dominated_by_front(0.02, 2));
"#,
    )
    .unwrap();
    let experiment = compile_file(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(experiment.eval_config().epoch_validation, Some(300), "the rule's default subset: all 300");

    let member = |accuracy: f64, introspectability: Option<f64>| FrontPoint {
        genome: "000000".into(),
        val_accuracy: accuracy,
        introspectability,
    };
    let stops = |epoch: usize, accuracy: f64, introspectability: Option<f64>, front: Vec<FrontPoint>| {
        let candidate = PartialCandidate {
            genome: "444444".into(),
            arch: "a".into(),
            val_accuracy: accuracy,
            introspectability,
            images: 300,
        };
        experiment.stop_early(&PartialEvaluation { epoch, epochs: 5, candidate, front }).unwrap()
    };
    let accurate = || member(0.90, Some(0.20));
    let introspectable = || member(0.40, Some(0.70));

    // Beaten by 0.1 on both axes by one member: stopped from epoch 2 on, not before.
    assert!(stops(2, 0.5, Some(0.1), vec![accurate(), member(0.6, Some(0.2))]));
    assert!(stops(5, 0.5, Some(0.1), vec![member(0.6, Some(0.2))]));
    assert!(!stops(1, 0.5, Some(0.1), vec![member(0.6, Some(0.2))]), "before min_epoch");
    // The high-introspectability end: beaten on accuracy alone by the accurate member, and on
    // introspectability alone by no one — kept, whatever the front's other end.
    assert!(!stops(3, 0.30, Some(0.69), vec![accurate()]));
    assert!(!stops(3, 0.30, Some(0.69), vec![accurate(), introspectable()]), "0.70 < 0.69 + 0.02");
    assert!(stops(3, 0.30, Some(0.60), vec![accurate(), introspectable()]), "0.40 ≥ 0.32 and 0.70 ≥ 0.62");
    // The margin holds on both axes: 0.01 better is not enough.
    assert!(!stops(3, 0.5, Some(0.1), vec![member(0.51, Some(0.9))]));
    assert!(!stops(3, 0.5, Some(0.1), vec![member(0.9, Some(0.11))]));
    // A missing introspectability never stops: the candidate's, or a member's.
    assert!(!stops(3, 0.1, None, vec![accurate()]));
    assert!(!stops(3, 0.1, Some(0.1), vec![member(0.9, None)]));
    assert!(stops(3, 0.1, Some(0.1), vec![member(0.9, None), accurate()]));
    // An empty front (nothing measured after this epoch yet) stops nothing.
    assert!(!stops(3, 0.1, Some(0.1), Vec::new()));
}
