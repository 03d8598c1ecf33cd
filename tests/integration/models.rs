//! Trained models kept and exported, end to end through the real binary: a run keeps exactly
//! the models of its front (the store's front, computed here independently) or all of them;
//! `xnas export` writes a state dict that the real xautodl `TinyNetwork` (NAS-Bench-201's
//! reference implementation, installed into the venv by scripts/setup.sh) loads with
//! `strict=True` and that gives xnas's own logits (from the export's check file) to 1e-4.

use std::path::{Path, PathBuf};
use std::process::Command;

use xnas::store::{EvalStatus, Store};

use super::run::{temp_dir, tiny_script, xnas, XNAS};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The candidate ids on the run's front, from its store: every finished evaluation that trained a
/// network, scored under the latest script version, non-dominated in the objectives' directions.
pub(crate) fn store_front(run: &Path) -> Vec<i64> {
    let store = Store::open(run).unwrap();
    let version = store.latest_script_version().unwrap().unwrap();
    let spec: xnas::script::ExperimentSpec = serde_json::from_value(version.config).unwrap();
    let scores: std::collections::HashMap<i64, Vec<f64>> =
        store.scores(version.id).unwrap().into_iter().filter_map(|s| Some((s.evaluation, s.result.ok()?))).collect();
    let trained: Vec<(i64, Vec<f64>)> = store
        .evaluations(Some(EvalStatus::Done))
        .unwrap()
        .into_iter()
        .filter(|e| e.reused_from.is_none())
        .filter_map(|e| Some((e.candidate as i64, scores.get(&e.id)?.clone())))
        .collect();
    let directions = spec.directions();
    // Brute force: i is on the front when no j is at least as good everywhere and better somewhere.
    let better = |a: &[f64], b: &[f64]| -> (bool, bool) {
        let mut no_worse = true;
        let mut strictly = false;
        for ((x, y), d) in a.iter().zip(b).zip(&directions) {
            let (x, y) = if *d == xnas::moo::Direction::Maximise { (-x, -y) } else { (*x, *y) };
            no_worse &= x <= y;
            strictly |= x < y;
        }
        (no_worse, strictly)
    };
    let mut front: Vec<i64> = trained
        .iter()
        .filter(|(_, p)| !trained.iter().any(|(_, q)| matches!(better(q, p), (true, true))))
        .map(|(id, _)| *id)
        .collect();
    front.sort_unstable();
    front
}

/// The ids under RUN/models, checking every folder is a complete model and nothing half-written is left.
pub(crate) fn kept(run: &Path) -> Vec<i64> {
    let mut ids: Vec<i64> = std::fs::read_dir(run.join("models"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    for file in ["weights.safetensors", "record.json", "model.json"] {
                        assert!(entry.path().join(file).is_file(), "models/{name} lacks {file}");
                    }
                    name.parse().unwrap_or_else(|_| panic!("models/{name} is not a candidate's model"))
                })
                .collect()
        })
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

#[test]
fn a_run_keeps_its_fronts_models_or_all_and_exports_a_kept_one() {
    let dir = temp_dir("keep-models");
    let script = tiny_script(&dir, 2, "|r| r.introspectability");
    let run = dir.join("front");
    let ran = xnas(&["run", script.to_str().unwrap(), "--dir", run.to_str().unwrap()]);
    let log = String::from_utf8_lossy(&ran.stderr).into_owned();
    let front = store_front(&run);
    assert!(!front.is_empty());
    assert_eq!(kept(&run), front, "the run keeps exactly its front's models, under the candidates' ids");
    let store = Store::open(&run).unwrap();
    // (evaluation id, candidate id) of each evaluation that trained a network.
    let trained: Vec<(i64, i64)> = store
        .evaluations(Some(EvalStatus::Done))
        .unwrap()
        .into_iter()
        .filter(|e| e.reused_from.is_none())
        .map(|e| (e.id, e.candidate as i64))
        .collect();
    assert!(trained.len() > front.len(), "some models were evicted: {trained:?} vs {front:?}");
    // Evaluation ids start at 1, candidate ids at 0: the two differ for every candidate.
    assert!(trained.iter().all(|(e, c)| e != c), "{trained:?}");

    // One id: the log's `#N`, the models folder, the report and `--id` name the same candidate.
    let genome = |candidate: i64| {
        store.evaluations(None).unwrap().into_iter().find(|e| e.candidate as i64 == candidate).unwrap().genome.compact()
    };
    assert!(log.contains(&format!("#{} {} ", front[0], genome(front[0]))), "{log}");
    xnas(&["report", run.to_str().unwrap()]);
    let front_csv = std::fs::read_to_string(run.join("report").join("front.csv")).unwrap();
    let mut reported: Vec<i64> =
        front_csv.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    reported.sort_unstable();
    assert_eq!(reported, front, "{front_csv}");
    let out = dir.join("export");
    xnas(&["export", run.to_str().unwrap(), "--id", &front[0].to_string(), "--out", out.to_str().unwrap()]);
    assert!(out.join("state_dict.safetensors").is_file() && out.join("check.json").is_file());
    // `--evaluation` still takes the store's evaluation id.
    let evaluation_of = |candidate: i64| trained.iter().find(|(_, c)| *c == candidate).unwrap().0;
    let by_evaluation = dir.join("export-by-evaluation");
    xnas(&[
        "export",
        run.to_str().unwrap(),
        "--evaluation",
        &evaluation_of(front[0]).to_string(),
        "--out",
        by_evaluation.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(out.join("state_dict.safetensors")).unwrap(),
        std::fs::read(by_evaluation.join("state_dict.safetensors")).unwrap()
    );
    let evicted = trained.iter().map(|(_, c)| *c).find(|c| !front.contains(c)).unwrap();
    let refused =
        Command::new(XNAS).args(["export", run.to_str().unwrap(), "--id", &evicted.to_string()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    let named: Vec<String> = front.iter().map(i64::to_string).collect();
    assert!(stderr.contains(&format!("candidate(s) {} (", named.join(", "))), "{stderr}");
    assert!(stderr.contains("--keep-models all"), "{stderr}");

    // A run made before candidate ids named the folders by evaluation id: it reads unchanged.
    let old = dir.join("old");
    copy_dir(&run, &old);
    rusqlite::Connection::open(old.join("xnas.db"))
        .unwrap()
        .execute("DELETE FROM meta WHERE key = 'models'", [])
        .unwrap();
    let staged = old.join("models-staged");
    std::fs::rename(old.join("models"), &staged).unwrap();
    std::fs::create_dir(old.join("models")).unwrap();
    for candidate in &front {
        std::fs::rename(
            staged.join(candidate.to_string()),
            old.join("models").join(evaluation_of(*candidate).to_string()),
        )
        .unwrap();
    }
    let old_out = dir.join("export-old");
    xnas(&["export", old.to_str().unwrap(), "--id", &front[0].to_string(), "--out", old_out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(out.join("state_dict.safetensors")).unwrap(),
        std::fs::read(old_out.join("state_dict.safetensors")).unwrap()
    );
    // Resuming it keeps its folders as they are.
    xnas(&["resume", old.to_str().unwrap()]);
    let mut old_names: Vec<i64> = front.iter().map(|c| evaluation_of(*c)).collect();
    old_names.sort_unstable();
    assert_eq!(kept(&old), old_names);

    // `--keep-models all` keeps every trained one; `search.keep_models: "none"` keeps none.
    let one_generation = ["--set", "search.generations=1"];
    let all = dir.join("all");
    xnas(
        &[
            &["run", script.to_str().unwrap(), "--dir", all.to_str().unwrap(), "--keep-models", "all"][..],
            &one_generation,
        ]
        .concat(),
    );
    let mut trained_all: Vec<i64> = Store::open(&all)
        .unwrap()
        .evaluations(Some(EvalStatus::Done))
        .unwrap()
        .into_iter()
        .filter(|e| e.reused_from.is_none())
        .map(|e| e.candidate as i64)
        .collect();
    trained_all.sort_unstable();
    assert_eq!(trained_all.len(), 4);
    assert_eq!(kept(&all), trained_all);
    let none = dir.join("none");
    let keep_none = ["--set", "search.keep_models=none"];
    xnas(
        &[&["run", script.to_str().unwrap(), "--dir", none.to_str().unwrap()][..], &one_generation, &keep_none]
            .concat(),
    );
    assert!(kept(&none).is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The venv's Python (scripts/setup.sh installs xautodl into it).
fn python() -> PathBuf {
    let status = Command::new("bash").arg(Path::new(ROOT).join("scripts/setup.sh")).status().unwrap();
    assert!(status.success(), "scripts/setup.sh failed");
    std::env::var_os("XNAS_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        let venv = std::env::var_os("XNAS_VENV").map_or_else(|| Path::new(ROOT).join(".venv"), PathBuf::from);
        venv.join("bin/python")
    })
}

/// Builds xautodl's TinyNetwork from an export's description, loads its state dict with
/// strict=True (read with a minimal safetensors reader, so the test needs no other package),
/// runs the check images through it and prints the largest difference to xnas's logits.
const LOAD_IN_XAUTODL: &str = r#"
import json, struct, sys
import torch
from xautodl.models.cell_infers.tiny_network import TinyNetwork
from xautodl.models.cell_searchs.genotypes import Structure

def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    kinds = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[a:b]), dtype=kinds[info["dtype"]]).reshape(info["shape"])
    return tensors

out = sys.argv[1]
desc = json.load(open(f"{out}/model.json"))
check = json.load(open(f"{out}/check.json"))
net = TinyNetwork(desc["C"], desc["N"], Structure.str2structure(desc["arch"]), desc["num_classes"])
net.load_state_dict(read_safetensors(f"{out}/{desc['weights']}"), strict=True)
net.eval()
c = desc["trained_input_channels"]
_, h, w = desc["input_shape"]
x = torch.tensor(check["images"], dtype=torch.float32).reshape(-1, c, h, w)
mean = torch.tensor(desc["normalisation"]["mean"], dtype=torch.float32).view(1, c, 1, 1)
std = torch.tensor(desc["normalisation"]["std"], dtype=torch.float32).view(1, c, 1, 1)
x = (x / 255 - mean) / std
if desc.get("input_channels_replicate"):
    x = x.repeat(1, desc["input_channels_replicate"], 1, 1)
with torch.no_grad():
    _, logits = net(x)
ours = torch.tensor(check["logits"], dtype=torch.float64)
print(json.dumps({"max_abs_diff": (logits.double() - ours).abs().max().item(),
                  "spread": (ours.max() - ours.min()).item(), "images": len(check["images"])}))
"#;

#[test]
fn an_exported_model_loads_into_xautodl_and_gives_xnas_logits() {
    let python = python();
    let dir = temp_dir("export-xautodl");
    // Every op kind; C and N other than the defaults, one and two cells per stage.
    let cases = [
        ("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|", "4", "1"),
        ("|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|", "8", "2"),
    ];
    for (k, (arch, channels, cells)) in cases.into_iter().enumerate() {
        let model = dir.join(format!("model-{k}"));
        xnas(&[
            "eval",
            arch,
            "--train-subset",
            "300",
            "--val-subset",
            "50",
            "--test-subset",
            "50",
            "--epochs",
            "1",
            "--batch-size",
            "64",
            "--channels",
            channels,
            "--cells",
            cells,
            "--device",
            "cpu",
            "--save",
            model.to_str().unwrap(),
        ]);
        let out = dir.join(format!("export-{k}"));
        xnas(&["export", "--model", model.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let description: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
        assert_eq!(description["arch"], arch);
        assert_eq!(description["input_channels_replicate"], 3, "Fashion-MNIST is gray: {description}");
        assert_eq!(description["class_names"].as_array().unwrap().len(), 10);

        let loaded = Command::new(&python).arg("-c").arg(LOAD_IN_XAUTODL).arg(&out).output().unwrap();
        assert!(
            loaded.status.success(),
            "xautodl could not load the export of {arch} (scripts/setup.sh installs xautodl):\n{}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        let result: serde_json::Value = serde_json::from_slice(&loaded.stdout).unwrap();
        let diff = result["max_abs_diff"].as_f64().unwrap();
        assert!(diff < 1e-4, "{arch}: xautodl's logits differ from xnas's by {diff}");
        assert!(result["spread"].as_f64().unwrap() > 1e-3, "degenerate logits: {result}");
        assert_eq!(result["images"], 8);
    }
    std::fs::remove_dir_all(&dir).ok();
}
