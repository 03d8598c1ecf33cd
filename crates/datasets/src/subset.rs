//! Seeded, class-stratified subsets and splits: a few hundred images still hold every class,
//! in proportion, and the same seed picks the same images.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Indices of `count` images (all of them if fewer), each class contributing in proportion
/// to its size (largest remainders first), in a seeded shuffled order.
pub fn stratified_subset(labels: &[u32], num_classes: usize, count: usize, seed: u64) -> Vec<usize> {
    split_indices(labels, num_classes, count, seed).0
}

/// (`count` stratified indices, the remaining indices), both seeded.
pub fn split_indices(labels: &[u32], num_classes: usize, count: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    for members in &mut by_class {
        members.shuffle(&mut rng);
    }
    let total = labels.len();
    let count = count.min(total);
    // Proportional shares, rounded down, then the largest remainders get one more.
    let mut shares: Vec<usize> = by_class.iter().map(|m| m.len() * count / total.max(1)).collect();
    let mut order: Vec<usize> = (0..num_classes).collect();
    order.sort_by_key(|&c| std::cmp::Reverse((by_class[c].len() * count) % total.max(1)));
    let mut missing = count - shares.iter().sum::<usize>();
    for c in order {
        if missing == 0 {
            break;
        }
        if shares[c] < by_class[c].len() {
            shares[c] += 1;
            missing -= 1;
        }
    }
    // A small class can round down to nothing. When the subset has room for every class, each
    // gets at least one image, taken from the class with the largest share.
    let present = by_class.iter().filter(|m| !m.is_empty()).count();
    if count >= present {
        while let Some(empty) = (0..num_classes).find(|&c| shares[c] == 0 && !by_class[c].is_empty()) {
            let donor = (0..num_classes).max_by_key(|&c| (shares[c], std::cmp::Reverse(c))).expect("classes");
            shares[donor] -= 1;
            shares[empty] += 1;
        }
    }
    let mut chosen = Vec::with_capacity(count);
    let mut rest = Vec::with_capacity(total - count);
    for (members, &share) in by_class.iter().zip(&shares) {
        chosen.extend_from_slice(&members[..share]);
        rest.extend_from_slice(&members[share..]);
    }
    chosen.shuffle(&mut rng);
    rest.sort_unstable();
    (chosen, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_reproducible_and_disjoint() {
        // 60 of class 0, 30 of class 1, 10 of class 2.
        let labels: Vec<u32> = (0..100)
            .map(|i| {
                if i < 60 {
                    0
                } else if i < 90 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let pick = stratified_subset(&labels, 3, 20, 7);
        let count = |c| pick.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!((count(0), count(1), count(2)), (12, 6, 2));
        assert_eq!(pick, stratified_subset(&labels, 3, 20, 7));
        assert_ne!(pick, stratified_subset(&labels, 3, 20, 8));
        let (a, b) = split_indices(&labels, 3, 25, 1);
        assert_eq!(a.len() + b.len(), 100);
        assert!(a.iter().all(|i| !b.contains(i)));
        assert_eq!(stratified_subset(&labels, 3, 1000, 0).len(), 100);
    }

    #[test]
    fn every_class_is_present_when_there_is_room() {
        // One big class and nine of three images each: proportional shares of 20 would round the
        // small classes down to nothing.
        let labels: Vec<u32> = (0..1027).map(|i| if i < 1000 { 0 } else { 1 + (i - 1000) % 9 }).collect();
        for seed in 0..5 {
            let pick = stratified_subset(&labels, 10, 20, seed);
            assert_eq!(pick.len(), 20);
            let mut counts = [0; 10];
            pick.iter().for_each(|&i| counts[labels[i] as usize] += 1);
            assert_eq!(counts, [11, 1, 1, 1, 1, 1, 1, 1, 1, 1], "seed {seed}");
            let mut unique = pick.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 20);
        }
        // ImageNet16-120-like: 120 classes of 732 to 1,300 images, 300 drawn.
        let sizes: Vec<usize> = (0..120).map(|c| 732 + (c * 4783) % 569).collect();
        let labels: Vec<u32> = sizes.iter().enumerate().flat_map(|(c, &n)| std::iter::repeat_n(c as u32, n)).collect();
        let pick = stratified_subset(&labels, 120, 300, 9);
        let mut seen = [false; 120];
        pick.iter().for_each(|&i| seen[labels[i] as usize] = true);
        assert_eq!((pick.len(), seen.iter().filter(|&&s| s).count()), (300, 120));
        // Fewer images than classes: as many classes as images, one each.
        let pick = stratified_subset(&labels, 120, 7, 9);
        let mut classes: Vec<u32> = pick.iter().map(|&i| labels[i]).collect();
        classes.sort_unstable();
        classes.dedup();
        assert_eq!(classes.len(), 7);
    }
}
