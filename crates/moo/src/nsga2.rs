//! NSGA-II (Deb et al. 2002, with pymoo 0.4's operators and conventions) as an ask/tell state
//! machine, so that the caller owns evaluation (batches on GPUs, a cluster, a cache) and the
//! search owns nothing but its state — which serialises whole (population, archive, generation,
//! RNG), so a run resumed from a saved state continues bit for bit.
//!
//! One generation: [`Nsga2::ask`] hands out candidates (the initial random population first,
//! offspring afterwards); the caller evaluates them and [`Nsga2::tell`]s objective vectors or
//! failures, in any order and in as many calls as it likes; the tell that completes the batch runs
//! survival over the population and the new evaluations, and the next ask breeds from the
//! survivors. Breeding: binary tournament, SBX, polynomial mutation, the repair hook, and
//! duplicate elimination against everything ever proposed (mating is retried up to
//! `max_mating_attempts` times; what is still missing is filled with new random samples).
//!
//! A failed evaluation (or one with a non-finite objective) is excluded: it stays in the archive
//! so it is never proposed again, but never enters the population. If every evaluation fails, the
//! population is empty and the next ask samples at random.
//!
//! With [`Survival::SingleObjective`] the same machine is the single-objective GA (the paper's ✗
//! baseline): tournaments compare that one objective, survival keeps its best values.
//!
//! Steady-state mode, for workers that finish at different times: [`Nsga2::ask_one_with`] hands
//! out one candidate whenever a slot frees, while others are still being evaluated, and every tell
//! of such a candidate runs survival at once over the population and that one evaluation — the
//! population grows to `population_size` during the initial phase, then survival is (μ+1). So no
//! worker waits for the slowest of a batch, and each child is bred from the best population known
//! when it is asked. The two modes share one state and may follow each other (a run resumed with
//! another scheduling), but never overlap: each refuses to ask while the other's candidates are
//! pending.

use std::collections::{BTreeSet, HashSet};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::archive::{Archive, Candidate, Evaluation, NoRepair, Proposal, Repair, SearchError, Status};
use crate::dominance::{to_minimisation, Direction};
use crate::operators::{PolynomialMutation, Sbx, SearchSpace, SpaceError};
use crate::selection::binary_tournament;
use crate::survival::{fitness_survival, rank_and_crowding, reference_point_survival, ReferencePoints, Survivors};

/// The search space and the objectives' directions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub space: SearchSpace,
    pub directions: Vec<Direction>,
}

/// How the next population is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Survival {
    /// NSGA-II: non-dominated rank, then crowding distance.
    #[default]
    RankAndCrowding,
    /// R-NSGA-II: non-dominated rank, then closeness to user reference points.
    ReferencePoints(ReferencePoints),
    /// Single-objective GA on objective `objective` (an index into the problem's objectives); the
    /// other objectives are recorded but ignored.
    SingleObjective { objective: usize },
}

/// Everything that defines a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nsga2Config {
    pub problem: Problem,
    pub population_size: usize,
    pub offspring_size: usize,
    pub crossover: Sbx,
    pub mutation: PolynomialMutation,
    pub survival: Survival,
    /// Mating rounds per ask before the missing offspring are sampled at random (pymoo: 100).
    pub max_mating_attempts: usize,
    pub seed: u64,
}

impl Nsga2Config {
    /// The paper's settings: population and offspring 64, SBX p=0.9 η=3, PM p=1/n η=3.
    pub fn new(problem: Problem, seed: u64) -> Self {
        Nsga2Config {
            problem,
            population_size: 64,
            offspring_size: 64,
            crossover: Sbx::default(),
            mutation: PolynomialMutation::default(),
            survival: Survival::RankAndCrowding,
            max_mating_attempts: 100,
            seed,
        }
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.problem.space.validate()?;
        let m = self.problem.directions.len();
        if m == 0 {
            return Err(ConfigError::NoObjectives);
        }
        if self.population_size == 0 || self.offspring_size == 0 {
            return Err(ConfigError::Sizes { population: self.population_size, offspring: self.offspring_size });
        }
        let probabilities = [
            ("crossover probability", Some(self.crossover.probability)),
            ("crossover per-variable probability", Some(self.crossover.per_variable)),
            ("mutation per-variable probability", self.mutation.per_variable),
        ];
        for (name, value) in probabilities {
            if let Some(value) = value {
                if !(0.0..=1.0).contains(&value) {
                    return Err(ConfigError::Probability { name, value });
                }
            }
        }
        for (name, value) in [("crossover eta", self.crossover.eta), ("mutation eta", self.mutation.eta)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::Eta { name, value });
            }
        }
        match &self.survival {
            Survival::RankAndCrowding => {}
            Survival::SingleObjective { objective } => {
                if *objective >= m {
                    return Err(ConfigError::Objective { objective: *objective, objectives: m });
                }
            }
            Survival::ReferencePoints(reference) => {
                if reference.points.is_empty() {
                    return Err(ConfigError::NoReferencePoints);
                }
                for (index, point) in reference.points.iter().enumerate() {
                    if point.len() != m || !point.iter().all(|v| v.is_finite()) {
                        return Err(ConfigError::ReferencePoint { index, objectives: m });
                    }
                }
                if !(reference.epsilon.is_finite() && reference.epsilon >= 0.0) {
                    return Err(ConfigError::Epsilon { value: reference.epsilon });
                }
                if let Some(weights) = &reference.weights {
                    if weights.len() != m || !weights.iter().all(|w| w.is_finite() && *w >= 0.0) {
                        return Err(ConfigError::Weights { objectives: m });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Why a configuration is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("search space: {0}")]
    Space(#[from] SpaceError),
    #[error("the problem needs at least one objective direction")]
    NoObjectives,
    #[error("a fixed search needs at least one genome to train")]
    NoCandidates,
    #[error("population size {population} and offspring size {offspring} must both be at least 1")]
    Sizes { population: usize, offspring: usize },
    #[error("{name} {value} must lie in 0..=1")]
    Probability { name: &'static str, value: f64 },
    #[error("{name} {value} must be finite and >= 0")]
    Eta { name: &'static str, value: f64 },
    #[error("single-objective survival on objective {objective}, but the problem has {objectives} (0-based)")]
    Objective { objective: usize, objectives: usize },
    #[error("reference-point survival needs at least one reference point")]
    NoReferencePoints,
    #[error("reference point {index} must have {objectives} finite value(s), one per objective")]
    ReferencePoint { index: usize, objectives: usize },
    #[error("reference-point epsilon {value} must be finite and >= 0")]
    Epsilon { value: f64 },
    #[error("reference-point weights must be {objectives} finite non-negative value(s)")]
    Weights { objectives: usize },
    #[error("a running search cannot change its {what} ({old} -> {new}); start a new run instead")]
    Changed { what: &'static str, old: usize, new: usize },
}

/// A member of the current population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: u64,
    pub x: Vec<f64>,
    /// As told, in the objectives' own directions.
    pub objectives: Vec<f64>,
    /// Front index at the last survival (0 = non-dominated); for the single-objective GA, the
    /// position in the sorted population.
    pub rank: usize,
    /// Crowding distance at the last survival (larger is better; infinite at the extremes); for
    /// R-NSGA-II, minus the preference rank; 0 for the single-objective GA.
    #[serde(with = "crate::serde_float")]
    pub crowding: f64,
}

/// What a tell achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TellProgress {
    /// Candidates handed out and still waiting for their evaluation.
    pub pending: usize,
    /// Generational: this tell completed the batch and survival produced a new population.
    /// Steady-state: this tell completed a generation-equivalent ([`Nsga2::generation`] went up).
    pub generation_complete: bool,
}

/// The NSGA-II state machine. Serialise it whole to save a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Nsga2 {
    config: Nsga2Config,
    rng: ChaCha8Rng,
    generation: u64,
    population: Vec<Member>,
    archive: Archive,
    batch: Vec<u64>,
    /// Steady-state candidates handed out and not told yet (absent in states saved before the
    /// steady-state mode existed, hence the defaults).
    #[serde(default)]
    in_flight: BTreeSet<u64>,
    /// Steady-state candidates told since `generation` last went up.
    #[serde(default)]
    steady_told: u64,
}

impl Nsga2 {
    /// A new run (nothing asked yet).
    pub fn new(config: Nsga2Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Nsga2 {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            generation: 0,
            population: Vec::new(),
            archive: Archive::default(),
            batch: Vec::new(),
            in_flight: BTreeSet::new(),
            steady_told: 0,
        })
    }

    pub fn config(&self) -> &Nsga2Config {
        &self.config
    }

    /// Replaces the settings between generations (e.g. after a script edit). The variables and
    /// objectives must stay the same; the seed of a running search is not used again.
    pub fn set_config(&mut self, config: Nsga2Config) -> Result<(), ConfigError> {
        config.validate()?;
        let (old, new) = (&self.config.problem, &config.problem);
        if old.space.len() != new.space.len() {
            return Err(ConfigError::Changed {
                what: "number of variables",
                old: old.space.len(),
                new: new.space.len(),
            });
        }
        if old.directions.len() != new.directions.len() {
            return Err(ConfigError::Changed {
                what: "number of objectives",
                old: old.directions.len(),
                new: new.directions.len(),
            });
        }
        self.config = config;
        Ok(())
    }

    /// Completed generations: 0 until the initial population is told, then 1, 2, ...
    ///
    /// In steady-state mode, completed generation-equivalents: 0 until `population_size`
    /// steady-state candidates are told (failures count), then 1 + (told − population_size) /
    /// `offspring_size`; a run that switches modes counts on from where the other left it. A
    /// candidate's `generation` is this value at the moment it was asked.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The current population (after the last completed survival).
    pub fn population(&self) -> &[Member] {
        &self.population
    }

    /// Everything ever proposed, with outcomes.
    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    /// Candidates handed out and not yet told, by either mode.
    pub fn pending(&self) -> usize {
        self.archive.pending()
    }

    /// The next batch of candidates, without repair. See [`Nsga2::ask_with`].
    pub fn ask(&mut self) -> Result<Vec<Candidate>, SearchError> {
        self.ask_with(&mut NoRepair)
    }

    /// The next batch: the initial population (population size) first, then offspring (offspring
    /// size). Every candidate is new to the archive. Fewer are returned only when the space is
    /// nearly exhausted; none when it is exhausted. Refused while candidates are pending, including
    /// steady-state ones.
    pub fn ask_with(&mut self, repair: &mut dyn Repair) -> Result<Vec<Candidate>, SearchError> {
        if self.archive.pending() > 0 {
            return Err(SearchError::Pending { count: self.archive.pending() });
        }
        let wanted = if self.generation == 0 { self.config.population_size } else { self.config.offspring_size };
        let mut taken = HashSet::new();
        let mut proposals = if self.generation == 0 || self.population.is_empty() {
            Vec::new()
        } else {
            self.mate(wanted, &mut taken, repair)?
        };
        let space = &self.config.problem.space;
        let samples = self.archive.sample_new(space, wanted - proposals.len(), &mut taken, repair, &mut self.rng)?;
        proposals.extend(samples.into_iter().map(|x| (x, Vec::new())));
        let candidates = self.archive.register(proposals, self.generation);
        self.batch = candidates.iter().map(|c| c.id).collect();
        Ok(candidates)
    }

    /// Steady-state: one candidate, allowed while others are still pending. `Ok(None)` only when
    /// the space is exhausted: every genome has been proposed or is rejected by the repair hook
    /// (for a space with real variables or more than 2^20 genomes, when 100 random draws in a row
    /// found only known genomes). Refused while a generational batch is pending.
    ///
    /// Until `population_size` candidates have been handed out in all (by either mode), an unseen
    /// uniform random sample, as in the initial population. After that, one offspring bred from the
    /// current population as [`Nsga2::ask_with`] breeds (tournament, SBX, mutation, repair, no
    /// genome of the archive, pending ones included), retried up to `max_mating_attempts` times,
    /// then an unseen random sample; also a random sample while the population is empty. The
    /// candidate's `generation` is [`Nsga2::generation`] now.
    pub fn ask_one_with(&mut self, repair: &mut dyn Repair) -> Result<Option<Candidate>, SearchError> {
        if !self.batch.is_empty() {
            return Err(SearchError::Pending { count: self.archive.pending() });
        }
        let initial = self.archive.records().len() < self.config.population_size;
        let mut taken = HashSet::new();
        let mut proposal =
            if initial || self.population.is_empty() { None } else { self.mate(1, &mut taken, repair)?.pop() };
        let space = &self.config.problem.space;
        if proposal.is_none() {
            proposal = self.archive.sample_new(space, 1, &mut taken, repair, &mut self.rng)?.pop().map(|x| (x, vec![]));
        }
        if proposal.is_none() {
            proposal = self.archive.enumerate_new(space, &mut taken, repair, &mut self.rng)?.map(|x| (x, vec![]));
        }
        let Some(proposal) = proposal else { return Ok(None) };
        let candidate = self.archive.register(vec![proposal], self.generation).pop().expect("one registered");
        self.in_flight.insert(candidate.id);
        Ok(Some(candidate))
    }

    /// Offspring by tournament, SBX, mutation and repair, new to the archive and to each other.
    fn mate(
        &mut self,
        wanted: usize,
        taken: &mut HashSet<Vec<u64>>,
        repair: &mut dyn Repair,
    ) -> Result<Vec<Proposal>, SearchError> {
        let (objectives, crowding) = self.tournament_view();
        let config = &self.config;
        let space = &config.problem.space;
        let mut offspring = Vec::with_capacity(wanted);
        for _ in 0..config.max_mating_attempts {
            if offspring.len() >= wanted {
                break;
            }
            let matings = (wanted - offspring.len()).div_ceil(2);
            let parents = binary_tournament(&objectives, &crowding, 2 * matings, &mut self.rng);
            for pair in parents.chunks_exact(2) {
                let (a, b) = (&self.population[pair[0]], &self.population[pair[1]]);
                let bred = config.crossover.mate(space, &a.x, &b.x, &mut self.rng);
                for (k, child) in bred.children.iter().enumerate() {
                    let mutated = config.mutation.mutate(space, child, &mut self.rng);
                    let Some(x) = repair.repair(&mutated) else { continue };
                    space.check(&x).map_err(SearchError::Repair)?;
                    if offspring.len() < wanted && self.archive.take_if_new(&x, taken) {
                        let parents = match (bred.crossed, k) {
                            (true, _) => vec![a.id, b.id],
                            (false, 0) => vec![a.id],
                            (false, _) => vec![b.id],
                        };
                        offspring.push((x, parents));
                    }
                }
            }
        }
        Ok(offspring)
    }

    /// The population as the tournament sees it: minimisation vectors and crowding.
    fn tournament_view(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        let directions = &self.config.problem.directions;
        let objectives = self
            .population
            .iter()
            .map(|m| match self.config.survival {
                Survival::SingleObjective { objective } => {
                    vec![directions[objective].to_minimisation(m.objectives[objective])]
                }
                _ => to_minimisation(&m.objectives, directions),
            })
            .collect();
        (objectives, self.population.iter().map(|m| m.crowding).collect())
    }

    /// Takes evaluations of asked candidates (any subset, any order). The tell that completes the
    /// batch runs survival. Nothing is applied if any entry is refused.
    ///
    /// Steady-state candidates are taken one at a time in the order given, each followed by its
    /// own survival, so one tell of several results is the same as one tell per result in that
    /// order (and an asynchronous executor may group finished results as it likes).
    pub fn tell<I: IntoIterator<Item = (u64, Evaluation)>>(&mut self, results: I) -> Result<TellProgress, SearchError> {
        let objectives = self.config.problem.directions.len();
        let told = self.archive.tell(results.into_iter().collect(), objectives)?;
        let generation = self.generation;
        for id in told {
            if self.in_flight.remove(&id) {
                self.admit(id);
            }
        }
        let pending = self.archive.pending();
        if pending > 0 || self.batch.is_empty() {
            return Ok(TellProgress { pending, generation_complete: self.generation > generation });
        }
        self.advance();
        Ok(TellProgress { pending: 0, generation_complete: true })
    }

    /// Steady-state: (μ+1) survival with one told candidate (none for a failure), and the count of
    /// generation-equivalents.
    fn admit(&mut self, id: u64) {
        let record = self.archive.get(id).expect("told ids are archived");
        if let Status::Evaluated(objectives) = &record.status {
            let member = Member { id, x: record.x.clone(), objectives: objectives.clone(), rank: 0, crowding: 0.0 };
            let mut merged = std::mem::take(&mut self.population);
            merged.push(member);
            self.survive(merged);
        }
        self.steady_told += 1;
        let step = if self.generation == 0 { self.config.population_size } else { self.config.offspring_size };
        if self.steady_told >= step as u64 {
            self.generation += 1;
            self.steady_told = 0;
        }
    }

    /// Survival over the population and the batch's successful evaluations.
    fn advance(&mut self) {
        let mut merged: Vec<Member> = std::mem::take(&mut self.population);
        for &id in &self.batch {
            let record = self.archive.get(id).expect("batch ids are archived");
            if let Status::Evaluated(objectives) = &record.status {
                merged.push(Member { id, x: record.x.clone(), objectives: objectives.clone(), rank: 0, crowding: 0.0 });
            }
        }
        self.survive(merged);
        self.batch.clear();
        self.generation += 1;
        self.steady_told = 0;
    }

    /// Re-scores every finished evaluation, e.g. after the objectives changed: `score` gets each
    /// evaluated or failed record and returns its new evaluation (`None` keeps the old one).
    /// The population keeps its members (less those that now fail) and survival re-ranks them,
    /// so the next `ask` breeds from the new objectives. Refused while a generational batch is
    /// pending; steady-state candidates in flight are left pending (`score` never sees them) and
    /// join the re-ranked population when told.
    pub fn rescore(
        &mut self,
        mut score: impl FnMut(&crate::archive::Record) -> Option<Evaluation>,
    ) -> Result<(), SearchError> {
        if !self.batch.is_empty() {
            return Err(SearchError::Pending { count: self.archive.pending() });
        }
        let objectives = self.config.problem.directions.len();
        for record in self.archive.records_mut() {
            if record.status == Status::Pending {
                continue;
            }
            if let Some(evaluation) = score(record) {
                record.status = match evaluation {
                    Evaluation::Objectives(f) if f.len() == objectives && f.iter().all(|v| v.is_finite()) => {
                        Status::Evaluated(f)
                    }
                    Evaluation::Objectives(f) => Status::Failed(format!("re-scored to invalid objective values {f:?}")),
                    Evaluation::Failed(reason) => Status::Failed(reason),
                };
            }
        }
        let members: Vec<Member> = std::mem::take(&mut self.population)
            .into_iter()
            .filter_map(|m| match &self.archive.get(m.id).expect("members are archived").status {
                Status::Evaluated(f) => Some(Member { objectives: f.clone(), ..m }),
                _ => None,
            })
            .collect();
        self.survive(members);
        Ok(())
    }

    /// Keeps the best `population_size` of `merged` by the configured survival.
    fn survive(&mut self, merged: Vec<Member>) {
        let directions = &self.config.problem.directions;
        let minimised: Vec<Vec<f64>> = merged.iter().map(|m| to_minimisation(&m.objectives, directions)).collect();
        let keep = self.config.population_size.min(merged.len());
        let survivors: Survivors = match &self.config.survival {
            Survival::RankAndCrowding => rank_and_crowding(&minimised, keep, &mut self.rng),
            Survival::SingleObjective { objective } => fitness_survival(&minimised, *objective, keep),
            Survival::ReferencePoints(reference) => {
                let references: Vec<Vec<f64>> =
                    reference.points.iter().map(|p| to_minimisation(p, directions)).collect();
                reference_point_survival(
                    &minimised,
                    keep,
                    &references,
                    reference.epsilon,
                    reference.weights.as_deref(),
                    &mut self.rng,
                )
            }
        };
        let mut slots: Vec<Option<Member>> = merged.into_iter().map(Some).collect();
        self.population = survivors
            .indices
            .iter()
            .zip(survivors.rank.iter().zip(&survivors.crowding))
            .map(|(&i, (&rank, &crowding))| {
                let mut member = slots[i].take().expect("each survivor once");
                member.rank = rank;
                member.crowding = crowding;
                member
            })
            .collect();
    }

    /// The state as JSON. This crate turns on serde_json's `float_roundtrip`, so every float reads
    /// back to the same bits and a restored run continues exactly.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }

    /// A state saved by [`Nsga2::to_json`].
    pub fn from_json(json: &str) -> serde_json::Result<Self> {
        serde_json::from_str(json)
    }
}
