//! Checks on the real WordNet 3.0 database (Debian's `wordnet-base`, which scripts/setup.sh
//! installs) against values NLTK documents: its WordNet howto (`nltk/test/wordnet.doctest`) and
//! chapter 2 §5 of the NLTK book, plus sense numbers read by hand from `index.noun`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use xnas_datasets::DatasetName;
use xnas_wordnet::{
    mean_pair_similarity, normalized_pair_weights, LabelSynsets, PathNode, SynsetId, SynsetOverride, WordNet,
};

fn wordnet() -> Arc<WordNet> {
    WordNet::open_shared(None).unwrap_or_else(|e| panic!("these tests need WordNet 3.0: {e}"))
}

fn id(wn: &WordNet, spec: &str) -> SynsetId {
    wn.resolve(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn similarity(wn: &WordNet, a: &str, b: &str) -> f64 {
    wn.path_similarity(id(wn, a), id(wn, b)).unwrap().unwrap_or_else(|| panic!("no path {a} – {b}"))
}

fn names(wn: &WordNet, ids: &[SynsetId]) -> Vec<String> {
    ids.iter().map(|&i| wn.name(i).unwrap()).collect()
}

/// The shared copy of the ImageNet devkit's class list (beside the repository, in CI too).
fn imagenet_wnids() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/imagenet-wnids.txt");
    assert!(path.exists(), "the shared wnid list {} is missing", path.display());
    path
}

fn assert_symmetric_with_unit_diagonal(m: &[Vec<f64>], dataset: DatasetName) {
    for (c, row) in m.iter().enumerate() {
        assert_eq!(row.len(), m.len(), "{dataset}");
        assert_eq!(row[c], 1.0, "{dataset}: diagonal {c}");
        for (k, &value) in row.iter().enumerate() {
            assert_eq!(value, m[k][c], "{dataset}: ({c}, {k})");
        }
    }
}

#[test]
fn nltk_howto_values() {
    let wn = wordnet();
    assert_eq!(similarity(&wn, "dog.n.01", "cat.n.01"), 0.2);
    assert_eq!(names(&wn, &wn.hypernyms(id(&wn, "dog.n.01")).unwrap()), ["canine.n.02", "domestic_animal.n.01"]);
    assert_eq!(
        names(&wn, &wn.lowest_common_hypernyms(id(&wn, "dog.n.01"), id(&wn, "cat.n.01")).unwrap()),
        ["carnivore.n.01"]
    );
    // Issue 395: NLTK 3's max-depth rule gives person.n.01, not the min-depth answer.
    assert_eq!(
        names(&wn, &wn.lowest_common_hypernyms(id(&wn, "policeman.n.01"), id(&wn, "chef.n.01")).unwrap()),
        ["person.n.01"]
    );
    // Verbs: separate taxonomies joined by the virtual root, 0.142… (= 1/7).
    assert!((similarity(&wn, "hit.v.01", "slap.v.01") - 1.0 / 7.0).abs() < 1e-15);
    let path = wn.shortest_path(id(&wn, "hit.v.01"), id(&wn, "slap.v.01")).unwrap().unwrap();
    assert_eq!((path.turning_point(), path.distance()), (PathNode::VirtualRoot, 6));
    assert!(wn.lowest_common_hypernyms(id(&wn, "hit.v.01"), id(&wn, "slap.v.01")).unwrap().is_empty());
}

#[test]
fn nltk_book_whale_values() {
    let wn = wordnet();
    let cases = [
        ("minke_whale.n.01", 0.25, "baleen_whale.n.01"),
        ("orca.n.01", 1.0 / 6.0, "whale.n.02"),
        ("tortoise.n.01", 1.0 / 13.0, "vertebrate.n.01"),
        ("novel.n.01", 1.0 / 23.0, "entity.n.01"),
    ];
    let right = id(&wn, "right_whale.n.01");
    for (other, expected, lowest) in cases {
        let got = similarity(&wn, "right_whale.n.01", other);
        assert!((got - expected).abs() < 1e-15, "{other}: {got}");
        assert_eq!(names(&wn, &wn.lowest_common_hypernyms(right, id(&wn, other)).unwrap()), [lowest], "{other}");
        let path = wn.shortest_path(right, id(&wn, other)).unwrap().unwrap();
        assert_eq!(path.turning_point(), PathNode::Synset(id(&wn, lowest)), "{other}");
    }
}

#[test]
fn instance_hypernyms_count_as_edges() {
    let wn = wordnet();
    let einstein = id(&wn, "einstein.n.01");
    assert!(wn.hypernyms(einstein).unwrap().is_empty());
    assert!(names(&wn, &wn.instance_hypernyms(einstein).unwrap()).contains(&"physicist.n.01".to_string()));
    assert_eq!(similarity(&wn, "einstein.n.01", "physicist.n.01"), 0.5);
}

#[test]
fn names_follow_nltk_sense_numbers() {
    let wn = wordnet();
    // Read by hand from index.noun: dog's first sense is 02084071; jersey's third is 03595614,
    // the T-shirt; bag's fourth is 02774152, the handbag; zero's second is 13742358.
    for (wnid, name) in [
        ("n02084071", "dog.n.01"),
        ("n03595614", "jersey.n.03"),
        ("n02774152", "bag.n.04"),
        ("n13742358", "zero.n.02"),
        ("n02958343", "car.n.01"),
        ("n00001740", "entity.n.01"),
    ] {
        assert_eq!(wn.name(wnid.parse().unwrap()).unwrap(), name);
        assert_eq!(wn.resolve(name).unwrap().to_string(), wnid);
    }
    assert_eq!(wn.resolve("T-shirt").unwrap(), wn.resolve("jersey.n.03").unwrap());
    assert_eq!(wn.resolve("tennis shoe").unwrap(), wn.resolve("gym_shoe.n.01").unwrap());
    let e = wn.resolve("n02084072").unwrap_err().to_string();
    assert!(e.contains("no synset n02084072"), "{e}");
}

#[test]
fn built_in_label_tables_choose_the_checked_synsets() {
    let wn = wordnet();
    let expected = [
        (
            DatasetName::FashionMnist,
            [
                "jersey.n.03",
                "trouser.n.01",
                "pullover.n.01",
                "dress.n.01",
                "coat.n.01",
                "sandal.n.01",
                "shirt.n.01",
                "gym_shoe.n.01",
                "bag.n.04",
                "boot.n.01",
            ],
        ),
        (
            DatasetName::Mnist,
            [
                "zero.n.02",
                "one.n.01",
                "two.n.01",
                "three.n.01",
                "four.n.01",
                "five.n.01",
                "six.n.01",
                "seven.n.01",
                "eight.n.01",
                "nine.n.01",
            ],
        ),
        (
            DatasetName::Cifar10,
            [
                "airplane.n.01",
                "car.n.01",
                "bird.n.01",
                "cat.n.01",
                "deer.n.01",
                "dog.n.01",
                "frog.n.01",
                "horse.n.01",
                "ship.n.01",
                "truck.n.01",
            ],
        ),
    ];
    for (dataset, names) in expected {
        let labels = LabelSynsets::for_dataset(&wn, dataset, None, &[]).unwrap();
        let got: Vec<_> = labels.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(got, names, "{dataset}");
        let classes = xnas_datasets::class_names(dataset).unwrap();
        assert_eq!(labels.labels.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), classes);
    }
    let digits = LabelSynsets::for_dataset(&wn, DatasetName::Mnist, None, &[]).unwrap();
    assert!(digits.labels[1].gloss.starts_with("the smallest whole number"), "{}", digits.labels[1].gloss);

    // An override replaces one class and is marked as such.
    let over = [SynsetOverride::new("Bag", "bag.n.01")];
    let fashion = LabelSynsets::for_dataset(&wn, DatasetName::FashionMnist, None, &over).unwrap();
    assert_eq!((fashion.labels[8].name.as_str(), fashion.labels[8].overridden), ("bag.n.01", true));
    assert!(fashion.to_string().contains("Bag → bag.n.01 (n02773037) [override]"));
}

#[test]
fn label_matrices_are_symmetric_with_unit_diagonal_and_mean_weight_one() {
    let wn = wordnet();
    for dataset in [DatasetName::FashionMnist, DatasetName::Mnist, DatasetName::Cifar10] {
        let labels = LabelSynsets::for_dataset(&wn, dataset, None, &[]).unwrap();
        let m = labels.similarity_matrix(&wn).unwrap();
        assert_eq!(m.len(), 10);
        assert_symmetric_with_unit_diagonal(&m, dataset);
        assert!(m.iter().flatten().all(|&s| s > 0.0 && s <= 1.0), "{dataset}");
        let weights = normalized_pair_weights(&m).unwrap();
        assert!((mean_pair_similarity(&weights).unwrap() - 1.0).abs() < 1e-12, "{dataset}");
    }
    // CIFAR-10's cat (3) and dog (5) are the NLTK pair.
    let cifar = LabelSynsets::for_dataset(&wn, DatasetName::Cifar10, None, &[]).unwrap();
    assert_eq!(cifar.similarity_matrix(&wn).unwrap()[3][5], 0.2);
}

#[test]
fn imagenet16_120_matrix_from_the_shared_wnid_list_is_fast() {
    let wn = wordnet();
    let started = Instant::now();
    let labels = LabelSynsets::for_dataset(&wn, DatasetName::ImageNet16_120, Some(&imagenet_wnids()), &[]).unwrap();
    let resolved = started.elapsed();
    let started = Instant::now();
    let m = labels.similarity_matrix(&wn).unwrap();
    let built = started.elapsed();
    eprintln!("ImageNet16-120: labels resolved in {resolved:?}, 120×120 matrix in {built:?}");
    assert!(built.as_secs_f64() < 0.5, "the matrix took {built:?}");
    assert_eq!(labels.labels[0].name, "kit_fox.n.01");
    assert_eq!(labels.labels[0].label, "n02119789");
    assert_eq!(m.len(), 120);
    assert_symmetric_with_unit_diagonal(&m, DatasetName::ImageNet16_120);
    // 120 distinct classes: every off-diagonal similarity is strictly between 0 and 1.
    for (c, row) in m.iter().enumerate() {
        assert!(row.iter().enumerate().all(|(k, &s)| k == c || (s > 0.0 && s < 1.0)), "row {c}");
    }
    let weights = normalized_pair_weights(&m).unwrap();
    assert!((mean_pair_similarity(&weights).unwrap() - 1.0).abs() < 1e-12);

    let e = LabelSynsets::for_dataset(&wn, DatasetName::ImageNet16_120, None, &[]).unwrap_err().to_string();
    assert!(e.contains("--wnids") && e.contains("120"), "{e}");
}

#[test]
fn a_label_without_a_synset_says_how_to_map_it() {
    let wn = wordnet();
    let labels = [("Ankle boot".to_string(), None), ("cat".to_string(), None)];
    let e = LabelSynsets::resolve(&wn, &labels, &[]).unwrap_err().to_string();
    assert!(e.contains("label \"Ankle boot\" has no WordNet synset") && e.contains("`Ankle boot=SYNSET`"), "{e}");
    let fixed = LabelSynsets::resolve(&wn, &labels, &[SynsetOverride::new("Ankle boot", "boot.n.01")]).unwrap();
    assert_eq!(fixed.labels[0].name, "boot.n.01");
    assert_eq!(fixed.labels[1].name, "cat.n.01");
}
