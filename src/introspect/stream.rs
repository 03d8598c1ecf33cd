//! Streams per-class activation sums during a validation pass, one tapped layer at a time, with
//! `index_add_` on the device; then turns them into the class-distance matrix D in f64.
//!
//! Memory is `classes × tapped features` floats for the sums, whatever the number of images.

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
    }
}
