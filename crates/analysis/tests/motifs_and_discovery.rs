//! Motif enumeration and App. G's discovery against brute force: every one of the 6^6 patterns
//! (an op code or `*` on each edge) matched against every genome directly, correlations computed
//! by an independent rank formula, and the Pareto set found by pairwise comparison.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_analysis::{
    discover_motifs, front_order, most_frequent_motifs, motif_supports, DiscoveryOptions, Motif, Pattern,
};
use xnas_space::{Genome, Op, NUM_EDGES};

/// Every pattern with at least one fixed edge, as a motif.
fn all_patterns() -> impl Iterator<Item = Motif> {
    (0..6usize.pow(NUM_EDGES as u32)).map(|mut n| {
        let mut entries = [None; NUM_EDGES];
        for entry in &mut entries {
            // Digit 5 stands for the wildcard.
            *entry = Op::from_code((n % 6) as u8);
            n /= 6;
        }
        Motif(entries)
    })
}

fn holders(motif: &Motif, genomes: &[Genome]) -> Vec<usize> {
    (0..genomes.len())
        .filter(|&i| motif.0.iter().zip(genomes[i].0).all(|(fixed, op)| fixed.is_none() || *fixed == Some(op)))
        .collect()
}

fn random_genomes(rng: &mut ChaCha8Rng, count: usize, bias: impl Fn(usize) -> f64) -> Vec<Genome> {
    (0..count)
        .map(|i| {
            let codes: Vec<u8> =
                (0..NUM_EDGES).map(|_| if rng.random_bool(bias(i)) { 0 } else { rng.random_range(0..5) }).collect();
            Genome::from_codes(&codes).unwrap()
        })
        .collect()
}

#[test]
fn enumeration_matches_brute_force_over_all_patterns() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for count in [1, 7, 30] {
        let genomes = random_genomes(&mut rng, count, |_| 0.3);
        let mut brute: BTreeMap<usize, BTreeMap<Motif, Vec<usize>>> = BTreeMap::new();
        for motif in all_patterns() {
            let found = holders(&motif, &genomes);
            let size = motif.0.iter().filter(|e| e.is_some()).count();
            if size > 0 && !found.is_empty() {
                brute.entry(size).or_default().insert(motif, found);
            }
        }
        for size in 1..=NUM_EDGES {
            let enumerated: BTreeMap<Motif, Vec<usize>> =
                motif_supports(&genomes, size).unwrap().into_iter().map(|s| (s.motif, s.holders)).collect();
            assert_eq!(&enumerated, &brute[&size], "{count} genomes, size {size}");
            let top = brute[&size].values().map(Vec::len).max().unwrap();
            let tied: Vec<Motif> = brute[&size].iter().filter(|(_, h)| h.len() == top).map(|(m, _)| *m).collect();
            let most: Vec<Motif> = most_frequent_motifs(&genomes, size).unwrap().iter().map(|s| s.motif).collect();
            assert_eq!(most, tied);
        }
    }
}

/// Spearman's ρ from first principles: ranks by counting (ties averaged), then Pearson's formula.
fn spearman_by_counting(x: &[f64], y: &[f64]) -> Option<f64> {
    let rank = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .map(|a| {
                let less = v.iter().filter(|b| *b < a).count() as f64;
                let equal = v.iter().filter(|b| *b == a).count() as f64;
                less + (equal + 1.0) / 2.0
            })
            .collect()
    };
    let (rx, ry) = (rank(x), rank(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    (vx > 0.0 && vy > 0.0).then(|| cov / (vx * vy).sqrt())
}

struct Candidate {
    name: String,
    rho: f64,
    support: usize,
    size: usize,
}

/// App. G's seven steps written out directly from the paper's text.
fn discovery_by_brute_force(genomes: &[Genome], accuracy: &[f64], introspectability: &[f64]) -> Vec<Candidate> {
    let n = genomes.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        accuracy[a]
            .partial_cmp(&accuracy[b])
            .unwrap()
            .then(introspectability[b].partial_cmp(&introspectability[a]).unwrap())
    });
    let mut rank = vec![0.0; n];
    for (position, &i) in order.iter().enumerate() {
        rank[i] = position as f64;
    }
    let mut candidates = Vec::new();
    for motif in all_patterns() {
        let size = motif.0.iter().filter(|e| e.is_some()).count();
        let found = holders(&motif, genomes);
        if !(1..=5).contains(&size) || found.is_empty() {
            continue;
        }
        let presence: Vec<f64> = (0..n).map(|i| if found.contains(&i) { 1.0 } else { 0.0 }).collect();
        let rho = spearman_by_counting(&rank, &presence).unwrap_or(0.0);
        candidates.push(Candidate { name: motif.to_string(), rho, support: found.len(), size });
    }
    for op in Op::ALL {
        let count: Vec<f64> = genomes.iter().map(|g| g.0.iter().filter(|&&o| o == op).count() as f64).collect();
        let support = count.iter().filter(|&&c| c > 0.0).count();
        if support > 0 {
            let rho = spearman_by_counting(&rank, &count).unwrap_or(0.0);
            candidates.push(Candidate { name: format!("count({})", op.code()), rho, support, size: 1 });
        }
    }
    let score = |c: &Candidate| [c.rho.abs(), c.support as f64, c.size as f64];
    let dominated = |c: &Candidate| {
        candidates.iter().any(|d| {
            let (a, b) = (score(d), score(c));
            (0..3).all(|k| a[k] >= b[k] - 1e-12) && (0..3).any(|k| a[k] > b[k] + 1e-12)
        })
    };
    let mut retained: Vec<Candidate> = Vec::new();
    for c in &candidates {
        if !dominated(c) && c.support >= 3 && c.rho.abs() >= 0.2 {
            retained.push(Candidate { name: c.name.clone(), ..*c });
        }
    }
    retained
}

#[test]
fn discovery_matches_the_seven_steps_written_out() {
    let mut any_retained = false;
    for seed in 0..6 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(8..20);
        // A 2-D front: accuracy up, introspectability down; convolutions likelier at the accurate end.
        let accuracy: Vec<f64> = (0..n).map(|i| 0.5 + 0.02 * i as f64).collect();
        let introspectability: Vec<f64> = (0..n).map(|i| 0.9 - 0.03 * i as f64).collect();
        let genomes = random_genomes(&mut rng, n, |i| i as f64 / n as f64 * 0.6);
        // Shuffle so the given order is not the sorted one.
        let mut shuffled: Vec<usize> = (0..n).collect();
        shuffled.sort_by_key(|&i| (i * 7 + seed as usize) % n);
        let genomes: Vec<Genome> = shuffled.iter().map(|&i| genomes[i]).collect();
        let accuracy: Vec<f64> = shuffled.iter().map(|&i| accuracy[i]).collect();
        let introspectability: Vec<f64> = shuffled.iter().map(|&i| introspectability[i]).collect();

        let discovery = discover_motifs(&genomes, &accuracy, &introspectability, &DiscoveryOptions::default()).unwrap();
        assert_eq!(discovery.order, front_order(&accuracy, &introspectability).unwrap());
        assert!(discovery.order.windows(2).all(|w| accuracy[w[0]] < accuracy[w[1]]));

        let expected = discovery_by_brute_force(&genomes, &accuracy, &introspectability);
        let mut expected_names: Vec<&str> = expected.iter().map(|c| c.name.as_str()).collect();
        let mut found_names: Vec<String> = discovery.retained.iter().map(|s| s.pattern.to_string()).collect();
        expected_names.sort();
        found_names.sort();
        assert_eq!(found_names, expected_names, "seed {seed}");
        for found in &discovery.retained {
            let twin = expected.iter().find(|c| c.name == found.pattern.to_string()).unwrap();
            assert!((found.rho - twin.rho).abs() < 1e-12);
            assert_eq!((found.support, found.size), (twin.support, twin.size));
            assert_eq!(found.holders.len(), found.support);
            if let Pattern::Motif(motif) = found.pattern {
                assert_eq!(found.holders, holders(&motif, &genomes));
            }
        }
        let covered: Vec<bool> = (0..n).map(|i| discovery.retained.iter().any(|s| s.holders.contains(&i))).collect();
        assert_eq!(discovery.unexplained, (0..n).filter(|&i| !covered[i]).collect::<Vec<_>>());
        any_retained |= !discovery.retained.is_empty();
    }
    assert!(any_retained, "the biased fronts should leave some motif standing");
}

#[test]
fn conv_counts_rise_towards_the_accurate_end() {
    // Introspectable end: pooling cells; accurate end: convolution cells.
    let genomes: Vec<Genome> =
        ["222322", "222332", "223222", "022322", "020302", "002030", "000300", "000030", "000000"]
            .iter()
            .map(|c| Genome::parse_compact(c).unwrap())
            .collect();
    let accuracy: Vec<f64> = (0..9).map(|i| 0.80 + 0.01 * i as f64).collect();
    let introspectability: Vec<f64> = (0..9).map(|i| 0.50 - 0.02 * i as f64).collect();
    let discovery = discover_motifs(&genomes, &accuracy, &introspectability, &DiscoveryOptions::default()).unwrap();
    let score = |name: &str| discovery.scored.iter().find(|s| s.pattern.to_string() == name).unwrap().rho;
    assert!(score("count(0)") > 0.9);
    assert!(score("count(2)") < -0.9);
    assert!(discovery.retained.iter().all(|s| s.support >= 3 && s.rho.abs() >= 0.2));
    assert!(!discovery.retained.is_empty());
}

#[test]
fn discovery_refuses_bad_fronts() {
    use xnas_analysis::AnalysisError;
    let genomes = [Genome::parse_compact("000000").unwrap(), Genome::parse_compact("222222").unwrap()];
    let options = DiscoveryOptions::default();
    assert!(matches!(
        discover_motifs(&genomes, &[0.9], &[0.1, 0.2], &options),
        Err(AnalysisError::LengthMismatch { .. })
    ));
    assert!(matches!(
        discover_motifs(&genomes[..1], &[0.9], &[0.1], &options),
        Err(AnalysisError::TooFew { needed: 2, .. })
    ));
    assert!(matches!(
        discover_motifs(&genomes, &[0.9, f64::NAN], &[0.1, 0.2], &options),
        Err(AnalysisError::NotFinite { index: 1, .. })
    ));
}
