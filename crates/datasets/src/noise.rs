//! Label corruption on purpose: a seeded fraction of the training labels replaced by another
//! class, so that mislabel detection (the paper's figure 8, bottom) can be measured against
//! known answers.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Replaces `round(fraction · n)` labels, at seeded positions, by a class drawn uniformly from
/// the `num_classes − 1` other classes, and returns the positions, ascending. With fewer than two
/// classes there is no other class and nothing changes. `fraction` is clamped to [0, 1].
pub fn corrupt_labels(labels: &mut [u32], num_classes: usize, fraction: f64, seed: u64) -> Vec<u32> {
    if num_classes < 2 || labels.is_empty() {
        return Vec::new();
    }
    let count = ((labels.len() as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<u32> = (0..labels.len() as u32).collect();
    order.shuffle(&mut rng);
    let mut chosen = order[..count.min(labels.len())].to_vec();
    chosen.sort_unstable();
    for &i in &chosen {
        let original = labels[i as usize];
        // Uniform over the other classes: draw from K − 1 and skip the original.
        let drawn = rng.random_range(0..num_classes as u32 - 1);
        labels[i as usize] = if drawn >= original { drawn + 1 } else { drawn };
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_counted_and_always_another_class() {
        let original: Vec<u32> = (0..1000).map(|i| (i * 7 % 10) as u32).collect();
        let mut labels = original.clone();
        let corrupted = corrupt_labels(&mut labels, 10, 0.2, 42);
        assert_eq!(corrupted.len(), 200);
        assert!(corrupted.windows(2).all(|w| w[0] < w[1]), "ascending and distinct");
        for i in 0..1000u32 {
            let changed = labels[i as usize] != original[i as usize];
            assert_eq!(changed, corrupted.binary_search(&i).is_ok(), "index {i}");
            assert!(labels[i as usize] < 10);
        }
        let mut again = original.clone();
        assert_eq!(corrupt_labels(&mut again, 10, 0.2, 42), corrupted);
        assert_eq!(again, labels, "same seed, same new labels");
        let mut other = original.clone();
        assert_ne!(corrupt_labels(&mut other, 10, 0.2, 43), corrupted);
        // Every other class is drawn (uniform over 9 classes: each about 200/9 ≈ 22 times).
        let mut seen = [0usize; 10];
        corrupted.iter().for_each(|&i| seen[labels[i as usize] as usize] += 1);
        assert!(seen.iter().all(|&s| s > 5), "{seen:?}");
        // round(0.0005 · 1000) = 1 (0.5 rounds away from zero); none for 0; none with one class.
        assert_eq!(corrupt_labels(&mut original.clone(), 10, 0.0005, 1).len(), 1);
        assert!(corrupt_labels(&mut original.clone(), 10, 0.0, 1).is_empty());
        assert!(corrupt_labels(&mut [0; 5], 1, 0.5, 1).is_empty());
    }
}
