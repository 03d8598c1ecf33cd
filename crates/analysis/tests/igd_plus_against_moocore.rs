//! IGD+ against moocore 0.3.2 (`moocore.igd_plus`), live: random found and reference sets in two
//! axes, each axis minimised or maximised, handed to moocore; skipped with a note without
//! moocore, a failure under CI. The hand-computed cases are the unit tests beside the code.

mod live_python;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnas_analysis::igd_plus;
use xnas_moo::Direction::{Maximise, Minimise};

fn random_set(rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let size = rng.random_range(1..=15);
    (0..size).map(|_| [rng.random_range(0.0..1.0), rng.random_range(0.0..1.0)]).collect()
}

#[test]
fn igd_plus_matches_live_moocore() {
    let Some(python) = live_python::python_with("moocore") else {
        return live_python::without("moocore", "live comparison of IGD+ with moocore");
    };
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let cases: Vec<_> = (0..60)
        .map(|case| {
            let directions = [[Minimise, Minimise], [Maximise, Maximise], [Maximise, Minimise]][case % 3];
            (random_set(&mut rng), random_set(&mut rng), directions)
        })
        .collect();
    let input: Vec<_> = cases
        .iter()
        .map(|(found, reference, directions)| (found, reference, directions.map(|d| d == Maximise)))
        .collect();
    let script = r#"
import json, sys
import moocore
print(json.dumps([moocore.igd_plus(found, ref=reference, maximise=maximise)
                  for found, reference, maximise in json.load(sys.stdin)]))
"#;
    let expected: Vec<f64> = live_python::run_json(&python, script, &input);
    for ((found, reference, directions), moocore) in cases.iter().zip(expected) {
        let ours = igd_plus(found, reference, *directions).unwrap();
        assert!(
            (ours - moocore).abs() <= 1e-12 * moocore.abs().max(1.0),
            "ours {ours}, moocore {moocore}: {directions:?} found {found:?} reference {reference:?}"
        );
    }
}
