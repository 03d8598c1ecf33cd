//! A deadline stops a hypervolume that would run for minutes, and changes nothing in one that
//! finishes before it.

mod common;

use std::time::{Duration, Instant};

use common::{rng, sphere};
use xnas_hv::{contributions, contributions_until, hypervolume, hypervolume_until, HvError};

#[test]
fn a_passed_deadline_stops_large_sets_in_every_dimension_with_their_size() {
    // 2,000 points on a sphere in 8-D took 54 s without a deadline; with one already passed the
    // sweep gives up within its first steps.
    for (n, d) in [(2_000, 8), (300, 14), (3_000, 6), (5_000, 5), (20_000, 4)] {
        let points = sphere(&mut rng(d as u64), n, d);
        let reference = vec![1.1; d];
        let error = hypervolume_until(&points, &reference, Instant::now()).unwrap_err();
        assert_eq!(error, HvError::DeadlinePassed { points: n, dimension: d });
        let message = error.to_string();
        assert!(message.contains(&format!("{n} points in {d} objectives")) && message.contains("fewer"), "{message}");
    }
    let points = sphere(&mut rng(7), 500, 6);
    let error = contributions_until(&points, &[1.1; 6], Instant::now()).unwrap_err();
    assert_eq!(error, HvError::DeadlinePassed { points: 500, dimension: 6 });
}

#[test]
fn a_deadline_that_is_not_reached_gives_the_same_values() {
    let far = Instant::now() + Duration::from_secs(3600);
    for d in 2..=7 {
        let points = sphere(&mut rng(100 + d as u64), 40, d);
        let reference = vec![1.1; d];
        assert_eq!(hypervolume_until(&points, &reference, far).unwrap(), hypervolume(&points, &reference).unwrap());
        assert_eq!(contributions_until(&points, &reference, far).unwrap(), contributions(&points, &reference).unwrap());
    }
}
