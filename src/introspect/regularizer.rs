//! The introspectability regularizer (appendix B, and eq. 5 with pair weights ω): an auxiliary
//! loss that pushes the batch's class-mean activations apart during training.
//!
//! For each tapped layer the batch's per-class sums are formed with an (out-of-place,
//! differentiable) `index_add`, and only their `K × K` Gram matrix is kept, summed over layers.
//! The penalty is the ω-weighted mean cosine *similarity* over the class pairs present in the
//! batch. Sums can stand in for means because cosine similarity ignores each class's scale, and
//! every layer scales a class by the same count. Nothing of size `batch × features` outlives
//! its layer, so the cost is one `index_add` and one small matmul per tapped layer.

use tch::{Kind, Tensor};

use super::TapConsumer;

/// Accumulates the batch's class-sum Gram matrix from tapped activations, keeping the graph.
pub struct BatchClassSimilarity {
    groups: Tensor,
    num_classes: i64,
    gram: Option<Tensor>,
}

impl BatchClassSimilarity {
    /// `groups`: the class of each image in the batch (`[batch]` int64, same device).
    pub fn new(groups: &Tensor, num_classes: usize) -> Self {
        BatchClassSimilarity { groups: groups.shallow_clone(), num_classes: num_classes as i64, gram: None }
    }

    /// The penalty: mean over present pairs c < k of `ω[c][k] · cos(mean_c, mean_k)`.
    /// `omega` is the dense `K × K` weight tensor on the device. Zero when no pair is present.
    pub fn penalty(&self, omega: &Tensor) -> Tensor {
        let Some(gram) = &self.gram else {
            return Tensor::zeros([], (Kind::Float, self.groups.device()));
        };
        let norms = gram.diagonal(0, 0, 1).clamp_min(1e-12).sqrt();
        let cos = gram / (norms.unsqueeze(1) * norms.unsqueeze(0));
        // Class counts by `index_add`, not `bincount`, which reads the labels' range back to the
        // host on CUDA (a sync every training step); the counts, and so the result, are the same.
        let ones = Tensor::ones_like(&self.groups).to_kind(Kind::Float);
        let counts =
            Tensor::zeros([self.num_classes], (Kind::Float, self.groups.device())).index_add(0, &self.groups, &ones);
        let present = counts.gt(0).to_kind(cos.kind());
        let pairs = (present.unsqueeze(1) * present.unsqueeze(0)).triu(1);
        let weighted = (cos * omega.to_kind(pairs.kind()) * &pairs).sum(pairs.kind());
        weighted / pairs.sum(pairs.kind()).clamp_min(1.0)
    }
}

impl TapConsumer for BatchClassSimilarity {
    fn tap(&mut self, _layer: usize, activation: &Tensor) {
        let flat = activation.flatten(1, -1);
        let zeros = Tensor::zeros([self.num_classes, flat.size()[1]], (flat.kind(), flat.device()));
        let sums = zeros.index_add(0, &self.groups, &flat);
        let gram = sums.matmul(&sums.tr());
        self.gram = Some(match self.gram.take() {
            None => gram,
            Some(g) => g + gram,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// A tiny "network": two tapped layers h1 = relu(x·W1), h2 = relu(h1·W2), in f64.
    fn penalty_of(w1: &Tensor, w2: &Tensor, x: &Tensor, labels: &Tensor, omega: &Tensor) -> Tensor {
        let mut acc = BatchClassSimilarity::new(labels, 3);
        let h1 = x.matmul(w1).relu();
        acc.tap(0, &h1);
        let h2 = h1.matmul(w2).relu();
        acc.tap(1, &h2);
        acc.penalty(omega)
    }

    #[test]
    fn gradient_matches_finite_differences() {
        tch::manual_seed(2);
        let opts = (Kind::Double, Device::Cpu);
        let x = Tensor::randn([9, 4], opts);
        let labels = Tensor::from_slice(&[0i64, 1, 2, 0, 1, 2, 0, 1, 2]);
        let omega = Tensor::from_slice(&[1.0f64, 25.0, 1.0, 25.0, 1.0, 2.0, 1.0, 2.0, 1.0]).view([3, 3]);
        let w1 = Tensor::randn([4, 5], opts).set_requires_grad(true);
        let w2 = Tensor::randn([5, 3], opts).set_requires_grad(true);
        let p = penalty_of(&w1, &w2, &x, &labels, &omega);
        let grads = Tensor::run_backward(&[&p], &[&w1, &w2], false, false);
        let eps = 1e-6;
        for (which, grad) in grads.iter().enumerate() {
            let n = grad.numel() as i64;
            for i in 0..n {
                let bump = |delta: f64| {
                    let (mut a, mut b) = (w1.detach().copy(), w2.detach().copy());
                    let target = if which == 0 { &mut a } else { &mut b };
                    let flat = target.view([-1]);
                    let _ = flat.get(i).f_add_scalar_(delta).unwrap();
                    penalty_of(&a, &b, &x, &labels, &omega).double_value(&[])
                };
                let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
                let analytic = grad.view([-1]).double_value(&[i]);
                assert!(
                    (numeric - analytic).abs() < 1e-6 * (1.0 + numeric.abs()),
                    "w{}[{i}]: {analytic} vs {numeric}",
                    which + 1
                );
            }
        }
    }

    #[test]
    fn penalty_is_the_weighted_mean_cosine_similarity_by_hand() {
        // One tapped layer, classes 0 and 1 present (2 absent): sums (1,0)+(1,1) = (2,1) and (0,1).
        let act = Tensor::from_slice(&[1.0f64, 0.0, 1.0, 1.0, 0.0, 1.0]).view([3, 2]);
        let labels = Tensor::from_slice(&[0i64, 0, 1]);
        let mut acc = BatchClassSimilarity::new(&labels, 3);
        acc.tap(0, &act);
        let omega = Tensor::ones([3, 3], (Kind::Double, Device::Cpu)) * 3.0;
        let expected = 3.0 * 1.0 / 5f64.sqrt(); // cos((2,1),(0,1)) = 1/√5, one pair
        assert!((acc.penalty(&omega).double_value(&[]) - expected).abs() < 1e-12);
    }
}
