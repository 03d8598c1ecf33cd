//! The serialisable part of an experiment: dataset, search space, training configuration,
//! search settings, objective names and directions, and the hypervolume reference point.
//!
//! Each section is a flat map of settings in the script (`exp.search(#{ population: 64 })`) and
//! on the command line (`--set search.population=16`); both go through [`Section::merge`], so an
//! unknown key is an error that lists the valid ones, and a bad value names its key. The run
//! store keeps an [`ExperimentSpec`] as JSON, and [`diff`] compares two of them after a reload.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use xnas_datasets::{DatasetName, ValidationSplit};
use xnas_moo::{Direction, Nsga2Config, PolynomialMutation, Problem, ReferencePoints, Sbx, SearchSpace, Survival};
use xnas_space::{Genome, Op, NUM_EDGES};
use xnas_wordnet::{LabelSynsets, SynsetOverride, WordNet, WordNetError};

use super::error::Location;
use crate::record::EvalConfig;

/// Which dataset, where its files are, how much of it to use, and how its labels map to WordNet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetSpec {
    /// `fashion-mnist`, `mnist`, `cifar10` or `imagenet16-120`.
    pub name: DatasetName,
    /// Where the dataset files are; `None` means the dataset's default location.
    pub data_dir: Option<PathBuf>,
    /// ImageNet16-120 only: the class → wnid list.
    pub wnids_file: Option<PathBuf>,
    /// Train on a seeded, class-stratified subset of this many training images.
    pub train_subset: Option<usize>,
    /// Validate (and measure introspectability) on this many validation images.
    pub val_subset: Option<usize>,
    /// Where validation images come from: a count (default 5000) or fraction of the official
    /// training split, seeded and class-stratified, or `"held-out"` (the official test split, as
    /// the authors' code did). A stored spec without it predates the setting: held-out.
    #[serde(default = "held_out")]
    pub validation: ValidationSplit,
    /// Measure the trust properties on a seeded, class-stratified subset of this many test images.
    pub test_subset: Option<usize>,
    /// Fraction in [0, 1) of training labels replaced, seeded, by another class (mislabel detection).
    pub label_noise: f64,
    /// Label → WordNet synset overrides (`"Bag": "bag.n.04"`) for WordNet-weighted scores.
    pub synsets: BTreeMap<String, String>,
    /// The WordNet 3.0 database directory; `None` means `$XNAS_WORDNET_DIR` or `/usr/share/wordnet`.
    pub wordnet_dir: Option<PathBuf>,
}

impl DatasetSpec {
    /// The label path-similarity matrix behind eq. 3–4, with the script's synset overrides: what
    /// a stored run's report and Optuna journal weigh class pairs by.
    pub fn label_similarity(&self) -> Result<Vec<Vec<f64>>, WordNetError> {
        let (wordnet, labels) = self.label_synsets()?;
        labels.similarity_matrix(&wordnet)
    }

    /// WordNet and the labels' synsets, with the script's overrides.
    pub fn label_synsets(&self) -> Result<(Arc<WordNet>, LabelSynsets), WordNetError> {
        let wordnet = WordNet::open_shared(self.wordnet_dir.as_deref())?;
        let overrides: Vec<_> = self.synsets.iter().map(|(label, synset)| SynsetOverride::new(label, synset)).collect();
        let labels = LabelSynsets::for_dataset(&wordnet, self.name, self.wnids_file.as_deref(), &overrides)?;
        Ok((wordnet, labels))
    }
}

fn held_out() -> ValidationSplit {
    ValidationSplit::HeldOut
}

impl Default for DatasetSpec {
    fn default() -> Self {
        DatasetSpec {
            name: DatasetName::FashionMnist,
            data_dir: None,
            wnids_file: None,
            train_subset: None,
            val_subset: None,
            validation: EvalConfig::default().validation,
            test_subset: None,
            label_noise: 0.0,
            synsets: BTreeMap::new(),
            wordnet_dir: None,
        }
    }
}

/// The NAS-Bench-201 space searched: the macro skeleton's size and the operations allowed on
/// each of the cell's six edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpaceSpec {
    /// Channels of the first stage (C; the paper's 16).
    pub channels: usize,
    /// Cells per stage (N; the paper's 5).
    pub cells: usize,
    /// Allowed operations per edge, in edge order e(1←0), e(2←0), e(2←1), e(3←0), e(3←1), e(3←2).
    /// In a script: one list for every edge or six lists, of NAS-Bench-201 names
    /// (`nor_conv_3x3`, `nor_conv_1x1`, `avg_pool_3x3`, `none`, `skip_connect`) or paper codes 0–4.
    #[serde(serialize_with = "serialize_ops", deserialize_with = "deserialize_ops")]
    pub ops: Vec<Vec<Op>>,
}

impl Default for SpaceSpec {
    /// The paper's network (C = 16, N = 5) with every operation on every edge.
    fn default() -> Self {
        SpaceSpec { channels: 16, cells: 5, ops: vec![Op::ALL.to_vec(); NUM_EDGES] }
    }
}

fn serialize_ops<S: serde::Serializer>(ops: &[Vec<Op>], serializer: S) -> Result<S::Ok, S::Error> {
    let names: Vec<Vec<&str>> = ops.iter().map(|edge| edge.iter().map(|op| op.nb201_name()).collect()).collect();
    names.serialize(serializer)
}

fn deserialize_ops<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Vec<Op>>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    parse_ops(&value).map_err(serde::de::Error::custom)
}

/// One op from a NAS-Bench-201 name, a paper name (`conv3x3`, `zeroize`, …) or a paper code.
fn parse_op(value: &Value) -> Result<Op, String> {
    let known = "nor_conv_3x3, nor_conv_1x1, avg_pool_3x3, none, skip_connect (or the paper's codes 0-4)";
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|c| u8::try_from(c).ok())
            .and_then(Op::from_code)
            .ok_or_else(|| format!("op code {n} is not one of 0-4; operations: {known}")),
        Value::String(s) => Op::from_nb201_name(s)
            .or_else(|| serde_json::from_value::<Op>(Value::String(s.clone())).ok())
            .ok_or_else(|| format!("unknown operation {s:?}; operations: {known}")),
        other => Err(format!("an operation is a name or a code, not {other}; operations: {known}")),
    }
}

fn parse_ops(value: &Value) -> Result<Vec<Vec<Op>>, String> {
    let Value::Array(items) = value else {
        return Err("ops must be a list of operations (used on every edge) or six such lists (one per edge)".into());
    };
    let per_edge = !items.is_empty() && items.iter().all(Value::is_array);
    let edges: Vec<Vec<Op>> = if per_edge {
        if items.len() != NUM_EDGES {
            return Err(format!("ops has {} per-edge lists; the cell has {NUM_EDGES} edges", items.len()));
        }
        items
            .iter()
            .map(|edge| edge.as_array().into_iter().flatten().map(parse_op).collect::<Result<Vec<_>, _>>())
            .collect::<Result<_, _>>()?
    } else {
        vec![items.iter().map(parse_op).collect::<Result<Vec<_>, _>>()?; NUM_EDGES]
    };
    let mut edges = edges;
    for (index, edge) in edges.iter_mut().enumerate() {
        edge.sort();
        edge.dedup();
        if edge.is_empty() {
            return Err(format!("edge {index} allows no operation; give it at least one"));
        }
    }
    Ok(edges)
}

impl SpaceSpec {
    /// The search's variables: edge `i` takes an index into `ops[i]` (so with every op allowed,
    /// the variables are the paper's op codes).
    pub fn search_space(&self) -> SearchSpace {
        let lower = vec![0; NUM_EDGES];
        let upper: Vec<i64> = self.ops.iter().map(|edge| edge.len() as i64 - 1).collect();
        SearchSpace::integers(&lower, &upper).expect("every edge allows at least one op")
    }

    /// The genome a search vector stands for.
    pub fn decode(&self, x: &[f64]) -> Result<Genome, String> {
        if x.len() != NUM_EDGES {
            return Err(format!("a genome has {NUM_EDGES} variables, got {}", x.len()));
        }
        let mut ops = [Op::Zeroize; NUM_EDGES];
        for (edge, (&value, allowed)) in x.iter().zip(&self.ops).enumerate() {
            let index = value.round();
            if !(0.0..allowed.len() as f64).contains(&index) {
                return Err(format!("variable {edge} is {value}; edge {edge} allows {} operation(s)", allowed.len()));
            }
            ops[edge] = allowed[index as usize];
        }
        Ok(Genome(ops))
    }

    /// The search vector of a genome, or the first edge whose op the space does not allow.
    pub fn encode(&self, genome: &Genome) -> Result<Vec<f64>, (usize, Op)> {
        genome
            .0
            .iter()
            .zip(&self.ops)
            .enumerate()
            .map(|(edge, (op, allowed))| allowed.iter().position(|a| a == op).map(|i| i as f64).ok_or((edge, *op)))
            .collect()
    }

    /// Every distinct valid cell the space allows, one genome per canonical form (the first in
    /// [`Genome::all`]'s order): what an exhaustive search trains. 6,461 for the full space.
    pub fn distinct_cells(&self) -> Vec<Genome> {
        xnas_space::distinct_valid_cells(Genome::all().filter(|g| self.encode(g).is_ok()))
    }

    /// Whether some genome of the space connects the cell's input to its output.
    fn has_valid_genome(&self) -> bool {
        Genome::all().any(|g| g.is_valid() && self.encode(&g).is_ok())
    }
}

/// Which search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// NSGA-II (R-NSGA-II when reference points are given).
    Nsga2,
    /// The single-objective GA (the paper's ✗ baseline): NSGA-II's machinery, survival on one objective.
    Ga,
    /// Uniform random sampling, `population` per generation.
    Random,
    /// A fixed list of candidates trained once, in one generation: `genomes`, and the final front
    /// of the run in `front_of` (how `xnas refine` trains a front again, with the regularizer).
    Fixed,
    /// Every distinct valid cell of the space (one per canonical form, see
    /// [`SpaceSpec::distinct_cells`]) trained once, in an order shuffled by `seed`, in one
    /// generation: the run's store is then a table of the space (`xnas run --table`).
    Exhaustive,
}

/// Which trained models a run keeps under `models/<evaluation id>/` (weights, record, input
/// normalisation), for `xnas export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepModels {
    /// Those on the run's current front (non-dominated among all finished evaluations in the
    /// search objectives); a model that falls off the front is deleted.
    #[default]
    Front,
    /// Every trained model.
    All,
    /// None.
    None,
}

impl KeepModels {
    /// The setting's name in scripts and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            KeepModels::Front => "front",
            KeepModels::All => "all",
            KeepModels::None => "none",
        }
    }
}

/// What a replay (`search.table`, `xnas run --table`) does with a cell its table lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableMiss {
    /// Stop the run with an error naming the cell and why the table cannot answer it.
    #[default]
    Error,
    /// Train it as a run without a table would (on the run's executor, on the wall clock): the
    /// run's records are then the table's and the new ones, which a table export keeps together.
    Train,
}

impl TableMiss {
    fn is_error(&self) -> bool {
        *self == TableMiss::Error
    }
}

/// The search settings. Defaults are the paper's (Table B1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSpec {
    /// `nsga2`, `ga` or `random`.
    pub algorithm: Algorithm,
    /// Population size (random search: candidates per generation).
    pub population: usize,
    /// Offspring per generation; `None` means `population`.
    pub offspring: Option<usize>,
    /// Generations to run, the initial population included (pymoo's `n_gen`).
    pub generations: Option<u64>,
    /// Or: stop once this many candidates were evaluated.
    pub evaluations: Option<u64>,
    /// And: stop breeding once the search has run this many seconds (wall clock, from the start of
    /// this `xnas run` or `xnas resume`); what is in flight then finishes, a generation included.
    /// For comparisons at an equal time budget (e.g. with and without early stopping).
    pub max_seconds: Option<f64>,
    pub seed: u64,
    /// SBX: probability that a mating crosses at all (paper 0.9).
    pub crossover_probability: f64,
    /// SBX: probability that each variable crosses (pymoo 0.5).
    pub crossover_per_variable: f64,
    /// SBX distribution index η (paper 3).
    pub crossover_eta: f64,
    /// Polynomial mutation per-variable probability; `None` means 1/6 (paper).
    pub mutation_probability: Option<f64>,
    /// Polynomial mutation distribution index η (paper 3).
    pub mutation_eta: f64,
    /// Mating rounds per generation before missing offspring are sampled at random (pymoo 100).
    pub max_mating_attempts: usize,
    /// R-NSGA-II reference points, one value per objective in the objectives' own directions;
    /// empty means plain NSGA-II.
    pub reference_points: Vec<Vec<f64>>,
    /// R-NSGA-II: normalised distance within which points near a kept one are pushed back.
    pub epsilon: f64,
    /// R-NSGA-II: per-objective distance weights; `None` means equal.
    pub reference_weights: Option<Vec<f64>>,
    /// `ga` only: the objective to optimise (default: the first).
    pub objective: Option<String>,
    /// Which trained models the run keeps (`front`, `all`, `none`); `xnas run --keep-models` overrides it.
    pub keep_models: KeepModels,
    /// An Optuna journal the run appends every evaluation to as it goes (for optuna-dashboard);
    /// `xnas run --optuna FILE` overrides it.
    pub optuna: Option<PathBuf>,
    /// A table (a run folder or a table file) whose records answer the search's evaluations
    /// instead of trainings; read when the run starts (relative to where xnas runs); `xnas run
    /// --table` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<PathBuf>,
    /// With a table: what a cell the table lacks does (`error` or `train`); `xnas run
    /// --table-miss` overrides it.
    #[serde(skip_serializing_if = "TableMiss::is_error")]
    pub table_miss: TableMiss,
    /// `fixed` only (other algorithms ignore it): the architectures to train (arch strings or op codes).
    pub genomes: Vec<String>,
    /// `fixed` only: a run folder whose final front (in its report axes) is trained too; read
    /// when the run starts, which then lists those genomes in `genomes`.
    pub front_of: Option<PathBuf>,
}

impl Default for SearchSpec {
    fn default() -> Self {
        SearchSpec {
            algorithm: Algorithm::Nsga2,
            population: 64,
            offspring: None,
            generations: None,
            evaluations: None,
            max_seconds: None,
            seed: 0,
            crossover_probability: 0.9,
            crossover_per_variable: 0.5,
            crossover_eta: 3.0,
            mutation_probability: None,
            mutation_eta: 3.0,
            max_mating_attempts: 100,
            reference_points: Vec::new(),
            epsilon: 0.001,
            reference_weights: None,
            objective: None,
            keep_models: KeepModels::Front,
            optuna: None,
            table: None,
            table_miss: TableMiss::Error,
            genomes: Vec::new(),
            front_of: None,
        }
    }
}

/// When a search stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// After this many generations (the initial population is generation 1).
    Generations(u64),
    /// Once this many candidates were evaluated (failed ones included).
    Evaluations(u64),
}

/// One objective: its name and whether it is maximised. The closure lives in the `Experiment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveSpec {
    pub name: String,
    pub direction: Direction,
    /// Where `exp.objective(…)` was called.
    pub declared_at: Location,
}

/// Everything an experiment script declares except its closures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSpec {
    pub name: String,
    pub dataset: DatasetSpec,
    pub space: SpaceSpec,
    /// The complete training and evaluation configuration of every candidate: the `training`
    /// section, with dataset and space settings filled in from those sections.
    pub training: EvalConfig,
    pub search: SearchSpec,
    pub objectives: Vec<ObjectiveSpec>,
    /// The hypervolume reference point, one value per objective in its own direction.
    pub reference_point: Vec<f64>,
    /// Whether `reference_point` is the default (then it follows a `--set dataset.name=…`).
    #[serde(default)]
    pub reference_point_is_default: bool,
    /// The report's two axes, each an objective's name or a record field ([`REPORT_FIELDS`]);
    /// empty means [`DEFAULT_REPORT_AXES`]. Table 1's hypervolume and the analyses use them.
    #[serde(default)]
    pub report_axes: Vec<String>,
    /// Where the repair closure was declared, if there is one.
    pub repair: Option<Location>,
    /// Where the per-generation callback was declared, if there is one.
    pub on_generation: Option<Location>,
    /// Where the early-stopping rule (`exp.stop_early`) was declared, if there is one.
    #[serde(default)]
    pub stop_early: Option<Location>,
}

/// The report axes when a script sets none: the records' validation accuracy and plain
/// introspectability (eq. 1), the paper's plane.
pub const DEFAULT_REPORT_AXES: [&str; 2] = ["val_accuracy", "introspectability"];

/// Record fields a report axis can name, each maximised, with its hypervolume reference
/// (`None`: chance accuracy, 1/N_C). Any other quantity is an objective's name away.
pub const REPORT_FIELDS: &[(&str, Option<f64>)] =
    &[("val_accuracy", None), ("introspectability", Some(0.0)), ("wordnet_introspectability", Some(0.0))];

/// `EvalConfig` keys that the dataset and space sections own, with the key that sets each.
pub(crate) const TRAINING_OWNED: &[(&str, &str)] = &[
    ("dataset", "dataset.name"),
    ("data_dir", "dataset.data_dir"),
    ("wnids_file", "dataset.wnids_file"),
    ("train_subset", "dataset.train_subset"),
    ("val_subset", "dataset.val_subset"),
    ("validation", "dataset.validation"),
    ("test_subset", "dataset.test_subset"),
    ("label_noise", "dataset.label_noise"),
    ("channels", "space.channels"),
    ("cells_per_stage", "space.cells"),
];

/// What a change of a setting redoes, and whether the training hash includes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// What a training computes: hashed; a change needs new evaluations.
    Training,
    /// Only where and how fast a training runs (the same arithmetic up to rounding): not hashed,
    /// so a change alone trains nothing again (resume, `--from`).
    Execution,
    /// Read by the objectives: a change re-scores the archive.
    Scoring,
    /// Steers the search: a change applies from the next generation.
    Search,
    /// Redoes nothing: the name, the report's axes, where the closures were declared.
    Reporting,
}

/// Every setting's kind, by its `--set` key or its whole section: an entry naming the key decides,
/// else one naming its section, else it is [`SettingKind::Reporting`].
const SETTING_KINDS: &[(SettingKind, &[&str])] = &[
    (SettingKind::Execution, &["training.device", "training.channels_last", "training.cudnn_benchmark"]),
    (SettingKind::Scoring, &["dataset.synsets", "dataset.wordnet_dir", "objectives"]),
    (SettingKind::Search, &["search", "reference_point"]),
    (SettingKind::Training, &["dataset", "space", "training"]),
];

/// The kind of the setting `key` (`section.key`, or a top-level key such as `objectives`).
pub fn setting_kind(key: &str) -> SettingKind {
    let section = key.split_once('.').map_or(key, |(section, _)| section);
    let named = |name: &str| SETTING_KINDS.iter().find(|(_, keys)| keys.contains(&name)).map(|(kind, _)| *kind);
    named(key).or_else(|| named(section)).unwrap_or(SettingKind::Reporting)
}

/// Training keys left out of the serialised configuration while unset or `"all"` (so that
/// configurations from before them keep their training hash), which a section still accepts.
const TRAINING_UNSET_WHEN_NONE: &[&str] = &["epoch_validation", "trust_mean_images"];

/// Search keys left out of the serialised spec while unset or default (so that specs stored
/// before them read back byte for byte), which a section still accepts.
const SEARCH_UNSET_WHEN_NONE: &[&str] = &["table", "table_miss"];

/// Cells of the NAS-Bench-201 space: five operations on each of six edges.
const SPACE_CELLS: usize = 15_625;

/// The largest `search.population` (and `search.offspring`): a few times the whole space, far
/// beyond any useful search, and small enough that a population's genomes, objective vectors and
/// sorting fit in memory.
pub const MAX_POPULATION: usize = 100_000;

/// Validation images the per-epoch measurement uses when a script sets an early-stopping rule
/// and no `training.epoch_validation` (fewer when the validation split is known to be smaller).
pub const DEFAULT_EPOCH_VALIDATION: usize = 1000;

/// A section of an experiment: a flat map of settings that a script sets with
/// `exp.<section>(#{ … })` and the command line with `--set <section>.<key>=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dataset,
    Space,
    Training,
    Search,
}

impl Section {
    pub const ALL: [Section; 4] = [Section::Dataset, Section::Space, Section::Training, Section::Search];

    /// The section's name in scripts and `--set` keys.
    pub fn name(self) -> &'static str {
        match self {
            Section::Dataset => "dataset",
            Section::Space => "space",
            Section::Training => "training",
            Section::Search => "search",
        }
    }

    pub fn from_name(name: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The section's keys: the fields of its serialised form, less those another section owns.
    pub fn keys(self) -> Vec<String> {
        let owned: &[(&str, &str)] = if self == Section::Training { TRAINING_OWNED } else { &[] };
        let template = self.value(&ExperimentSpec::new(""));
        let fields = template.as_object().into_iter().flatten().map(|(key, _)| key.clone());
        let unset: &[&str] = match self {
            Section::Training => TRAINING_UNSET_WHEN_NONE,
            Section::Search => SEARCH_UNSET_WHEN_NONE,
            Section::Dataset | Section::Space => &[],
        };
        let mut keys: Vec<String> = fields.filter(|key| !owned.iter().any(|(o, _)| o == key)).collect();
        for key in unset {
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_string());
            }
        }
        keys
    }

    fn value(self, spec: &ExperimentSpec) -> Value {
        let value = match self {
            Section::Dataset => serde_json::to_value(&spec.dataset),
            Section::Space => serde_json::to_value(&spec.space),
            Section::Training => serde_json::to_value(&spec.training),
            Section::Search => serde_json::to_value(&spec.search),
        };
        value.expect("sections serialise")
    }

    /// Sets the `given` keys of this section of `spec`, for a script call and a `--set` alike:
    /// an unknown key is an error that lists the valid ones, a bad value one that names its key.
    pub fn merge(self, spec: &mut ExperimentSpec, given: &Map<String, Value>) -> Result<(), SpecError> {
        let valid = self.keys();
        let current = self.value(spec);
        match self {
            Section::Dataset => spec.dataset = self.merged(&current, given, &valid)?,
            Section::Space => spec.space = self.merged(&current, given, &valid)?,
            Section::Training => spec.training = self.merged(&current, given, &valid)?,
            Section::Search => spec.search = self.merged(&current, given, &valid)?,
        }
        Ok(())
    }

    /// `given` on top of `current` (the section serialised), deserialised.
    fn merged<T: DeserializeOwned>(
        self,
        current: &Value,
        given: &Map<String, Value>,
        valid: &[String],
    ) -> Result<T, SpecError> {
        let mut merged = current.as_object().cloned().unwrap_or_default();
        for (key, value) in given {
            if !valid.contains(key) {
                return Err(SpecError::UnknownKey { section: Some(self), key: key.clone(), valid: valid.to_vec() });
            }
            // A whole number given where a float is expected is fine in JSON; a float where an
            // integer is expected is not, and serde says so below.
            merged.insert(key.clone(), value.clone());
        }
        serde_json::from_value::<T>(Value::Object(merged)).map_err(|whole| {
            // Find the key to blame: the first given key that breaks the current section alone.
            let blamed = given.iter().find_map(|(key, value)| {
                let mut single = current.as_object().cloned().unwrap_or_default();
                single.insert(key.clone(), value.clone());
                let error = serde_json::from_value::<T>(Value::Object(single)).err()?;
                Some((key.clone(), format!("{error} (got {value})")))
            });
            let (key, message) = blamed.unwrap_or_else(|| ("(section)".into(), whole.to_string()));
            let message = format!("{}.{key}: {message}", self.name());
            SpecError::Invalid { section: Some(self), key: Some(key), message }
        })
    }
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A rejected setting, or settings that do not fit together, with the part of the experiment at
/// fault so that the caller can say where (a script line, a `--set` argument).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// A key that `section` (or, when `None`, the experiment) does not have.
    #[error("{}", unknown_key_message(*section, key, valid))]
    UnknownKey { section: Option<Section>, key: String, valid: Vec<String> },
    /// A bad value or combination; `section` and `key` name the setting at fault where one is
    /// (`reference_point` is a key without a section).
    #[error("{message}")]
    Invalid { section: Option<Section>, key: Option<String>, message: String },
}

fn unknown_key_message(section: Option<Section>, key: &str, valid: &[String]) -> String {
    let owner = TRAINING_OWNED.iter().find(|(k, _)| *k == key).filter(|_| section == Some(Section::Training));
    match (section, owner) {
        (Some(section), Some((_, owner))) => format!("{section}.{key} is not a training setting: set it as {owner}"),
        (Some(section), None) => format!("unknown setting {key:?} in {section}; valid keys: {}", valid.join(", ")),
        (None, _) => format!("unknown setting {key:?}; valid keys: {}", valid.join(", ")),
    }
}

impl SpecError {
    fn invalid(section: Section, message: impl Into<String>) -> SpecError {
        SpecError::Invalid { section: Some(section), key: None, message: message.into() }
    }

    fn general(message: impl Into<String>) -> SpecError {
        SpecError::Invalid { section: None, key: None, message: message.into() }
    }

    fn reference_point(message: String) -> SpecError {
        SpecError::Invalid { section: None, key: Some("reference_point".into()), message }
    }

    /// The section at fault, if the error is about one.
    pub fn section(&self) -> Option<Section> {
        match self {
            SpecError::UnknownKey { section, .. } | SpecError::Invalid { section, .. } => *section,
        }
    }

    /// Whether the error is about the hypervolume reference point.
    pub fn is_about_reference_point(&self) -> bool {
        matches!(self, SpecError::Invalid { section: None, key: Some(key), .. } if key == "reference_point")
    }
}

impl ExperimentSpec {
    /// The directions of the objectives, in order.
    pub fn directions(&self) -> Vec<Direction> {
        self.objectives.iter().map(|o| o.direction).collect()
    }

    /// The search's problem: the space's variables and the objectives' directions.
    pub fn problem(&self) -> Problem {
        Problem { space: self.space.search_space(), directions: self.directions() }
    }

    /// When the search stops.
    pub fn budget(&self) -> Budget {
        if matches!(self.search.algorithm, Algorithm::Fixed | Algorithm::Exhaustive) {
            return Budget::Generations(1);
        }
        match (self.search.generations, self.search.evaluations) {
            (_, Some(evaluations)) => Budget::Evaluations(evaluations),
            (Some(generations), None) => Budget::Generations(generations),
            (None, None) => unreachable!("validate() requires a budget"),
        }
    }

    /// The index of the objective the single-objective GA optimises.
    pub fn ga_objective(&self) -> Option<usize> {
        match &self.search.objective {
            Some(name) => self.objectives.iter().position(|o| &o.name == name),
            None => Some(0),
        }
    }

    /// The NSGA-II configuration for `nsga2` and `ga` (for `random`, use [`ExperimentSpec::problem`],
    /// `search.population` and `search.seed` with `xnas_moo::RandomSearch`).
    pub fn nsga2_config(&self) -> Nsga2Config {
        let s = &self.search;
        let survival = match s.algorithm {
            Algorithm::Ga => Survival::SingleObjective { objective: self.ga_objective().unwrap_or(0) },
            _ if !s.reference_points.is_empty() => Survival::ReferencePoints(ReferencePoints {
                points: s.reference_points.clone(),
                epsilon: s.epsilon,
                weights: s.reference_weights.clone(),
            }),
            _ => Survival::RankAndCrowding,
        };
        Nsga2Config {
            problem: self.problem(),
            population_size: s.population,
            offspring_size: s.offspring.unwrap_or(s.population),
            crossover: Sbx {
                probability: s.crossover_probability,
                per_variable: s.crossover_per_variable,
                eta: s.crossover_eta,
            },
            mutation: PolynomialMutation { per_variable: s.mutation_probability, eta: s.mutation_eta },
            survival,
            max_mating_attempts: s.max_mating_attempts,
            seed: s.seed,
        }
    }

    /// Copies the dataset and space settings into the training configuration, which holds
    /// them for the trainer; the sections own them (see `TRAINING_OWNED`).
    pub(crate) fn normalise(&mut self) {
        let d = &self.dataset;
        let t = &mut self.training;
        t.dataset = d.name;
        t.data_dir = d.data_dir.clone();
        t.wnids_file = d.wnids_file.clone();
        t.train_subset = d.train_subset;
        t.val_subset = d.val_subset;
        t.validation = d.validation;
        t.test_subset = d.test_subset;
        t.label_noise = d.label_noise;
        t.channels = self.space.channels;
        t.cells_per_stage = self.space.cells;
        if self.stop_early.is_some() && self.training.epoch_validation.is_none() {
            self.training.epoch_validation = Some(self.default_epoch_validation());
        }
    }

    /// The per-epoch validation subset an early-stopping rule gets when the training section sets
    /// none: [`DEFAULT_EPOCH_VALIDATION`] images, or all validation images where fewer are known
    /// (`dataset.val_subset`, a validation count).
    pub fn default_epoch_validation(&self) -> usize {
        let count = match self.dataset.validation {
            ValidationSplit::TrainCount(n) => Some(n),
            ValidationSplit::TrainFraction(_) | ValidationSplit::HeldOut => None,
        };
        [Some(DEFAULT_EPOCH_VALIDATION), self.dataset.val_subset, count].into_iter().flatten().min().unwrap_or(1).max(1)
    }

    /// Checks the whole (normalised) experiment.
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        let t = &self.training;
        if self.space.channels == 0 || self.space.cells == 0 {
            return Err(SpecError::invalid(Section::Space, "space.channels and space.cells must be at least 1"));
        }
        if self.space.ops.len() != NUM_EDGES {
            return Err(SpecError::invalid(Section::Space, format!("space.ops needs {NUM_EDGES} edges")));
        }
        if !self.space.has_valid_genome() {
            return Err(SpecError::invalid(
                Section::Space,
                "space.ops allows no cell whose output is connected to its input; allow more operations",
            ));
        }
        if t.epochs == 0 || t.batch_size == 0 {
            return Err(SpecError::invalid(
                Section::Training,
                "training.epochs and training.batch_size must be at least 1",
            ));
        }
        if self.objectives.is_empty() {
            return Err(SpecError::general(
                "the experiment has no objective; declare one with exp.objective(\"accuracy\", \"max\", |r| r.val_accuracy)",
            ));
        }
        for (i, o) in self.objectives.iter().enumerate() {
            if self.objectives[..i].iter().any(|p| p.name == o.name) {
                return Err(SpecError::general(format!(
                    "two objectives are named {:?}; objective names must differ",
                    o.name
                )));
            }
        }
        let s = &self.search;
        let search = |message: String| Err(SpecError::invalid(Section::Search, message));
        self.validate_report_axes()?;
        if s.algorithm == Algorithm::Fixed {
            self.validate_fixed()?;
            return self.validate_reference_point();
        }
        if s.algorithm == Algorithm::Exhaustive {
            return self.validate_exhaustive();
        }
        match (s.generations, s.evaluations) {
            (None, None) => {
                return search(
                    "the search has no budget: set search.generations (e.g. 18) or search.evaluations".into(),
                )
            }
            (Some(_), Some(_)) => {
                return search("set one of search.generations and search.evaluations, not both".into())
            }
            (Some(0), _) | (_, Some(0)) => return search("the search budget must be at least 1".into()),
            _ => {}
        }
        for (key, size) in [("population", Some(s.population)), ("offspring", s.offspring)] {
            if let Some(size) = size.filter(|&n| n > MAX_POPULATION) {
                return search(format!(
                    "search.{key} = {size}: must be at most {MAX_POPULATION} (the whole NAS-Bench-201 space has \
                     {} cells; a larger population only repeats them, and its bookkeeping would not fit in memory)",
                    SPACE_CELLS
                ));
            }
        }
        if let Some(seconds) = s.max_seconds.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return search(format!("search.max_seconds = {seconds}: must be a number of seconds above 0"));
        }
        if s.algorithm == Algorithm::Ga && self.ga_objective().is_none() {
            let names: Vec<&str> = self.objectives.iter().map(|o| o.name.as_str()).collect();
            return search(format!(
                "search.objective {:?} is not an objective; objectives: {}",
                s.objective.as_deref().unwrap_or(""),
                names.join(", ")
            ));
        }
        if s.algorithm != Algorithm::Ga && s.objective.is_some() {
            return search(
                "search.objective picks the objective of the single-objective GA; set algorithm: \"ga\" or remove it"
                    .into(),
            );
        }
        self.validate_reference_point()?;
        if s.algorithm == Algorithm::Random && !s.reference_points.is_empty() {
            return search("search.reference_points steer NSGA-II; random search does not use them".into());
        }
        xnas_moo::Nsga2::new(self.nsga2_config()).map(|_| ()).or_else(|e| search(format!("search: {e}")))
    }

    fn validate_reference_point(&self) -> Result<(), SpecError> {
        let m = self.objectives.len();
        if self.reference_point.len() != m || !self.reference_point.iter().all(|v| v.is_finite()) {
            return Err(SpecError::reference_point(format!(
                "the hypervolume reference point {:?} needs {m} finite value(s), one per objective",
                self.reference_point
            )));
        }
        Ok(())
    }

    /// The report axes' names, the default where the script sets none.
    pub fn report_axis_names(&self) -> [String; 2] {
        match self.report_axes.as_slice() {
            [first, second] => [first.clone(), second.clone()],
            _ => DEFAULT_REPORT_AXES.map(str::to_string),
        }
    }

    /// Two axes, each a maximised objective or a record field of [`REPORT_FIELDS`].
    fn validate_report_axes(&self) -> Result<(), SpecError> {
        let bad = |message: String| SpecError::Invalid { section: None, key: Some("report_axes".into()), message };
        if self.report_axes.is_empty() {
            return Ok(());
        }
        if self.report_axes.len() != 2 {
            return Err(bad(format!(
                "report_axes needs two names (the figures' y and x axes), got {}: {:?}",
                self.report_axes.len(),
                self.report_axes
            )));
        }
        if self.report_axes[0] == self.report_axes[1] {
            return Err(bad(format!(
                "the two report axes are both {:?}; name two different ones",
                self.report_axes[0]
            )));
        }
        for axis in &self.report_axes {
            match self.objectives.iter().find(|o| &o.name == axis) {
                Some(o) if o.direction == Direction::Minimise => {
                    return Err(bad(format!(
                        "report axis {axis:?} is a minimised objective; report axes are maximised (declare its \
                         negation as an objective, e.g. |r| -r.params, and name that)"
                    )))
                }
                Some(_) => {}
                None if REPORT_FIELDS.iter().any(|(field, _)| field == axis) => {}
                None => {
                    let objectives: Vec<&str> = self.objectives.iter().map(|o| o.name.as_str()).collect();
                    let fields: Vec<&str> = REPORT_FIELDS.iter().map(|(field, _)| *field).collect();
                    return Err(bad(format!(
                        "report axis {axis:?} is neither an objective ({}) nor a record field ({})",
                        objectives.join(", "),
                        fields.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// An exhaustive search trains every cell once in one generation, so a budget, a population or
    /// search-steering settings would be silently ignored: each is refused, naming itself.
    fn validate_exhaustive(&self) -> Result<(), SpecError> {
        let s = &self.search;
        let defaults = SearchSpec::default();
        let set: Vec<&str> = [
            ("generations", s.generations.is_some()),
            ("evaluations", s.evaluations.is_some()),
            ("population", s.population != defaults.population),
            ("offspring", s.offspring.is_some()),
            ("reference_points", !s.reference_points.is_empty()),
            ("objective", s.objective.is_some()),
            ("genomes", !s.genomes.is_empty()),
            ("front_of", s.front_of.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect();
        if let Some(first) = set.first() {
            return Err(SpecError::invalid(
                Section::Search,
                format!(
                    "search.algorithm \"exhaustive\" trains every distinct cell of the space once ({} here), so \
                     its budget is the space: remove search.{} (set: {}); restrict the space with space.ops, or \
                     stop the run early with search.max_seconds",
                    self.space.distinct_cells().len(),
                    first,
                    set.iter().map(|k| format!("search.{k}")).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if let Some(seconds) = s.max_seconds.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(SpecError::invalid(
                Section::Search,
                format!("search.max_seconds = {seconds}: must be a number of seconds above 0"),
            ));
        }
        self.validate_reference_point()
    }

    /// A fixed search's genomes, each of the space. (That it has candidates at all — genomes or
    /// a `front_of` run — is checked when the run starts, so `--set` may give them in any order.)
    fn validate_fixed(&self) -> Result<(), SpecError> {
        let search = |message: String| Err(SpecError::invalid(Section::Search, message));
        for text in &self.search.genomes {
            let genome: Genome = match text.parse() {
                Ok(genome) => genome,
                Err(e) => return search(format!("search.genomes: {text:?}: {e}")),
            };
            if let Err((edge, op)) = self.space.encode(&genome) {
                return search(format!(
                    "search.genomes: {text:?} puts {} on edge {edge}, which space.ops does not allow there",
                    op.nb201_name()
                ));
            }
        }
        Ok(())
    }

    /// The default hypervolume reference point: chance accuracy (1/N_C) for a maximised
    /// objective whose name mentions accuracy, 0 for other maximised objectives (the paper's
    /// (0, 1/N_C) for introspectability and accuracy). A minimised objective has no natural
    /// reference, so then the script must give one.
    pub(crate) fn default_reference_point(&self) -> Result<Vec<f64>, String> {
        let chance = 1.0 / self.dataset.name.num_classes() as f64;
        self.objectives
            .iter()
            .map(|o| match o.direction {
                Direction::Maximise if o.name.to_ascii_lowercase().contains("acc") => Ok(chance),
                Direction::Maximise => Ok(0.0),
                Direction::Minimise => Err(format!(
                    "objective {:?} is minimised, so there is no default hypervolume reference point; \
                     give one with exp.reference_point([...]) (a value a little worse than any candidate's)",
                    o.name
                )),
            })
            .collect()
    }

    /// Sets one `section.key` (or `name`, `reference_point`) to a value given as text: JSON
    /// (`16`, `0.5`, `true`, `[0.1, 0]`, `"x"`) or, failing that, a plain string. An unknown key
    /// is a [`SpecError::UnknownKey`] listing every key (see [`ExperimentSpec::valid_keys`]).
    pub fn set(&mut self, key: &str, text: &str) -> Result<(), SpecError> {
        let value: Value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
        let unknown = || SpecError::UnknownKey { section: None, key: key.to_string(), valid: Self::valid_keys() };
        let bad = |message: String| SpecError::Invalid { section: None, key: Some(key.to_string()), message };
        match key.split_once('.') {
            None if key == "name" => {
                self.name = value.as_str().map(str::to_string).ok_or_else(|| bad("a name is a string".into()))?;
            }
            None if key == "reference_point" => {
                self.reference_point_is_default = false;
                self.reference_point =
                    serde_json::from_value(value).map_err(|e| bad(format!("{e}: give a list, e.g. [0.1,0]")))?;
            }
            None if key == "report_axes" => {
                self.report_axes = serde_json::from_value(value)
                    .map_err(|e| bad(format!("{e}: give a list, e.g. [\"accuracy\",\"introspectability\"]")))?;
            }
            None => return Err(unknown()),
            Some((section, field)) => {
                let section = Section::from_name(section).ok_or_else(unknown)?;
                let given: Map<String, Value> = [(field.to_string(), value)].into_iter().collect();
                section.merge(self, &given).map_err(|e| match e {
                    SpecError::UnknownKey { .. } => unknown(),
                    invalid => invalid,
                })?;
            }
        }
        if self.reference_point_is_default {
            self.reference_point = self.default_reference_point().map_err(bad)?;
        }
        self.normalise();
        self.validate()
    }

    /// A spec with every setting at its default and no objective.
    pub(crate) fn new(name: &str) -> ExperimentSpec {
        ExperimentSpec {
            name: name.to_string(),
            dataset: DatasetSpec::default(),
            space: SpaceSpec::default(),
            training: EvalConfig::default(),
            search: SearchSpec::default(),
            objectives: Vec::new(),
            reference_point: Vec::new(),
            reference_point_is_default: false,
            report_axes: Vec::new(),
            repair: None,
            on_generation: None,
            stop_early: None,
        }
    }

    /// Every key `--set` accepts.
    pub fn valid_keys() -> Vec<String> {
        let mut keys = vec!["name".to_string(), "reference_point".to_string(), "report_axes".to_string()];
        for section in Section::ALL {
            keys.extend(section.keys().into_iter().map(|k| format!("{section}.{k}")));
        }
        keys
    }
}

/// One setting that differs between two experiments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// `section.key`, e.g. `training.epochs` or `objectives`.
    pub key: String,
    pub old: String,
    pub new: String,
}

/// What changed between two versions of an experiment, and what that means for a running search.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ExperimentDiff {
    pub changes: Vec<Change>,
    /// Whether any source text (the script or an imported module) changed.
    pub sources_changed: bool,
}

impl ExperimentDiff {
    /// Whether candidates must be trained again: a [`SettingKind::Training`] setting changed.
    pub fn needs_training(&self) -> bool {
        self.changed(SettingKind::Training)
    }

    /// Whether the archive must be re-scored: the source or a [`SettingKind::Scoring`] setting changed.
    pub fn needs_rescoring(&self) -> bool {
        self.sources_changed || self.changed(SettingKind::Scoring)
    }

    fn changed(&self, kind: SettingKind) -> bool {
        self.changes.iter().any(|c| setting_kind(&c.key) == kind)
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && !self.sources_changed
    }
}

impl std::fmt::Display for ExperimentDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("no change");
        }
        let mut parts: Vec<String> = self.changes.iter().map(|c| format!("{}: {} → {}", c.key, c.old, c.new)).collect();
        if self.sources_changed && self.changes.is_empty() {
            parts.push("script text (objective, repair or callback code)".into());
        }
        let consequence = match (self.needs_training(), self.needs_rescoring()) {
            (true, _) => "training changed: new evaluations are needed",
            (false, true) => "objectives changed: the archive is re-scored, nothing is retrained",
            (false, false) => "search settings changed: they apply from the next generation",
        };
        write!(f, "{}; {consequence}", parts.join("; "))
    }
}

/// The settings that differ between `old` and `new` (declaration positions are ignored).
pub fn diff(old: &ExperimentSpec, new: &ExperimentSpec) -> Vec<Change> {
    let flatten = |spec: &ExperimentSpec| -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let value = serde_json::to_value(spec).expect("specs serialise");
        for (section, content) in value.as_object().into_iter().flatten() {
            match (section.as_str(), content) {
                ("repair" | "on_generation" | "stop_early", v) => {
                    out.insert(section.clone(), Value::Bool(!v.is_null()));
                }
                ("objectives", _) => {
                    let summary: Vec<String> = spec
                        .objectives
                        .iter()
                        .map(|o| format!("{} ({})", o.name, direction_word(o.direction)))
                        .collect();
                    out.insert(section.clone(), Value::String(summary.join(", ")));
                }
                (_, Value::Object(fields)) => {
                    for (key, v) in fields {
                        out.insert(format!("{section}.{key}"), v.clone());
                    }
                }
                (_, v) => {
                    out.insert(section.clone(), v.clone());
                }
            }
        }
        out
    };
    let (a, b) = (flatten(old), flatten(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !TRAINING_OWNED.iter().any(|(owned, _)| **k == format!("training.{owned}")))
        .filter_map(|k| {
            let (x, y) = (a.get(k).cloned().unwrap_or(Value::Null), b.get(k).cloned().unwrap_or(Value::Null));
            (x != y).then(|| Change { key: k.clone(), old: x.to_string(), new: y.to_string() })
        })
        .collect()
}

/// "max" or "min".
pub fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Maximise => "max",
        Direction::Minimise => "min",
    }
}

/// Reads a direction as scripts write it.
pub fn parse_direction(text: &str) -> Result<Direction, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "max" | "maximise" | "maximize" => Ok(Direction::Maximise),
        "min" | "minimise" | "minimize" => Ok(Direction::Minimise),
        other => Err(format!("unknown direction {other:?}; use \"max\" or \"min\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_accept_names_codes_and_per_edge_lists() {
        let all = parse_ops(&serde_json::json!(["nor_conv_3x3", 4, "zeroize"])).unwrap();
        assert_eq!(all, vec![vec![Op::Conv3x3, Op::Zeroize, Op::Skip]; 6]);
        let per_edge = parse_ops(&serde_json::json!([[0], [1], [2], [3, 4], [4], [0, 0]])).unwrap();
        assert_eq!(per_edge[3], vec![Op::Zeroize, Op::Skip]);
        assert_eq!(per_edge[5], vec![Op::Conv3x3]);
        assert!(parse_ops(&serde_json::json!([[0], [1]])).unwrap_err().contains("6 edges"));
        assert!(parse_ops(&serde_json::json!(["conv5x5"])).unwrap_err().contains("unknown operation"));
    }

    #[test]
    fn restricted_spaces_encode_and_decode() {
        let space = SpaceSpec {
            ops: parse_ops(&serde_json::json!(["skip_connect", "nor_conv_3x3"])).unwrap(),
            ..SpaceSpec::default()
        };
        let genome: Genome = "040404".parse().unwrap();
        let x = space.encode(&genome).unwrap();
        assert_eq!(x, vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(space.decode(&x).unwrap(), genome);
        assert_eq!(space.encode(&"110000".parse().unwrap()), Err((0, Op::Conv1x1)));
        // With every op allowed, the variables are the paper's codes.
        let full = SpaceSpec::default();
        assert_eq!(full.encode(&genome).unwrap(), vec![0.0, 4.0, 0.0, 4.0, 0.0, 4.0]);
    }

    /// Every string over the allowed ops of each edge, canonicalised, the distinct valid ones
    /// counted: the brute force `distinct_cells` must agree with.
    fn brute_force_distinct_valid(space: &SpaceSpec) -> std::collections::BTreeSet<xnas_space::CanonicalForm> {
        let mut forms = std::collections::BTreeSet::new();
        let sizes: Vec<usize> = space.ops.iter().map(Vec::len).collect();
        let mut index = [0usize; NUM_EDGES];
        loop {
            let genome = Genome(std::array::from_fn(|edge| space.ops[edge][index[edge]]));
            if genome.is_valid() {
                forms.insert(genome.canonical());
            }
            // The next string, as an odometer over the edges.
            let Some(edge) = (0..NUM_EDGES).rev().find(|&e| index[e] + 1 < sizes[e]) else { break };
            index[edge] += 1;
            index[edge + 1..].iter_mut().for_each(|i| *i = 0);
        }
        forms
    }

    #[test]
    fn distinct_cells_are_the_brute_force_set() {
        let full = SpaceSpec::default();
        assert_eq!(full.distinct_cells().len(), 6_461, "NAS-Bench-201's 6,466 forms less the 5 invalid ones");
        for ops in [
            serde_json::json!(["skip_connect", "nor_conv_3x3"]),
            serde_json::json!(["none", "nor_conv_1x1", "avg_pool_3x3"]),
            serde_json::json!(["none", "skip_connect", "nor_conv_3x3"]),
            serde_json::json!([[4, 0], [3], [3], [3, 0], [3, 4], [3]]),
        ] {
            let space = SpaceSpec { ops: parse_ops(&ops).unwrap(), ..SpaceSpec::default() };
            let cells = space.distinct_cells();
            let forms: std::collections::BTreeSet<_> = cells.iter().map(Genome::canonical).collect();
            assert_eq!(forms.len(), cells.len(), "{ops}: a form twice");
            assert_eq!(forms, brute_force_distinct_valid(&space), "{ops}");
            assert!(cells.iter().all(|g| g.is_valid() && space.encode(g).is_ok()), "{ops}");
        }
        // By hand: 1←0 skip or conv3x3, 3←0 none or conv3x3, 3←1 none or skip, the rest none. Of
        // the 8 cells 2 connect nothing, and conv3x3 on 3←0 equals conv3x3 on 1←0 then a skip to 3
        // (and, with 3←1 none, 1←0 does not matter): 4 forms.
        let space = SpaceSpec {
            ops: parse_ops(&serde_json::json!([[4, 0], [3], [3], [3, 0], [3, 4], [3]])).unwrap(),
            ..SpaceSpec::default()
        };
        let forms: Vec<String> = space.distinct_cells().iter().map(|g| g.canonical().to_string()).collect();
        let mut sorted = forms.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            ["#+#+(0)@nor_conv_3x3", "#+#+0", "#+(0)@nor_conv_3x3+(0)@nor_conv_3x3", "#+(0)@nor_conv_3x3+0"]
        );
    }

    #[test]
    fn an_exhaustive_search_refuses_a_budget_and_a_population() {
        let mut spec = ExperimentSpec::new("t");
        spec.objectives.push(ObjectiveSpec {
            name: "accuracy".into(),
            direction: Direction::Maximise,
            declared_at: Location { file: "t.rhai".into(), line: 1, column: 1 },
        });
        spec.reference_point = vec![0.1];
        spec.search.algorithm = Algorithm::Exhaustive;
        spec.search.generations = None;
        spec.validate().unwrap();
        assert_eq!(spec.budget(), Budget::Generations(1));
        spec.search.generations = Some(3);
        spec.search.population = 8;
        let message = spec.validate().unwrap_err().to_string();
        assert!(
            message.contains("remove search.generations")
                && message.contains("search.generations, search.population")
                && message.contains("(6461 here)"),
            "{message}"
        );
    }

    #[test]
    fn merge_blames_the_bad_key() {
        let mut spec = ExperimentSpec::new("t");
        let given: Map<String, Value> = serde_json::from_str(r#"{"population": 8, "seed": "x"}"#).unwrap();
        let err = Section::Search.merge(&mut spec, &given).unwrap_err();
        assert!(matches!(&err, SpecError::Invalid { key: Some(key), .. } if key == "seed"), "{err:?}");
        assert!(err.to_string().starts_with("search.seed: "), "{err}");
        let given: Map<String, Value> = serde_json::from_str(r#"{"populaton": 8}"#).unwrap();
        let message = Section::Search.merge(&mut spec, &given).unwrap_err().to_string();
        assert!(
            message.contains("unknown setting \"populaton\" in search; valid keys: algorithm,")
                && message.contains("population"),
            "{message}"
        );
    }

    #[test]
    fn the_cuda_settings_are_training_keys_and_alone_need_no_new_training() {
        use crate::record::{Precision, Switch};
        let set = |spec: &mut ExperimentSpec, json: &str| {
            let given: Map<String, Value> = serde_json::from_str(json).unwrap();
            Section::Training.merge(spec, &given)
        };
        let before = ExperimentSpec::new("t");
        let mut spec = before.clone();
        set(&mut spec, r#"{"precision": "bf16", "channels_last": false, "cudnn_benchmark": "auto"}"#).unwrap();
        assert_eq!(spec.training.precision, Precision::Bf16);
        assert_eq!((spec.training.channels_last, spec.training.cudnn_benchmark), (Switch::Off, Switch::Auto));
        let err = set(&mut spec, r#"{"precision": "fp16"}"#).unwrap_err().to_string();
        assert!(err.starts_with("training.precision: unknown variant `fp16`, expected one of"), "{err}");
        let err = set(&mut spec, r#"{"channels_last": "yes"}"#).unwrap_err().to_string();
        assert!(
            err.contains("training.channels_last: invalid value: string \"yes\", expected \"auto\", true or false"),
            "{err}"
        );

        let changed = |json: &str| {
            let mut new = before.clone();
            set(&mut new, json).unwrap();
            ExperimentDiff { changes: diff(&before, &new), sources_changed: false }
        };
        assert!(!changed(r#"{"channels_last": false}"#).needs_training());
        assert!(!changed(r#"{"cudnn_benchmark": true}"#).needs_training());
        assert!(changed(r#"{"precision": "bf16"}"#).needs_training());
    }

    #[test]
    fn the_setting_kinds_name_real_keys_and_decide_what_a_change_redoes() {
        let valid = ExperimentSpec::valid_keys();
        for key in SETTING_KINDS.iter().flat_map(|(_, keys)| keys.iter()) {
            assert!(
                valid.contains(&key.to_string()) || Section::from_name(key).is_some() || *key == "objectives",
                "{key}"
            );
        }
        let kinds = |keys: &[&str]| keys.iter().map(|key| setting_kind(key)).collect::<Vec<_>>();
        use SettingKind::*;
        assert_eq!(
            kinds(&["dataset.name", "space.ops", "training.precision", "training.device", "dataset.synsets"]),
            [Training, Training, Training, Execution, Scoring]
        );
        assert_eq!(
            kinds(&["search.seed", "reference_point", "report_axes", "name"]),
            [Search, Search, Reporting, Reporting]
        );
    }

    #[test]
    fn populations_beyond_the_bound_are_refused_with_it() {
        assert_eq!(SPACE_CELLS, Genome::all().count());
        let fresh = || {
            let mut spec = ExperimentSpec::new("t");
            spec.objectives.push(ObjectiveSpec {
                name: "acc".into(),
                direction: Direction::Maximise,
                declared_at: Location { file: "t.rhai".into(), line: 1, column: 1 },
            });
            spec.reference_point = vec![0.1];
            spec.search.generations = Some(2);
            spec
        };
        fresh().set("search.population", &MAX_POPULATION.to_string()).unwrap();
        for (key, value) in [
            ("search.population", "1000000000000"),
            ("search.population", "9223372036854775807"),
            ("search.offspring", "100001"),
        ] {
            let error = fresh().set(key, value).unwrap_err().to_string();
            assert!(error.contains(&format!("{key} = {value}: must be at most 100000")), "{error}");
        }
    }

    #[test]
    fn validation_names_the_section_at_fault_and_changes_nothing() {
        let mut spec = ExperimentSpec::new("t");
        spec.search.generations = Some(2);
        spec.space.channels = 0;
        let before = spec.clone();
        assert_eq!(spec.validate().unwrap_err().section(), Some(Section::Space));
        assert_eq!(spec, before);
        spec.space.channels = 4;
        spec.dataset.val_subset = Some(10);
        spec.normalise();
        assert_eq!((spec.training.channels, spec.training.val_subset), (4, Some(10)));
        let error = spec.validate().unwrap_err();
        assert!(error.to_string().contains("no objective") && error.section().is_none(), "{error}");
    }
}
