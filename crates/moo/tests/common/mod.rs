//! What the end-to-end search tests share: the ZDT problems (Zitzler, Deb & Thiele 2000) with
//! their true fronts' hypervolumes, an exact 2-D hypervolume, and the NAS-Bench-201-like integer
//! space with a toy objective pair.

#![allow(dead_code)] // each test binary uses its own part

use xnas_moo::{Direction, Nsga2Config, PolynomialMutation, Problem, Sbx, SearchSpace};

/// A test objective function.
pub type Objective = fn(&[f64]) -> Vec<f64>;

pub fn zdt_g(x: &[f64]) -> f64 {
    1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64
}

pub fn zdt1(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    vec![x[0], g * (1.0 - (x[0] / g).sqrt())]
}

pub fn zdt2(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    vec![x[0], g * (1.0 - (x[0] / g).powi(2))]
}

/// The reference point of every ZDT hypervolume here.
pub const ZDT_REFERENCE: [f64; 2] = [1.1, 1.1];

/// ZDT1's true front f2 = 1 − √f1 under (1.1, 1.1): ∫0..1 (1.1 − (1 − √x)) dx + 0.1 · 1.1.
pub const ZDT1_TRUE_VOLUME: f64 = 0.1 + 2.0 / 3.0 + 0.11;

/// ZDT2's true front f2 = 1 − f1² under (1.1, 1.1): ∫0..1 (1.1 − (1 − x²)) dx + 0.1 · 1.1.
pub const ZDT2_TRUE_VOLUME: f64 = 0.1 + 1.0 / 3.0 + 0.11;

/// Hypervolume of a 2-D minimisation set by a sweep: sort by the first objective and add the
/// rectangle each non-dominated point adds below the reference.
pub fn hypervolume_2d(points: &[Vec<f64>], reference: [f64; 2]) -> f64 {
    let mut inside: Vec<&Vec<f64>> = points.iter().filter(|p| p[0] < reference[0] && p[1] < reference[1]).collect();
    inside.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut volume = 0.0;
    let mut ceiling = reference[1];
    for p in inside {
        if p[1] < ceiling {
            volume += (reference[0] - p[0]) * (ceiling - p[1]);
            ceiling = p[1];
        }
    }
    volume
}

/// 30 real variables in [0, 1], two minimised objectives, pymoo's real-valued operator defaults
/// (SBX p = 0.9, per-variable 0.5, η = 15; PM p = 1/n, η = 20), population and offspring `size`.
pub fn zdt_config(seed: u64, size: usize) -> Nsga2Config {
    let problem = Problem {
        space: SearchSpace::reals(&[0.0; 30], &[1.0; 30]).unwrap(),
        directions: vec![Direction::Minimise; 2],
    };
    let mut config = Nsga2Config::new(problem, seed);
    config.population_size = size;
    config.offspring_size = size;
    config.crossover = Sbx { probability: 0.9, per_variable: 0.5, eta: 15.0 };
    config.mutation = PolynomialMutation { per_variable: None, eta: 20.0 };
    config
}

/// NAS-Bench-201's cell: 6 edges, 5 operations each (15,625 genomes), both objectives maximised,
/// the paper's operator settings.
pub fn nb201_config(seed: u64) -> Nsga2Config {
    let problem = Problem {
        space: SearchSpace::integers(&[0; 6], &[4; 6]).unwrap(),
        directions: vec![Direction::Maximise, Direction::Maximise],
    };
    Nsga2Config::new(problem, seed)
}

/// A toy stand-in for accuracy and introspectability on NAS-Bench-201 genomes.
pub fn toy_objectives(x: &[f64]) -> Vec<f64> {
    let convs = x.iter().filter(|&&v| v <= 1.0).count() as f64;
    let skips = x.iter().filter(|&&v| v == 4.0).count() as f64;
    vec![convs + 0.1 * x[0], skips - 0.05 * x[5]]
}
