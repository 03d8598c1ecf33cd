//! The built-in script modules (`stdlib/`) against computations written out here by hand.

use xnas::record::EvalConfig;
use xnas::script::{compile_file, synthetic_record};

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
