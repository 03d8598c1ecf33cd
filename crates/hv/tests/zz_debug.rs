mod common;
use common::*;
#[test]
fn find() {
    for (d, n) in [(3, 24), (4, 20), (5, 12)] {
        for seed in 0..300 {
            let mut rng = rng(50_000 + seed + 1000 * d as u64);
            let points = integer(&mut rng, n, d, 3);
            eprintln!("d={d} seed={seed} {points:?}");
            let _ = xnas_hv::hypervolume(&points, &vec![4.0; d]).unwrap();
        }
    }
}
