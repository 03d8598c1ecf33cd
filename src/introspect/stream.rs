//! Streams per-class activation sums during a pass over a split, one tapped layer at a time, with
//! `index_add_` on the device; then turns them into the class-distance matrix D in f64, or hands
//! the class means on to [`MeanSimilarity`], which scores each later image by the cosine
//! similarity of its activations to every class mean, layer by layer.
//!
//! Memory is `classes × tapped features` floats for the sums, whatever the number of images, and
//! `batch × classes` for the similarities.
//!
//! The similarity tap runs once per tapped layer per image of every scored pass, so its cost is
//! that of a second forward: a `[batch, features] × [features, classes]` f32 matmul and the
//! squared norms of the activations. Summing those norms in f64 means widening every activation
//! to f64 first (a batch-sized copy per layer), which cost more than the matmul; [`NormSum::F32`]
//! sums them in f32 instead (see there for why that is exact enough).

use tch::{Device, Kind, Tensor};

use super::TapConsumer;
use super::{cosine_distances_from_gram, DistanceMatrix};

/// Per-class sums of every tapped layer's flattened activations.
pub struct ClassMeanAccumulator {
    num_classes: i64,
    device: Device,
    sums: Vec<Tensor>,
    counts: Vec<u64>,
    groups: Option<Tensor>,
}

/// What the accumulator measured.
#[derive(Debug, Clone)]
pub struct ClassDistances {
    pub distances: DistanceMatrix,
    /// Images per class that fed the means.
    pub counts: Vec<u64>,
    pub tapped_layers: usize,
    pub tapped_features: u64,
}

impl ClassMeanAccumulator {
    pub fn new(num_classes: usize, device: Device) -> Self {
        ClassMeanAccumulator {
            num_classes: num_classes as i64,
            device,
            sums: Vec::new(),
            counts: vec![0; num_classes],
            groups: None,
        }
    }

    /// Sets the class of each image of the next forward pass (`[batch]` int64 on the device).
    pub fn begin_batch(&mut self, groups: &Tensor) {
        let host: Vec<i64> = Vec::try_from(groups.to_device(Device::Cpu)).expect("int64 class indices");
        for g in host {
            self.counts[g as usize] += 1;
        }
        self.groups = Some(groups.shallow_clone());
    }

    /// D from the class means, with the Gram matrix of the means accumulated layer by layer in f64.
    pub fn finish(&self) -> ClassDistances {
        let k = self.num_classes;
        let counts = Tensor::from_slice(&self.counts.iter().map(|&c| c.max(1) as f64).collect::<Vec<_>>())
            .to_device(self.device)
            .view([k, 1]);
        let mut gram = Tensor::zeros([k, k], (Kind::Double, self.device));
        for sum in &self.sums {
            let means = sum.to_kind(Kind::Double) / &counts;
            gram += means.matmul(&means.tr());
        }
        let gram: Vec<Vec<f64>> =
            (0..k).map(|c| Vec::try_from(gram.get(c).to_device(Device::Cpu)).expect("f64 row")).collect();
        let present: Vec<bool> = self.counts.iter().map(|&c| c > 0).collect();
        ClassDistances {
            distances: cosine_distances_from_gram(&gram, &present),
            counts: self.counts.clone(),
            tapped_layers: self.sums.len(),
            tapped_features: self.sums.iter().map(|s| s.size()[1] as u64).sum(),
        }
    }
}

impl ClassMeanAccumulator {
    /// Images per class so far.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Each tapped layer's class means, `[classes, features]` float on the device (a class with
    /// no image has the zero vector).
    pub fn class_means(&self) -> Vec<Tensor> {
        let counts = Tensor::from_slice(&self.counts.iter().map(|&c| c.max(1) as f32).collect::<Vec<_>>())
            .to_device(self.device)
            .view([self.num_classes, 1]);
        self.sums.iter().map(|sum| sum / &counts).collect()
    }
}

/// How [`MeanSimilarity`] sums each image's squared activations over a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormSum {
    /// Each f32 square widened to f64 and summed there: what every record was measured with
    /// before `trust_mean_images` existed, kept for `"all"` so that it measures as before, bit for bit.
    F64,
    /// Summed in f32 by libtorch's cascade (pairwise) summation. The terms are non-negative, so
    /// the relative error of a layer's sum is at most about `log2(features) × 2⁻²⁴` (below 1e-6
    /// for a million features), and the similarity's, half that: less than the f32 matmul's own
    /// rounding of the dot products it divides, and orders below the 1e-5 the tests hold the
    /// similarities to against f64 brute force. The scores are only ranked and binned.
    F32,
}

/// Cosine similarity between each image's concatenated tapped activations and every class mean,
/// without concatenating anything: per layer, the dot products with the means (`[batch, classes]`)
/// and the squared norm of the activations are summed over layers.
pub struct MeanSimilarity {
    means: Vec<Tensor>,
    /// ‖mean_c‖ over all layers, `[1, classes]`.
    mean_norms: Tensor,
    norm_sum: NormSum,
    dots: Option<Tensor>,
    squared_norms: Option<Tensor>,
}

impl MeanSimilarity {
    /// From per-layer class means (`[classes, features]` each, as [`ClassMeanAccumulator::class_means`] gives).
    pub fn new(means: Vec<Tensor>, norm_sum: NormSum) -> Self {
        let squared: Tensor =
            means.iter().map(|m| m.to_kind(Kind::Double).square().sum_dim_intlist(1, false, None)).sum();
        MeanSimilarity { mean_norms: squared.sqrt().unsqueeze(0), means, norm_sum, dots: None, squared_norms: None }
    }

    /// The `[batch, classes]` cosine similarities of the last forward pass (0 where a norm is 0),
    /// and resets for the next batch.
    pub fn take_batch(&mut self) -> Tensor {
        let dots = self.dots.take().expect("a tapped forward pass before take_batch");
        let norms = self.squared_norms.take().expect("a tapped forward pass before take_batch").sqrt().unsqueeze(1);
        (dots / (norms * &self.mean_norms)).nan_to_num(0.0, 0.0, 0.0)
    }
}

/// `total += term`, in place after the first layer of a batch (one tensor fewer per layer; the
/// same additions in the same order as `total + term`).
fn add_into(total: &mut Option<Tensor>, term: Tensor) {
    match total {
        None => *total = Some(term),
        Some(sum) => {
            *sum += &term;
        }
    }
}

impl TapConsumer for MeanSimilarity {
    fn tap(&mut self, layer: usize, activation: &Tensor) {
        let flat = activation.flatten(1, -1).to_kind(Kind::Float);
        let dots = flat.matmul(&self.means[layer].tr()).to_kind(Kind::Double);
        let squared = match self.norm_sum {
            NormSum::F64 => flat.square().sum_dim_intlist(1, false, Kind::Double),
            NormSum::F32 => flat.square().sum_dim_intlist(1, false, Kind::Float).to_kind(Kind::Double),
        };
        add_into(&mut self.dots, dots);
        add_into(&mut self.squared_norms, squared);
    }
}

impl TapConsumer for ClassMeanAccumulator {
    fn tap(&mut self, layer: usize, activation: &Tensor) {
        let groups = self.groups.as_ref().expect("begin_batch before the forward pass");
        let flat = activation.flatten(1, -1).to_kind(Kind::Float);
        if layer == self.sums.len() {
            self.sums.push(Tensor::zeros([self.num_classes, flat.size()[1]], (Kind::Float, self.device)));
        }
        let _ = self.sums[layer].index_add_(0, groups, &flat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::introspect::introspectability;

    /// The accumulator against a brute-force computation from fully materialised activations:
    /// concatenate every layer per image, average per class, cosine distances, mean over pairs.
    #[test]
    fn matches_brute_force_on_materialised_activations() {
        tch::manual_seed(3);
        let (n, classes) = (40, 4);
        let layers = [
            Tensor::randn([n, 3, 2, 2], (Kind::Float, Device::Cpu)).relu(),
            Tensor::randn([n, 5], (Kind::Float, Device::Cpu)),
        ];
        let labels: Vec<i64> = (0..n).map(|i| i * 7 % 3).collect(); // class 3 has no images
        let mut acc = ClassMeanAccumulator::new(classes, Device::Cpu);
        for start in (0..n).step_by(16) {
            let len = 16.min(n - start);
            acc.begin_batch(&Tensor::from_slice(&labels[start as usize..(start + len) as usize]));
            for (l, t) in layers.iter().enumerate() {
                acc.tap(l, &t.narrow(0, start, len));
            }
        }
        let got = acc.finish();

        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                layers
                    .iter()
                    .flat_map(|t| Vec::<f64>::try_from(t.get(i).flatten(0, -1).to_kind(Kind::Double)).unwrap())
                    .collect()
            })
            .collect();
        let dim = rows[0].len();
        let mut means = vec![vec![0.0; dim]; classes];
        let mut counts = vec![0.0; classes];
        for (row, &l) in rows.iter().zip(&labels) {
            counts[l as usize] += 1.0;
            for (m, v) in means[l as usize].iter_mut().zip(row) {
                *m += v;
            }
        }
        let mut brute_sum = 0.0;
        let mut pairs = 0;
        for c in 0..3 {
            for k in c + 1..3 {
                let a: Vec<f64> = means[c].iter().map(|v| v / counts[c]).collect();
                let b: Vec<f64> = means[k].iter().map(|v| v / counts[k]).collect();
                let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
                let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
                let d = 1.0 - dot / (na * nb);
                assert!((got.distances[c][k].unwrap() - d).abs() < 1e-5, "D[{c}][{k}]");
                brute_sum += d;
                pairs += 1;
            }
            assert_eq!(got.distances[c][3], None);
        }
        assert!((introspectability(&got.distances).unwrap() - brute_sum / pairs as f64).abs() < 1e-5);
        assert_eq!(got.tapped_features, 17);
        assert_eq!(got.counts, vec![14, 13, 13, 0]);

        // Each image's cosine similarity to each class mean, layer by layer against concatenated.
        for norm_sum in [NormSum::F64, NormSum::F32] {
            let mut similarity = MeanSimilarity::new(acc.class_means(), norm_sum);
            for (l, t) in layers.iter().enumerate() {
                similarity.tap(l, &t.narrow(0, 5, 3));
            }
            let got = similarity.take_batch();
            for (b, row) in rows[5..8].iter().enumerate() {
                for (c, mean) in means.iter().enumerate() {
                    let m: Vec<f64> = mean.iter().map(|v| v / counts[c].max(1.0)).collect();
                    let want = brute_force_cosine(row, &m);
                    let off = (got.double_value(&[b as i64, c as i64]) - want).abs();
                    assert!(off < 1e-5, "{norm_sum:?}: image {b} class {c} off by {off}");
                }
            }
        }
    }

    /// `⟨a, b⟩ / (‖a‖ ‖b‖)` in f64, 0 where a norm is 0.
    fn brute_force_cosine(a: &[f64], b: &[f64]) -> f64 {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norms = a.iter().map(|x| x * x).sum::<f64>().sqrt() * b.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norms > 0.0 {
            dot / norms
        } else {
            0.0
        }
    }

    /// Both norm summations at a real network's size (the quickstart's C = 8 on 28 × 28 images:
    /// 6,272 + 3,136 + 1,568 features over three layers, 10 classes) and with activations spread
    /// over six orders of magnitude, where summing squares in f32 would show if it were too coarse:
    /// every similarity within 1e-5 of the f64 brute force over the concatenated activations, over
    /// two batches of one similarity (the sums reset between batches).
    #[test]
    fn similarity_at_network_size_matches_brute_force_in_both_norm_sums() {
        tch::manual_seed(11);
        let (n, classes) = (6i64, 10i64);
        let spread = |shape: &[i64]| {
            let scale = (Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 3.0).exp();
            (Tensor::randn(shape, (Kind::Float, Device::Cpu)) * scale).relu()
        };
        let layers = [spread(&[2 * n, 8, 28, 28]), spread(&[2 * n, 16, 14, 14]), spread(&[2 * n, 32, 7, 7])];
        let means: Vec<Tensor> = layers.iter().map(|t| spread(&[classes, t.numel() as i64 / (2 * n)])).collect();
        let host = |t: &Tensor| Vec::<f64>::try_from(t.flatten(0, -1).to_kind(Kind::Double)).unwrap();
        let concatenated =
            |per_layer: &[Tensor], i: i64| per_layer.iter().flat_map(|t| host(&t.get(i))).collect::<Vec<f64>>();
        for norm_sum in [NormSum::F64, NormSum::F32] {
            let mut similarity = MeanSimilarity::new(means.iter().map(Tensor::shallow_clone).collect(), norm_sum);
            for start in [0, n] {
                for (l, t) in layers.iter().enumerate() {
                    similarity.tap(l, &t.narrow(0, start, n));
                }
                let got = similarity.take_batch();
                assert_eq!(got.size(), [n, classes]);
                for b in 0..n {
                    let row = concatenated(&layers, start + b);
                    for c in 0..classes {
                        let want = brute_force_cosine(&row, &concatenated(&means, c));
                        let off = (got.double_value(&[b, c]) - want).abs();
                        assert!(off < 1e-5, "{norm_sum:?}: image {} class {c}: {want} off by {off}", start + b);
                    }
                }
            }
        }
    }
}
