//! Short real trainings on Fashion-MNIST subsets (CPU): they learn, they are reproducible, and a
//! diverging run ends as a failed record instead of a crash.

use std::sync::{Mutex, MutexGuard};

use xnas::evaluate::{evaluate, load_dataset};
use xnas::record::{EvalConfig, Status};
use xnas::space::Genome;

/// libtorch's random generator is global to the process: trainings in parallel test threads
/// would draw from it in turn and lose their reproducibility, so they take turns.
static TORCH_RNG: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn tiny_config() -> EvalConfig {
    EvalConfig {
        train_subset: Some(1000),
        val_subset: Some(300),
        test_subset: Some(300),
        channels: 8,
        cells_per_stage: 1,
        epochs: 5,
        batch_size: 64,
        device: "cpu".into(),
        seed: 5,
        ..EvalConfig::default()
    }
}

#[test]
fn a_short_run_on_real_fashion_mnist_learns() {
    let _turn = exclusive();
    let config = tiny_config();
    let dataset = load_dataset(&config).expect("Fashion-MNIST (apt-get install dataset-fashion-mnist)");
    let genome: Genome = "002404".parse().unwrap();
    let record = evaluate(&genome, &config, &dataset, &mut |_| {}).unwrap();
    assert_eq!(record.status, Status::Done, "{:?}", record.error);
    let accuracy = record.val_accuracy.unwrap();
    // Seeds 1–5 of this setting reach 54–70%; chance is 10%.
    assert!(accuracy > 0.4, "accuracy {accuracy} is not clearly above chance (0.1)");
    assert_eq!(record.val_images, 300);
    assert_eq!(record.confusion.iter().flatten().sum::<u64>(), 300);
    let intro = record.introspectability.unwrap();
    assert!(intro > 0.0 && intro <= 2.0, "{intro}");
    assert_eq!(record.train_loss_per_epoch.len(), 5);
    assert!(record.train_loss_per_epoch[4] < record.train_loss_per_epoch[0]);

    // Same seed, same record (CPU); the JSON form round-trips.
    let again = evaluate(&genome, &config, &dataset, &mut |_| {}).unwrap();
    assert_eq!(again.val_accuracy, record.val_accuracy);
    assert_eq!(again.confusion, record.confusion);
    assert_eq!(again.class_distance, record.class_distance);
    let json = serde_json::to_string(&record).unwrap();
    let back: xnas::record::MeasurementRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back.confusion, record.confusion);
}

#[test]
fn a_diverging_run_is_a_failed_record_not_a_crash() {
    let _turn = exclusive();
    let config = EvalConfig { lr: 1e30, epochs: 1, train_subset: Some(200), val_subset: Some(50), ..tiny_config() };
    let dataset = load_dataset(&config).unwrap();
    let record = evaluate(&"000000".parse().unwrap(), &config, &dataset, &mut |_| {}).unwrap();
    assert_eq!(record.status, Status::Failed);
    let error = record.error.unwrap();
    assert!(error.contains("loss became"), "{error}");
}

#[test]
fn an_invalid_genome_is_refused_before_training() {
    let _turn = exclusive();
    let config = tiny_config();
    let dataset = load_dataset(&EvalConfig { train_subset: Some(20), val_subset: Some(20), ..config.clone() }).unwrap();
    let err = evaluate(&"333333".parse().unwrap(), &config, &dataset, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a valid architecture"), "{err}");
}

#[test]
fn repair_pushes_the_targeted_pair_apart_and_a_saved_model_reloads_exactly() {
    use xnas::evaluate::finetune::{finetune, FinetuneConfig};
    use xnas::evaluate::{evaluate_model, save_model};
    use xnas::introspect::{PairWeight, PairWeights};

    let _turn = exclusive();
    let config = EvalConfig { epochs: 3, ..tiny_config() };
    let dataset = load_dataset(&config).unwrap();
    let genome: Genome = "002404".parse().unwrap();
    let (record, model) = evaluate_model(&genome, &config, &dataset, &mut |_| {}).unwrap();
    let dir = std::env::temp_dir().join(format!("xnas-repair-test-{}", std::process::id()));
    save_model(&dir, &record, &model, &xnas::evaluate::ModelInput::of(&dataset.train)).unwrap();

    // Fashion-MNIST's classic confusion: T-shirt/top (0) and shirt (6).
    let omega = PairWeights::Pairs(vec![PairWeight { a: 0, b: 6, weight: 25.0 }]);
    let finetune_config =
        FinetuneConfig { epochs: 2, lr: 0.01, regularizer: 0.5, omega, device: Some("cpu".into()), seed: None };
    let report = finetune(&dir, &finetune_config, &dataset, &mut |_| {}).unwrap();

    // Appendix K's study through the command line: two seeds, a report folder with K7/K8.
    let study_dir = dir.join("study");
    let out = std::process::Command::new(crate::run::XNAS)
        .args(["repair", dir.to_str().unwrap(), "--pair", "0,6,25", "--epochs", "1", "--lr", "0.01"])
        .args(["--device", "cpu", "--seeds", "2", "--report", study_dir.to_str().unwrap()])
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 seeds") && stdout.contains("mean ± sd over 2"), "{stdout}");
    let study: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(study_dir.join("repair_study.json")).unwrap()).unwrap();
    assert_eq!(study["seeds"], serde_json::json!([0, 1]));
    let changes: Vec<f64> =
        study["runs"].as_array().unwrap().iter().map(|r| r["accuracy_change"].as_f64().unwrap()).collect();
    let mean = study["accuracy_change"]["mean"].as_f64().unwrap();
    assert!((mean - (changes[0] + changes[1]) / 2.0).abs() < 1e-12, "{study}");
    let svg = std::fs::read_to_string(study_dir.join("k7_k8_heat_maps.svg")).unwrap();
    assert!(svg.contains("K7, before") && svg.contains("K8, after"));
    assert_eq!(std::fs::read_to_string(study_dir.join("repair_study.csv")).unwrap().lines().count(), 3);
    std::fs::remove_dir_all(&dir).ok();

    // The reloaded model measures exactly what the saved record says.
    assert_eq!(Some(report.before.accuracy), record.val_accuracy);
    assert_eq!(report.before.class_distance, record.class_distance);
    let pair = &report.targeted[0];
    assert_eq!((pair.a, pair.b, pair.omega), (0, 6, 25.0));
    let (before, after) = (pair.distance_before.unwrap(), pair.distance_after.unwrap());
    assert!(after > before, "distance between T-shirt and shirt went {before} → {after}");
}

/// `xnas eval` through the real binary, in a fresh temporary folder.
fn eval_cli(args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("xnas-eval-cli-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = std::process::Command::new(crate::run::XNAS)
        .arg("eval")
        .args(args)
        .current_dir(&dir)
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .output()
        .unwrap();
    (output, dir)
}

#[test]
fn bad_hyper_parameters_are_refused_before_training_and_without_a_backtrace() {
    for (flag, value, expected) in [
        ("--lr", "nan", "--lr NaN: must be a finite number > 0"),
        ("--lr", "-1", "--lr -1: must be a finite number > 0"),
        ("--regularizer", "-0.5", "--regularizer -0.5: must be a finite weight ≥ 0"),
        ("--train-subset", "0", "--train-subset 0: must be at least 10 images, one per class of fashion-mnist"),
        ("--device", "cuda:x", "--device cuda:x: must be cpu, cuda, cuda:N or auto"),
    ] {
        let (out, _) = eval_cli(&["002404", flag, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{flag} {value} was accepted");
        assert!(stderr.contains(expected), "{flag} {value}: {stderr}");
        // Refused up front: no training started, and no libtorch stack frames anywhere.
        assert!(!stderr.contains("xnas eval:"), "{flag} {value} trained first: {stderr}");
        assert!(!format!("{stdout}{stderr}").contains("frame #"), "{stdout}{stderr}");
    }
}

#[test]
fn output_paths_are_checked_before_training_and_a_failed_training_exits_non_zero() {
    let (out, dir) = eval_cli(&["002404", "--out", "missing/dir/r.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--out missing/dir/r.json: the folder missing/dir does not exist"), "{stderr}");
    assert!(!stderr.contains("xnas eval:"), "it trained before refusing: {stderr}");

    std::fs::write(dir.join("a-file"), "not a folder").unwrap();
    let (out, _) = eval_cli(&["002404", "--save", dir.join("a-file").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("is a file; give a folder"), "{stderr}");
    assert!(!stderr.contains("xnas eval:"), "it trained before refusing: {stderr}");

    // lr 1e9 diverges: the record says failed, is written, and the command exits non-zero.
    let _turn = exclusive();
    let record = dir.join("diverged.json");
    let (out, _) = eval_cli(&[
        "002404",
        "--lr",
        "1e9",
        "--epochs",
        "1",
        "--train-subset",
        "200",
        "--val-subset",
        "100",
        "--test-subset",
        "100",
        "--channels",
        "4",
        "--cells",
        "1",
        "--device",
        "cpu",
        "--out",
        record.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a failed evaluation exited 0: {stderr}");
    assert!(stderr.contains("the evaluation failed"), "{stderr}");
    let saved: xnas::record::MeasurementRecord = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(saved.status, Status::Failed);
}

/// The numbers of one short CPU training, as `{:?}` prints them (every bit of each f64): loss
/// per epoch, validation accuracy and loss, introspectability, training and test accuracy, and
/// the confusion matrix's diagonal.
fn fingerprint(record: &xnas::record::MeasurementRecord) -> Vec<String> {
    let mut out: Vec<String> = record.train_loss_per_epoch.iter().map(|x| format!("{x:?}")).collect();
    for x in
        [record.val_accuracy, record.val_loss, record.introspectability, record.train_accuracy, record.test_accuracy]
    {
        out.push(format!("{:?}", x.unwrap()));
    }
    out.push(format!("{:?}", (0..record.confusion.len()).map(|i| record.confusion[i][i]).collect::<Vec<_>>()));
    out
}

/// The GPU settings (precision, channels-last, cuDNN benchmark) leave the CPU path of training
/// as it is: within one run on this machine, a CPU training with them named explicitly off, and
/// one with them all asked on (a CPU ignores them; `EvalConfig::validate` refuses them there, the
/// library path takes them), give every bit the default gives — plain and with the regularizer,
/// whose taps the mixed-precision path changes. The property holds on any CPU kind; the numbers
/// captured at the commit before the GPU settings (88ee3c1) differ between CPU kinds (libtorch
/// picks its kernels by instruction set), so they are only printed beside this machine's as a note.
#[test]
fn cpu_training_ignores_the_gpu_settings_bit_for_bit() {
    use xnas::record::{ComputeSettings, Precision, Switch};

    let _turn = exclusive();
    let threads = tch::get_num_threads();
    tch::set_num_threads(1);
    let config = EvalConfig {
        train_subset: Some(600),
        val_subset: Some(100),
        test_subset: Some(100),
        channels: 8,
        cells_per_stage: 1,
        epochs: 3,
        batch_size: 32,
        device: "cpu".into(),
        seed: 3,
        ..EvalConfig::default()
    };
    let dataset = load_dataset(&config).unwrap();
    let genome: Genome = "002404".parse().unwrap();
    let off = |c: &EvalConfig| EvalConfig {
        precision: Precision::Fp32,
        channels_last: Switch::Off,
        cudnn_benchmark: Switch::Off,
        ..c.clone()
    };
    let on = |c: &EvalConfig| EvalConfig {
        precision: Precision::Bf16,
        channels_last: Switch::On,
        cudnn_benchmark: Switch::On,
        ..c.clone()
    };
    let regularized = EvalConfig { regularizer: 0.5, ..config.clone() };
    let mut by_default = Vec::new();
    for base in [&config, &regularized] {
        let default = evaluate(&genome, base, &dataset, &mut |_| {}).unwrap();
        assert_eq!(default.status, Status::Done, "{:?}", default.error);
        assert_eq!(default.compute, Some(ComputeSettings::PLAIN));
        for (named, settings) in [("off", off(base)), ("on", on(base))] {
            let record = evaluate(&genome, &settings, &dataset, &mut |_| {}).unwrap();
            assert_eq!(record.compute, Some(ComputeSettings::PLAIN), "a CPU trains plain with the settings {named}");
            assert_eq!(
                fingerprint(&record),
                fingerprint(&default),
                "regularizer {}: the GPU settings {named} changed a CPU training",
                base.regularizer
            );
            // Beyond the fingerprint: every measurement the record holds.
            let (mut a, mut b) = (record.clone(), default.clone());
            for r in [&mut a, &mut b] {
                (r.train_seconds, r.eval_seconds, r.trust_seconds, r.train_images_per_second) = (0.0, 0.0, 0.0, 0.0);
                r.config = base.clone();
            }
            assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "settings {named}");
        }
        by_default.push(fingerprint(&default));
    }
    tch::set_num_threads(threads);

    // A note only: whether this CPU kind gives the numbers captured before the GPU settings.
    let matched = BEFORE_BY_CPU
        .iter()
        .find(|(_, plain, regularized)| by_default[0] == plain[..] && by_default[1] == regularized[..]);
    match matched {
        Some((cpu, ..)) => println!("note: the CPU training gives the numbers captured at 88ee3c1 on {cpu}"),
        None => println!(
            "note: this CPU kind's numbers differ from those captured at 88ee3c1 ({}), as another instruction set's \
             kernels round differently:\n plain {:?}\n regularized {:?}",
            BEFORE_BY_CPU.iter().map(|(cpu, ..)| *cpu).collect::<Vec<_>>().join("; "),
            by_default[0],
            by_default[1]
        ),
    }
}

/// (the CPU it was captured on, plain training, regularized training), each from 88ee3c1: printed
/// as a note beside this machine's numbers, never asserted.
const BEFORE_BY_CPU: [(&str, [&str; 9], [&str; 9]); 2] = [
    (
        "x86-64 of session 5 (2026-12-01)",
        [
            "2.1789543503209163",
            "1.6711571091099788",
            "1.4692003162283647",
            "0.32",
            "1.5035258425336817",
            "0.4021950996512837",
            "0.36666666666666664",
            "0.36",
            "[2, 10, 5, 0, 0, 9, 1, 0, 4, 1]",
        ],
        [
            "2.4098825454711914",
            "1.9492996303658736",
            "1.6863421201705933",
            "0.35",
            "1.4695228512782856",
            "0.5864331703909946",
            "0.38666666666666666",
            "0.33",
            "[4, 10, 8, 0, 0, 8, 0, 1, 4, 0]",
        ],
    ),
    (
        "AMD EPYC with AVX-512 (2026-12-02)",
        [
            "2.1787116339332178",
            "1.6741028710415489",
            "1.474757050213061",
            "0.33",
            "1.5005478314946594",
            "0.39666852190756424",
            "0.36",
            "0.36",
            "[2, 10, 6, 0, 0, 9, 0, 0, 4, 2]",
        ],
        [
            "2.4097511517374137",
            "1.9459507214395624",
            "1.684965365811398",
            "0.33",
            "1.485012029359139",
            "0.5833597814319696",
            "0.37",
            "0.35",
            "[2, 10, 8, 0, 0, 7, 0, 3, 3, 0]",
        ],
    ),
];

/// The trust fields of a record as one JSON text (every f64 as its shortest exact form).
fn trust_fields(record: &xnas::record::MeasurementRecord) -> String {
    serde_json::json!({
        "train_accuracy": record.train_accuracy, "test_accuracy": record.test_accuracy, "test_loss": record.test_loss,
        "class_means": record.class_means, "calibration": record.calibration, "mispredictions": record.mispredictions,
        "mislabels": record.mislabels, "confusion_correlation": record.confusion_correlation,
    })
    .to_string()
}

/// `trust_mean_images` at `"all"` measures what every record was measured with before the
/// setting existed, bit for bit: captured on this CPU kind (AMD EPYC with AVX-512, where the
/// training reproduces `BEFORE_BY_CPU`) at the commit before it (fe62b48), without and with
/// label noise, as the SHA-256 of the trust fields. On another CPU kind the training itself
/// rounds differently, so the comparison is a note there. Left out, the setting is `"all"` and
/// the configuration serialises as before (the same training hash).
#[test]
fn trust_mean_images_all_measures_as_before_bit_for_bit() {
    use sha2::{Digest, Sha256};
    use xnas::record::ImageCount;

    let config = |noise: f64| EvalConfig {
        train_subset: Some(600),
        val_subset: Some(100),
        test_subset: Some(100),
        label_noise: noise,
        channels: 8,
        cells_per_stage: 1,
        epochs: 3,
        batch_size: 32,
        device: "cpu".into(),
        seed: 3,
        trust_mean_images: ImageCount::All,
        ..EvalConfig::default()
    };
    let json = serde_json::to_value(config(0.0)).unwrap();
    assert!(json.get("trust_mean_images").is_none(), "\"all\" is left out of the serialised configuration");
    let back: EvalConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back.trust_mean_images, ImageCount::All, "a configuration without it reads as \"all\"");

    const BEFORE: [(f64, [&str; 3], &str); 2] = [
        (
            0.0,
            ["2.1787116339332178", "1.6741028710415489", "1.474757050213061"],
            "7515308653d3a1947d63e350fb35567418920bfc3d5c1f2670cfde41194c81a1",
        ),
        (
            0.2,
            ["2.236827172731098", "1.9981599042290135", "1.892589336947391"],
            "902847055141fc1e980d3f24394e617a73f5afdcfb7e716c102c344113133c6c",
        ),
    ];
    let _turn = exclusive();
    let threads = tch::get_num_threads();
    tch::set_num_threads(1);
    let genome: Genome = "002404".parse().unwrap();
    for (noise, losses, trust_sha) in BEFORE {
        let config = config(noise);
        let dataset = load_dataset(&config).unwrap();
        let record = evaluate(&genome, &config, &dataset, &mut |_| {}).unwrap();
        assert_eq!(record.status, Status::Done, "{:?}", record.error);
        assert_eq!(record.class_means.as_ref().unwrap().images, 600, "all 600 training images feed the means");
        let trained: Vec<String> = record.train_loss_per_epoch.iter().map(|x| format!("{x:?}")).collect();
        let measured = format!("{:x}", Sha256::digest(trust_fields(&record).as_bytes()));
        if trained == losses {
            assert_eq!(
                measured, trust_sha,
                "label noise {noise}: the trust fields changed on the CPU kind they were captured on"
            );
        } else {
            println!("note: this CPU kind trains differently from the capture (label noise {noise}: {trained:?}); trust fields {measured}");
        }
    }
    tch::set_num_threads(threads);
}
