//! The hypervolume of a front, the quality number a run reports per generation: here the paper's
//! setting, two maximised objectives (accuracy, introspectability) with reference point
//! (0, 1/N_C), and each point's exclusive contribution (how much the front loses without it).
//!
//!     cargo run --example hypervolume

use xnas::hv::{contributions_max, hypervolume_max};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let classes = 10.0;
    let reference = [0.0, 1.0 / classes];
    // (validation accuracy, introspectability) of four networks; the last is dominated.
    let front = [[0.91, 0.22], [0.88, 0.35], [0.80, 0.41], [0.79, 0.30]];
    let volume = hypervolume_max(&front, &reference)?;
    // By hand: boxes from the reference point, stacked by accuracy.
    let by_hand = 0.91 * (0.22 - 0.1) + 0.88 * (0.35 - 0.22) + 0.80 * (0.41 - 0.35);
    println!("hypervolume {volume:.6} (by hand {by_hand:.6})");
    assert!((volume - by_hand).abs() < 1e-12);
    for (point, share) in front.iter().zip(contributions_max(&front, &reference)?) {
        println!("  {point:?} contributes {share:.6}");
    }
    Ok(())
}
