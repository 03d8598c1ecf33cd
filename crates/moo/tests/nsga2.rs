//! NSGA-II end to end: ZDT1 and ZDT2 (30 real variables, 10,000 evaluations, population 20) reach
//! 99% of the true front's hypervolume; with the standard population of 100 (100 generations) the
//! final population is where pymoo's NSGA-II is with the same operators, near 96.5% and 91%; a
//! state saved mid-run continues identically; failures, duplicates, the repair hook, reference
//! points, the single-objective GA and random search behave as documented.

mod common;

use std::collections::HashSet;

use common::{
    hypervolume_2d, nb201_config, toy_objectives, zdt1, zdt2, Objective, ZDT1_TRUE_VOLUME, ZDT2_TRUE_VOLUME,
    ZDT_REFERENCE,
};
use xnas_moo::{
    Candidate, Direction, Evaluation, Nsga2, Nsga2Config, Problem, RandomSearch, ReferencePoints, SearchError,
    SearchSpace, Status, Survival,
};

#[test]
fn the_sweep_hypervolume_matches_hand_computation() {
    // Staircase (1,3), (2,2), (3,1) under (4,4): 3·1 + 2·1 + 1·1 + the 3×... by columns:
    // x in [1,2): height 1; [2,3): 2; [3,4): 3 → 6.
    let points = vec![vec![1.0, 3.0], vec![2.0, 2.0], vec![3.0, 1.0], vec![3.5, 3.5], vec![5.0, 0.0]];
    assert_eq!(hypervolume_2d(&points, [4.0, 4.0]), 6.0);
}

/// A small population: 500 generations in the 10,000 evaluations.
fn zdt_config(seed: u64) -> Nsga2Config {
    common::zdt_config(seed, 20)
}

fn evaluate_all(batch: Vec<Candidate>, f: Objective) -> Vec<(u64, Evaluation)> {
    batch.into_iter().map(|c| (c.id, Evaluation::Objectives(f(&c.x)))).collect()
}

/// Runs whole generations until `evaluations` candidates were handed out.
fn run(search: &mut Nsga2, evaluations: usize, f: Objective) -> usize {
    let mut done = 0;
    while done < evaluations {
        let batch = search.ask().unwrap();
        assert!(!batch.is_empty());
        done += batch.len();
        search.tell(evaluate_all(batch, f)).unwrap();
    }
    done
}

/// The obtained front — the non-dominated set of everything evaluated — against the true front.
/// Population 20: the standard 100 gets only 100 generations here and stops near 96.5% (ZDT1) and
/// 91% (ZDT2), as pymoo does (see the test below).
fn zdt_reaches_99_percent(f: Objective, true_front_volume: f64) {
    let mut search = Nsga2::new(zdt_config(1)).unwrap();
    assert_eq!(run(&mut search, 10_000, f), 10_000);
    let directions = &search.config().problem.directions;
    let front: Vec<Vec<f64>> = search
        .archive()
        .non_dominated(directions)
        .into_iter()
        .map(|r| match &r.status {
            Status::Evaluated(f) => f.clone(),
            other => panic!("{other:?} in the front"),
        })
        .collect();
    let ratio = hypervolume_2d(&front, ZDT_REFERENCE) / true_front_volume;
    assert!(ratio >= 0.99, "hypervolume ratio {ratio}");
}

#[test]
fn zdt1_reaches_99_percent_of_the_true_front_hypervolume() {
    zdt_reaches_99_percent(zdt1, ZDT1_TRUE_VOLUME);
}

#[test]
fn zdt2_reaches_99_percent_of_the_true_front_hypervolume() {
    zdt_reaches_99_percent(zdt2, ZDT2_TRUE_VOLUME);
}

/// The standard setting (population 100, 100 generations, the final population's non-dominated
/// set) measured against pymoo 0.6.2's NSGA-II with the same operators, seeds 0–9: pymoo 95.9–97.2%
/// (mean 96.7%) on ZDT1 and 87.8–92.5% (mean 91.0%) on ZDT2; this crate 95.8–97.3% (mean 96.5%) and
/// 90.1–92.8% (mean 91.5%). 99% is out of reach there for both: even 100 points spread evenly on
/// the true front only cover 99.4% (ZDT1) and 99.1% (ZDT2), and the population is still at
/// g ≈ 1.03. A mean over seeds 0–2 below pymoo's level would mean a broken operator or survival.
#[test]
fn the_standard_setting_matches_pymoo_at_10000_evaluations() {
    for (f, true_front_volume, floor) in [(zdt1 as Objective, ZDT1_TRUE_VOLUME, 0.96), (zdt2, ZDT2_TRUE_VOLUME, 0.90)] {
        let ratios: Vec<f64> = (0..3)
            .map(|seed| {
                let mut search = Nsga2::new(common::zdt_config(seed, 100)).unwrap();
                assert_eq!(run(&mut search, 10_000, f), 10_000);
                let population: Vec<Vec<f64>> = search.population().iter().map(|m| m.objectives.clone()).collect();
                hypervolume_2d(&population, ZDT_REFERENCE) / true_front_volume
            })
            .collect();
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        assert!(mean >= floor, "hypervolume ratios {ratios:?}");
    }
}

#[test]
fn a_state_saved_mid_run_continues_identically() {
    let mut original = Nsga2::new(zdt_config(7)).unwrap();
    run(&mut original, 200, zdt1);
    // Save in the middle of a generation: asked, half told.
    let batch = original.ask().unwrap();
    let (first, second) = batch.split_at(batch.len() / 2);
    original.tell(evaluate_all(first.to_vec(), zdt1)).unwrap();
    let saved = original.to_json().unwrap();
    let mut restored = Nsga2::from_json(&saved).unwrap();
    assert_eq!(restored.to_json().unwrap(), saved);
    for search in [&mut original, &mut restored] {
        search.tell(evaluate_all(second.to_vec(), zdt1)).unwrap();
        run(search, 400, zdt1);
    }
    assert_eq!(original.population(), restored.population());
    assert_eq!(original.archive().records(), restored.archive().records());
    assert_eq!(original.to_json().unwrap(), restored.to_json().unwrap());
}

#[test]
fn integer_genomes_are_never_proposed_twice_and_failures_are_excluded() {
    let mut search = Nsga2::new(nb201_config(3)).unwrap();
    let mut seen = HashSet::new();
    for generation in 0..20 {
        let batch = search.ask().unwrap();
        assert_eq!(batch.len(), 64, "generation {generation}");
        let mut results = Vec::new();
        for c in batch {
            assert!(c.x.iter().all(|v| v.fract() == 0.0 && (0.0..=4.0).contains(v)));
            assert!(seen.insert(c.x.iter().map(|&v| v as u8).collect::<Vec<_>>()), "{:?} twice", c.x);
            assert_eq!(c.generation, generation);
            if generation == 0 {
                assert!(c.parents.is_empty());
            }
            for parent in &c.parents {
                assert!(*parent < c.id);
            }
            // Every genome starting with op 2 "crashes"; another reports NaN.
            let evaluation = if c.x[0] == 2.0 {
                Evaluation::Failed("out of memory".into())
            } else if c.x[1] == 3.0 && c.x[2] == 3.0 {
                Evaluation::Objectives(vec![f64::NAN, 1.0])
            } else {
                Evaluation::Objectives(toy_objectives(&c.x))
            };
            results.push((c.id, evaluation));
        }
        search.tell(results).unwrap();
        assert!(search.population().len() <= 64);
        for m in search.population() {
            assert!(m.x[0] != 2.0 && !(m.x[1] == 3.0 && m.x[2] == 3.0));
            assert!(matches!(search.archive().get(m.id).unwrap().status, Status::Evaluated(_)));
        }
    }
    let failed = search.archive().records().iter().filter(|r| matches!(r.status, Status::Failed(_))).count();
    assert!(failed > 0);
    // 20 generations of 64 distinct genomes out of 15,625.
    assert_eq!(seen.len(), 1280);
}

#[test]
fn all_failures_leave_an_empty_population_and_the_search_goes_on() {
    let mut config = nb201_config(4);
    config.population_size = 8;
    config.offspring_size = 8;
    let mut search = Nsga2::new(config).unwrap();
    let batch = search.ask().unwrap();
    search.tell(batch.into_iter().map(|c| (c.id, Evaluation::Failed("boom".into())))).unwrap();
    assert!(search.population().is_empty());
    let batch = search.ask().unwrap();
    assert_eq!(batch.len(), 8);
    assert!(batch.iter().all(|c| c.parents.is_empty()));
}

#[test]
fn the_repair_hook_rewrites_or_rejects() {
    let mut search = Nsga2::new(nb201_config(5)).unwrap();
    // Reject genomes with a zeroize (3) on the first edge; set the last edge to skip (4).
    let mut repair = |x: &[f64]| {
        if x[0] == 3.0 {
            return None;
        }
        let mut y = x.to_vec();
        y[5] = 4.0;
        Some(y)
    };
    for _ in 0..5 {
        let batch = search.ask_with(&mut repair).unwrap();
        assert!(!batch.is_empty());
        assert!(batch.iter().all(|c| c.x[0] != 3.0 && c.x[5] == 4.0));
        search.tell(evaluate_all(batch, toy_objectives)).unwrap();
    }
    let mut out_of_space = |x: &[f64]| Some(vec![9.0; x.len()]);
    assert!(matches!(search.ask_with(&mut out_of_space), Err(SearchError::Repair(_))));
}

#[test]
fn an_exhausted_space_gives_fewer_then_no_candidates() {
    // 3 × 3 = 9 genomes in all.
    let problem =
        Problem { space: SearchSpace::integers(&[0, 0], &[2, 2]).unwrap(), directions: vec![Direction::Minimise] };
    let mut config = Nsga2Config::new(problem, 6);
    config.population_size = 4;
    config.offspring_size = 4;
    let mut search = Nsga2::new(config).unwrap();
    let sum = |x: &[f64]| vec![x[0] + x[1]];
    let mut total = 0;
    loop {
        let batch = search.ask().unwrap();
        if batch.is_empty() {
            break;
        }
        total += batch.len();
        search.tell(evaluate_all(batch, sum)).unwrap();
    }
    assert_eq!(total, 9);
}

#[test]
fn tell_refuses_bad_input_without_applying_any_of_it() {
    let mut search = Nsga2::new(nb201_config(8)).unwrap();
    let batch = search.ask().unwrap();
    assert_eq!(search.ask().unwrap_err(), SearchError::Pending { count: 64 });
    let good = (batch[0].id, Evaluation::Objectives(vec![1.0, 2.0]));
    assert_eq!(
        search.tell([good.clone(), (999, vec![1.0, 2.0].into())]).unwrap_err(),
        SearchError::UnknownId { id: 999 }
    );
    assert_eq!(search.tell([good.clone(), good.clone()]).unwrap_err(), SearchError::ToldTwice { id: batch[0].id });
    assert_eq!(
        search.tell([(batch[1].id, Evaluation::Objectives(vec![1.0]))]).unwrap_err(),
        SearchError::ObjectiveCount { id: batch[1].id, expected: 2, found: 1 }
    );
    assert_eq!(search.pending(), 64);
    let progress = search.tell([good.clone()]).unwrap();
    assert_eq!((progress.pending, progress.generation_complete), (63, false));
    assert_eq!(search.tell([good]).unwrap_err(), SearchError::AlreadyTold { id: batch[0].id });
    let progress = search.tell(evaluate_all(batch[1..].to_vec(), toy_objectives)).unwrap();
    assert!(progress.generation_complete);
    assert_eq!(search.generation(), 1);
    assert_eq!(search.population().len(), 64);
}

#[test]
fn reference_points_pull_the_population_towards_them() {
    let reference = vec![0.8, 0.2];
    let mut config = zdt_config(9);
    config.population_size = 40;
    config.offspring_size = 40;
    config.survival =
        Survival::ReferencePoints(ReferencePoints { points: vec![reference.clone()], epsilon: 0.001, weights: None });
    let mut search = Nsga2::new(config).unwrap();
    run(&mut search, 6_000, zdt1);
    // Plain NSGA-II spreads over f1 in 0..1 (mean near 0.5); R-NSGA-II gathers near f1 ≈ 0.8.
    let f1: Vec<f64> = search.population().iter().map(|m| m.objectives[0]).collect();
    let mean = f1.iter().sum::<f64>() / f1.len() as f64;
    assert!((mean - 0.8).abs() < 0.15, "mean f1 {mean}");
    let inside = f1.iter().filter(|&&v| (0.6..=1.0).contains(&v)).count();
    assert!(inside * 10 >= f1.len() * 8, "{inside} of {} near the reference", f1.len());
}

#[test]
fn the_single_objective_ga_optimises_its_objective_only() {
    let mut config = nb201_config(10);
    config.survival = Survival::SingleObjective { objective: 1 };
    config.population_size = 16;
    config.offspring_size = 16;
    let mut search = Nsga2::new(config).unwrap();
    for _ in 0..30 {
        let batch = search.ask().unwrap();
        search.tell(evaluate_all(batch, toy_objectives)).unwrap();
    }
    // Objective 1 (skips − 0.05 · x5, maximised) peaks at 6 − 0.2 = 5.8 with a skip on every
    // edge; out of 15,625 genomes, 496 evaluations find it.
    let best = search.population()[0].objectives[1];
    assert_eq!(best, 5.8);
    let sorted = search.population().windows(2).all(|w| w[0].objectives[1] >= w[1].objectives[1]);
    assert!(sorted, "population sorted by the objective");
}

#[test]
fn random_search_hands_out_new_genomes_and_keeps_a_front() {
    let problem =
        Problem { space: SearchSpace::integers(&[0; 6], &[4; 6]).unwrap(), directions: vec![Direction::Maximise; 2] };
    let mut search = RandomSearch::new(problem, 50, 11).unwrap();
    let mut seen = HashSet::new();
    for _ in 0..10 {
        let batch = search.ask().unwrap();
        assert_eq!(batch.len(), 50);
        for c in &batch {
            assert!(seen.insert(c.x.iter().map(|&v| v as u8).collect::<Vec<_>>()));
        }
        search.tell(evaluate_all(batch, toy_objectives)).unwrap();
    }
    assert_eq!(search.generation(), 10);
    let front = search.front();
    assert!(!front.is_empty());
    let saved = serde_json::to_string(&search).unwrap();
    let mut restored: RandomSearch = serde_json::from_str(&saved).unwrap();
    assert_eq!(restored.ask().unwrap(), search.ask().unwrap());
}

#[test]
fn rescoring_replaces_objectives_and_reranks_the_population() {
    let mut search = Nsga2::new(nb201_config(4)).unwrap();
    for _ in 0..2 {
        let batch = search.ask().unwrap();
        search.tell(batch.iter().map(|c| (c.id, Evaluation::Objectives(toy_objectives(&c.x))))).unwrap();
    }
    let members: Vec<u64> = search.population().iter().map(|m| m.id).collect();
    // New objectives: both objectives are the number of conv edges; fail genomes starting with a skip.
    search
        .rescore(|record| {
            if record.x[0] == 4.0 {
                return Some(Evaluation::Failed("rejected by the new objective".into()));
            }
            let convs = record.x.iter().filter(|&&v| v <= 1.0).count() as f64;
            Some(Evaluation::Objectives(vec![convs, convs]))
        })
        .unwrap();
    for m in search.population() {
        assert!(members.contains(&m.id), "re-scoring adds no members");
        assert_ne!(m.x[0], 4.0, "members that now fail leave the population");
        let convs = m.x.iter().filter(|&&v| v <= 1.0).count() as f64;
        assert_eq!(m.objectives, vec![convs, convs]);
    }
    // With equal objectives, rank 0 holds exactly the members with the most conv edges.
    let best = search.population().iter().map(|m| m.objectives[0]).fold(f64::MIN, f64::max);
    for m in search.population() {
        assert_eq!(m.rank == 0, m.objectives[0] == best);
    }
    for record in search.archive().records() {
        if record.x[0] == 4.0 {
            assert!(matches!(record.status, Status::Failed(_)));
        }
    }
    // The search goes on from the re-scored state.
    let batch = search.ask().unwrap();
    assert!(!batch.is_empty());
    assert!(matches!(search.rescore(|_| None), Err(SearchError::Pending { .. })));
}
