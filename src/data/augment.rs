//! Appendix B's augmentation, applied to a whole normalised batch at once on its device:
//! zero-pad by ⌈H/8⌉ and ⌈W/8⌉ and randomly crop back, flip horizontally with p = 0.5, and cut out
//! a randomly centred 2⌈H/8⌉ × 2⌈W/8⌉ window (clipped at the borders).
//!
//! Padding and cutout write zeros *after* normalisation, i.e. the training mean — the usual
//! reading of "zero-pad" when augmentation follows preprocessing, as the appendix orders them.
//!
//! Every random number is drawn on the batch's own device (`randint` and `rand` with its device),
//! so on CUDA augmentation is a few kernels on the device's generator, with no copy from or wait
//! for the host; on a CPU it draws from the CPU generator as it always has.

use tch::{Kind, Tensor};

/// Batched random augmentation for images of one size.
#[derive(Debug, Clone, Copy)]
pub struct Augmenter {
    height: i64,
    width: i64,
    pad_h: i64,
    pad_w: i64,
}

impl Augmenter {
    pub fn new(height: usize, width: usize) -> Augmenter {
        let (height, width) = (height as i64, width as i64);
        Augmenter { height, width, pad_h: (height + 7) / 8, pad_w: (width + 7) / 8 }
    }

    /// Augments `x` (`[b, c, h, w]`, float) using torch's global generator (seeded per run).
    pub fn apply(&self, x: &Tensor) -> Tensor {
        let x = self.pad_and_crop(x);
        let x = self.flip(&x);
        self.cutout(&x)
    }

    fn pad_and_crop(&self, x: &Tensor) -> Tensor {
        let (b, c, h, w) = x.size4().expect("a batch of images");
        let device = x.device();
        let padded = x.constant_pad_nd([self.pad_w, self.pad_w, self.pad_h, self.pad_h]);
        // Per-image offsets in [0, 2·pad]; gather rows, then columns.
        let dy = Tensor::randint(2 * self.pad_h + 1, [b, 1], (Kind::Int64, device));
        let dx = Tensor::randint(2 * self.pad_w + 1, [b, 1], (Kind::Int64, device));
        let rows = (dy + Tensor::arange(h, (Kind::Int64, device)).view([1, h]))
            .view([b, 1, h, 1])
            .expand([b, c, h, w + 2 * self.pad_w], false);
        let cropped_rows = padded.gather(2, &rows, false);
        let cols =
            (dx + Tensor::arange(w, (Kind::Int64, device)).view([1, w])).view([b, 1, 1, w]).expand([b, c, h, w], false);
        cropped_rows.gather(3, &cols, false)
    }

    fn flip(&self, x: &Tensor) -> Tensor {
        let b = x.size()[0];
        let flip = Tensor::rand([b, 1, 1, 1], (Kind::Float, x.device())).lt(0.5);
        x.flip([3]).where_self(&flip, x)
    }

    fn cutout(&self, x: &Tensor) -> Tensor {
        let b = x.size()[0];
        let device = x.device();
        let (h, w) = (self.height, self.width);
        // Window of 2·pad_h × 2·pad_w centred at (cy, cx): rows cy−pad_h .. cy+pad_h−1.
        let cy = Tensor::randint(h, [b, 1, 1, 1], (Kind::Int64, device));
        let cx = Tensor::randint(w, [b, 1, 1, 1], (Kind::Int64, device));
        let r = Tensor::arange(h, (Kind::Int64, device)).view([1, 1, h, 1]);
        let col = Tensor::arange(w, (Kind::Int64, device)).view([1, 1, 1, w]);
        let in_rows = r.ge_tensor(&(&cy - self.pad_h)).logical_and(&r.lt_tensor(&(&cy + self.pad_h)));
        let in_cols = col.ge_tensor(&(&cx - self.pad_w)).logical_and(&col.lt_tensor(&(&cx + self.pad_w)));
        let keep = in_rows.logical_and(&in_cols).logical_not().to_kind(x.kind());
        x * keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn crop_is_a_shift_of_the_padded_image_and_cutout_has_the_right_size() {
        tch::manual_seed(7);
        let aug = Augmenter::new(8, 8); // pad 1, cutout 2×2
        let x = Tensor::arange(64, (Kind::Float, Device::Cpu)).view([1, 1, 8, 8]) + 1.0;
        for _ in 0..20 {
            let y = aug.pad_and_crop(&x);
            // Find the shift: y[i][j] = x[i+dy−1][j+dx−1] where in range, else 0.
            let yv: Vec<f32> = Vec::try_from(y.flatten(0, -1)).unwrap();
            let xv: Vec<f32> = Vec::try_from(x.flatten(0, -1)).unwrap();
            let matches_some_shift = (-1i64..=1).any(|sy| {
                (-1i64..=1).any(|sx| {
                    (0..8).all(|i| {
                        (0..8).all(|j| {
                            let (si, sj) = (i + sy, j + sx);
                            let expected = if (0..8).contains(&si) && (0..8).contains(&sj) {
                                xv[(si * 8 + sj) as usize]
                            } else {
                                0.0
                            };
                            yv[(i * 8 + j) as usize] == expected
                        })
                    })
                })
            });
            assert!(matches_some_shift);
            let c = aug.cutout(&x);
            let zeros = Vec::<f32>::try_from(c.flatten(0, -1)).unwrap().iter().filter(|&&v| v == 0.0).count();
            assert!((1..=4).contains(&zeros), "cutout zeroed {zeros} pixels");
        }
    }

    #[test]
    fn flip_mirrors_columns() {
        let aug = Augmenter::new(2, 3);
        tch::manual_seed(1);
        let x = Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6.]).view([1, 1, 2, 3]).repeat([16, 1, 1, 1]);
        let y = aug.flip(&x);
        let flipped = y.eq_tensor(&x.flip([3])).all_dim(3, false).all_dim(2, false).view([16]);
        let same = y.eq_tensor(&x).all_dim(3, false).all_dim(2, false).view([16]);
        assert!(bool::try_from(flipped.logical_or(&same).all()).unwrap());
        let n_flipped = i64::try_from(flipped.sum(Kind::Int64)).unwrap();
        assert!((1..16).contains(&n_flipped));
    }
}
