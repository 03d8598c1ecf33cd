//! Parameter and FLOP counts of the network a genome builds, in closed form.
//!
//! The network is NAS-Bench-201's `TinyNetwork` (see [`MacroConfig`]): counting needs no
//! libtorch, so the search can score size and cost before (or instead of) building anything.
//!
//! **Parameters** are the trainable tensors of the built network: conv weights (no conv has a
//! bias), BN weight and bias (running statistics are buffers, not parameters) and the classifier's
//! weight and bias. Every conv edge of every cell counts, even one whose output cannot reach the
//! cell output or whose input is always zero: NAS-Bench-201 builds (and trains) every edge, and
//! so does xnas' network, so the count equals the built network's whatever the genome's validity.
//!
//! **FLOPs** are multiply-adds per image, counted as NAS-Bench-201's `get_model_infos` counts
//! them: every conv (`k²·c_in·c_out` per output position, at the size the layer runs at) and the
//! classifier (`in·out`, plus `out` for its bias); BN, ReLU, pooling and additions are free. Every
//! conv edge counts, as every edge runs in the forward pass. Including the classifier's bias is
//! what reproduces NAS-Bench-201's published ranges exactly: 7.78305–220.11969 MFLOPs on CIFAR-10,
//! 7.78890–220.12554 on CIFAR-100, 1.95340–55.03756 on ImageNet16-120.

use serde::{Deserialize, Serialize};

use crate::genome::{Genome, Op};

/// Stages of cells in the network; between two stages a reduction block doubles the channels
/// and halves the spatial size.
pub const NUM_STAGES: usize = 3;

/// The macro skeleton around the cell: NAS-Bench-201's `TinyNetwork`.
///
/// - stem: 3×3 conv (`input.0` → `C`, padding 1, no bias) + BN(`C`);
/// - `N` cells at `C` channels; a reduction block `C` → `2C`; `N` cells at `2C`; a block
///   `2C` → `4C`; `N` cells at `4C`;
/// - head: BN(`4C`) + ReLU, global average pooling, linear `4C` → `K` with bias.
///
/// A reduction block (`in` → `out = 2·in`) is a residual block: ReLU → 3×3 conv (stride 2,
/// padding 1) → BN, then ReLU → 3×3 conv → BN on the main path; 2×2 average pooling (stride 2)
/// then a 1×1 conv (no bias) on the shortcut; the two are added.
///
/// The cell edge ops: conv3x3 and conv1x1 are ReLU → conv (no bias) → BN at the cell's channels;
/// avgpool is 3×3, stride 1, padding 1 (padding not counted); zeroize and skip have no layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MacroConfig {
    /// Channels of the first stage's cells (`C`; the paper's F = 16).
    pub channels: usize,
    /// Cells per stage (`N`; the paper's 5).
    pub cells_per_stage: usize,
    /// Classes, the classifier's outputs (`K`).
    pub num_classes: usize,
    /// Input images as (channels, height, width).
    pub input: (usize, usize, usize),
}

impl Default for MacroConfig {
    /// The paper's CIFAR-10 network: C = 16, N = 5, 10 classes, 3×32×32 inputs.
    fn default() -> Self {
        MacroConfig { channels: 16, cells_per_stage: 5, num_classes: 10, input: (3, 32, 32) }
    }
}

/// Why a [`MacroConfig`] does not describe a network that can be built and run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacroConfigError {
    #[error("the network needs at least 1 channel (C), got 0; the paper uses 16")]
    NoChannels,
    #[error("the classifier needs at least 1 class (K), got 0")]
    NoClasses,
    #[error("input {input} has an empty dimension; give channels, height and width of at least 1, e.g. 3x32x32")]
    EmptyInput { input: String },
    #[error(
        "input {dimension} {input_size} is {size} at reduction block {block}, an odd size: the block's \
         stride-2 conv gives {conv_size} there but its 2×2 average-pool shortcut gives {pool_size}, and \
         the two cannot be added; use a {dimension} that is a multiple of 4 (e.g. 32, 28 or 16)"
    )]
    OddAtReduction {
        dimension: &'static str,
        input_size: usize,
        block: usize,
        size: usize,
        conv_size: usize,
        pool_size: usize,
    },
    #[error("the network for {config} has more than 2^64 parameters or FLOPs; use smaller settings")]
    TooLarge { config: String },
    #[error("input shape {text:?} is not CxHxW (three positive integers joined by 'x', e.g. 3x32x32)")]
    BadInputShape { text: String },
}

/// The output size of a convolution or pooling window along one dimension.
fn window_output(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    size.checked_add(2 * padding)?.checked_sub(kernel).map(|span| span / stride + 1)
}

impl MacroConfig {
    /// Parses an input shape written `CxHxW`, e.g. `3x32x32` (also `×` or `,` between the numbers).
    pub fn parse_input(text: &str) -> Result<(usize, usize, usize), MacroConfigError> {
        let bad = || MacroConfigError::BadInputShape { text: text.to_string() };
        let parts: Vec<usize> = text
            .trim()
            .split(['x', 'X', '×', ','])
            .map(|part| part.trim().parse::<usize>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        match parts[..] {
            [c, h, w] if c > 0 && h > 0 && w > 0 => Ok((c, h, w)),
            _ => Err(bad()),
        }
    }

    /// The spatial size (height, width) each stage's cells run at, or why the network cannot be
    /// built: a reduction block needs an even input, or its two paths disagree in size.
    pub fn stage_sizes(&self) -> Result<[(usize, usize); NUM_STAGES], MacroConfigError> {
        let (c, h, w) = self.input;
        if c == 0 || h == 0 || w == 0 {
            return Err(MacroConfigError::EmptyInput { input: format!("{c}x{h}x{w}") });
        }
        let mut sizes = [(h, w); NUM_STAGES];
        for block in 1..NUM_STAGES {
            let (bh, bw) = sizes[block - 1];
            let mut next = [0; 2];
            for (slot, (dimension, input_size, size)) in next.iter_mut().zip([("height", h, bh), ("width", w, bw)]) {
                let conv_size = window_output(size, 3, 2, 1).expect("3×3 with padding 1 fits any size ≥ 1");
                let pool_size = window_output(size, 2, 2, 0).unwrap_or(0);
                if conv_size != pool_size {
                    return Err(MacroConfigError::OddAtReduction {
                        dimension,
                        input_size,
                        block,
                        size,
                        conv_size,
                        pool_size,
                    });
                }
                *slot = conv_size;
            }
            sizes[block] = (next[0], next[1]);
        }
        Ok(sizes)
    }

    /// Checks that the network can be built and run, and that its counts fit in a `u64`.
    pub fn check(&self, genome: &Genome) -> Result<(), MacroConfigError> {
        if self.channels == 0 {
            return Err(MacroConfigError::NoChannels);
        }
        if self.num_classes == 0 {
            return Err(MacroConfigError::NoClasses);
        }
        self.stage_sizes()?;
        let too_large = || MacroConfigError::TooLarge { config: format!("{self:?}") };
        checked_params(genome, self).ok_or_else(too_large)?;
        checked_flops(genome, self).ok_or_else(too_large)?;
        Ok(())
    }
}

/// Checked product of factors.
fn product(factors: &[usize]) -> Option<u64> {
    factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(u64::try_from(f).ok()?))
}

/// Checked sum of terms.
fn sum(terms: &[Option<u64>]) -> Option<u64> {
    terms.iter().try_fold(0u64, |acc, &t| acc.checked_add(t?))
}

/// The number of conv3x3 and conv1x1 edges in the cell.
fn conv_edges(genome: &Genome) -> (usize, usize) {
    let count = |op| genome.0.iter().filter(|&&o| o == op).count();
    (count(Op::Conv3x3), count(Op::Conv1x1))
}

fn checked_params(genome: &Genome, config: &MacroConfig) -> Option<u64> {
    let c = config.channels;
    let (n3, n1) = conv_edges(genome);
    let bn = |ch: usize| product(&[2, ch]);
    let stem = sum(&[product(&[9, config.input.0, c]), bn(c)]);
    let mut terms = vec![stem];
    for stage in 0..NUM_STAGES {
        let ch = c.checked_mul(1 << stage)?;
        if stage > 0 {
            let cin = ch / 2;
            // conv_a + BN, conv_b + BN, shortcut 1×1 conv.
            terms.extend([product(&[9, cin, ch]), bn(ch), product(&[9, ch, ch]), bn(ch), product(&[cin, ch])]);
        }
        let per_cell =
            sum(&[product(&[n3, 9, ch, ch]), product(&[n3, 2, ch]), product(&[n1, ch, ch]), product(&[n1, 2, ch])]);
        terms.push(per_cell.and_then(|p| p.checked_mul(config.cells_per_stage as u64)));
    }
    let top = c.checked_mul(1 << (NUM_STAGES - 1))?;
    terms.extend([bn(top), product(&[top, config.num_classes]), product(&[config.num_classes])]);
    sum(&terms)
}

fn checked_flops(genome: &Genome, config: &MacroConfig) -> Option<u64> {
    let c = config.channels;
    let (n3, n1) = conv_edges(genome);
    let (_, h, w) = config.input;
    let mut terms = vec![product(&[h, w, 9, config.input.0, c])];
    let (mut sh, mut sw) = (h, w);
    for stage in 0..NUM_STAGES {
        let ch = c.checked_mul(1 << stage)?;
        if stage > 0 {
            let cin = ch / 2;
            let (ah, aw) = (window_output(sh, 3, 2, 1)?, window_output(sw, 3, 2, 1)?);
            // The shortcut's 1×1 conv runs after the 2×2 pool, at the pool's output size.
            let (ph, pw) = (window_output(sh, 2, 2, 0)?, window_output(sw, 2, 2, 0)?);
            terms.extend([product(&[ah, aw, 9, cin, ch]), product(&[ah, aw, 9, ch, ch]), product(&[ph, pw, cin, ch])]);
            (sh, sw) = (ah, aw);
        }
        let per_cell = sum(&[product(&[n3, sh, sw, 9, ch, ch]), product(&[n1, sh, sw, ch, ch])]);
        terms.push(per_cell.and_then(|p| p.checked_mul(config.cells_per_stage as u64)));
    }
    let top = c.checked_mul(1 << (NUM_STAGES - 1))?;
    terms.extend([product(&[top, config.num_classes]), product(&[config.num_classes])]);
    sum(&terms)
}

/// Bytes of a 32-bit float.
const FLOAT_BYTES: f64 = 4.0;

/// An upper estimate of the bytes that training the network `genome` builds under `config` with
/// SGD and momentum on batches of `batch_size` images takes: four float copies of the parameters
/// and, per image, every tensor the forward pass keeps for the backward pass (a conv edge's ReLU,
/// conv and BN outputs, a pooling edge's output, each node's sum; two tensors for the stem, eight
/// for a reduction block). Saturates at `u64::MAX`.
///
/// ```
/// use xnas_space::{training_memory, Genome, MacroConfig, Op};
/// // The paper's CIFAR-10 network, every edge conv3x3, batches of 256: a few GB.
/// let bytes = training_memory(&Genome([Op::Conv3x3; 6]), &MacroConfig::default(), 256);
/// assert!(bytes > 1 << 30 && bytes < 8 << 30, "{bytes}");
/// ```
pub fn training_memory(genome: &Genome, config: &MacroConfig, batch_size: usize) -> u64 {
    let count = |op| genome.0.iter().filter(|&&o| o == op).count() as f64;
    let conv_edges = count(Op::Conv3x3) + count(Op::Conv1x1);
    let kept_per_cell = 3.0 * conv_edges + count(Op::AvgPool3x3) + 3.0;
    let c = config.channels as f64;
    let (_, h, w) = config.input;
    let (mut sh, mut sw) = (h as f64, w as f64);
    let mut activations = 2.0 * c * sh * sw;
    for stage in 0..NUM_STAGES {
        let ch = c * (1u64 << stage) as f64;
        if stage > 0 {
            (sh, sw) = ((sh / 2.0).ceil(), (sw / 2.0).ceil());
            activations += 8.0 * ch * sh * sw;
        }
        activations += kept_per_cell * ch * sh * sw * config.cells_per_stage as f64;
    }
    let parameters = params(genome, config) as f64;
    let bytes = FLOAT_BYTES * (4.0 * parameters + activations * batch_size as f64);
    // `as` saturates: an absurd configuration gives u64::MAX, not a wrapped small number.
    bytes as u64
}

/// Trainable parameters of the network `genome` builds under `config` (see the
/// [module docs](crate::cost) for what counts). Saturates at `u64::MAX` for absurd settings;
/// [`MacroConfig::check`] reports those.
///
/// ```
/// use xnas_space::{params, Genome, MacroConfig, Op};
/// // NAS-Bench-201 on CIFAR-10: 0.073306 M with every edge zeroize.
/// assert_eq!(params(&Genome([Op::Zeroize; 6]), &MacroConfig::default()), 73_306);
/// ```
pub fn params(genome: &Genome, config: &MacroConfig) -> u64 {
    checked_params(genome, config).unwrap_or(u64::MAX)
}

/// Multiply-adds per image of the network `genome` builds under `config` (see the
/// [module docs](crate::cost) for what counts). Layers run at the sizes conv arithmetic gives
/// (`⌊(size + 2·padding − kernel)/stride⌋ + 1`); for a config [`MacroConfig::stage_sizes`]
/// rejects, that is the count of a network that cannot run. Saturates at `u64::MAX`.
///
/// ```
/// use xnas_space::{flops, Genome, MacroConfig, Op};
/// // NAS-Bench-201 on CIFAR-10: 220.11969 MFLOPs with every edge conv3x3.
/// assert_eq!(flops(&Genome([Op::Conv3x3; 6]), &MacroConfig::default()), 220_119_690);
/// ```
pub fn flops(genome: &Genome, config: &MacroConfig) -> u64 {
    checked_flops(genome, config).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::NUM_EDGES;

    fn all(op: Op) -> Genome {
        Genome([op; NUM_EDGES])
    }

    fn cifar(num_classes: usize) -> MacroConfig {
        MacroConfig { num_classes, ..MacroConfig::default() }
    }

    fn imagenet16_120() -> MacroConfig {
        MacroConfig { num_classes: 120, input: (3, 16, 16), ..MacroConfig::default() }
    }

    /// NAS-Bench-201's published figures, in units of the last printed digit.
    fn millions(value: u64, digits: i32) -> u64 {
        (value as f64 / 10f64.powi(6 - digits)).round() as u64
    }

    #[test]
    fn params_are_nas_bench_201s_published_figures() {
        // CIFAR-10, C=16, N=5: 0.073306 M (all zeroize) to 1.531546 M (all conv3x3); each conv3x3
        // edge adds 243,040 and each conv1x1 edge 28,000, whatever the other edges.
        let config = cifar(10);
        let empty = 73_306;
        assert_eq!(params(&all(Op::Zeroize), &config), empty);
        assert_eq!(params(&all(Op::Conv3x3), &config), 1_531_546);
        for g in Genome::all() {
            let n3 = g.0.iter().filter(|&&op| op == Op::Conv3x3).count() as u64;
            let n1 = g.0.iter().filter(|&&op| op == Op::Conv1x1).count() as u64;
            assert_eq!(params(&g, &config), empty + 243_040 * n3 + 28_000 * n1, "{g}");
        }
        // CIFAR-100 (the classifier has 100 outputs): 0.079156 M to 1.537396 M.
        assert_eq!(params(&all(Op::Zeroize), &cifar(100)), 79_156);
        assert_eq!(params(&all(Op::Conv3x3), &cifar(100)), 1_537_396);
    }

    #[test]
    fn flops_are_nas_bench_201s_published_ranges() {
        // (config, min MFLOPs, max MFLOPs) as NAS-Bench-201's API reports them, 5 decimals.
        let published = [
            (cifar(10), 778_305, 22_011_969),
            (cifar(100), 778_890, 22_012_554),
            (imagenet16_120(), 195_340, 5_503_756),
        ];
        for (config, min, max) in published {
            let counts: Vec<u64> = Genome::all().map(|g| flops(&g, &config)).collect();
            let lo = *counts.iter().min().unwrap();
            let hi = *counts.iter().max().unwrap();
            assert_eq!(millions(lo, 5), min, "{config:?}");
            assert_eq!(millions(hi, 5), max, "{config:?}");
            assert_eq!(lo, flops(&all(Op::Zeroize), &config));
            assert_eq!(hi, flops(&all(Op::Conv3x3), &config));
        }
    }

    #[test]
    fn flops_by_hand_on_cifar() {
        // Stem 32·32·9·3·16 = 442,368. Block 1 runs at 16×16: 256·9·16·32 + 256·9·32·32
        // + 256·16·32 = 3,670,016; block 2 at 8×8: 64·9·32·64 + 64·9·64·64 + 64·32·64 = 3,670,016.
        // Classifier 64·10 + 10 = 650. Total 7,783,050.
        let base = 442_368 + 2 * 3_670_016 + 650;
        // A conv3x3 edge: 5 cells in each stage, 1024·9·16² = 256·9·32² = 64·9·64² = 2,359,296.
        let conv3 = 15 * 2_359_296;
        // A conv1x1 edge: the same without the 9.
        let conv1 = 15 * 262_144;
        let config = cifar(10);
        for g in Genome::all() {
            let n3 = g.0.iter().filter(|&&op| op == Op::Conv3x3).count() as u64;
            let n1 = g.0.iter().filter(|&&op| op == Op::Conv1x1).count() as u64;
            assert_eq!(flops(&g, &config), base + n3 * conv3 + n1 * conv1, "{g}");
        }
    }

    #[test]
    fn small_network_by_hand() {
        // C=4, N=1, K=3, 1×12×12; genome 0→1 conv3x3, 1→3 conv1x1, others skip/pool/zeroize.
        let config = MacroConfig { channels: 4, cells_per_stage: 1, num_classes: 3, input: (1, 12, 12) };
        let g: Genome = "032412".parse().unwrap(); // one conv3x3, one conv1x1
                                                   // Params. Stem 9·1·4 + 8 = 44. Block 4→8: 9·4·8 + 16 + 9·8·8 + 16 + 4·8 = 928.
                                                   // Block 8→16: 9·8·16 + 32 + 9·16·16 + 32 + 8·16 = 3,648. Head BN 32, linear 16·3 + 3 = 51.
                                                   // Cells (one per stage): conv3x3 9·(16+64+256) + 2·(4+8+16) = 3,080; conv1x1 336 + 56 = 392.
        assert_eq!(params(&g, &config), 44 + 928 + 3_648 + 32 + 51 + 3_080 + 392);
        // FLOPs. Stem 144·9·1·4 = 5,184. Block 1 at 6×6: 36·9·4·8 + 36·9·8·8 + 36·4·8 = 32,256;
        // block 2 at 3×3: 9·9·8·16 + 9·9·16·16 + 9·8·16 = 32,256. Classifier 51.
        // Cells: conv3x3 144·9·16 + 36·9·64 + 9·9·256 = 62,208; conv1x1 6,912.
        assert_eq!(flops(&g, &config), 5_184 + 32_256 + 32_256 + 51 + 62_208 + 6_912);
        assert_eq!(config.stage_sizes().unwrap(), [(12, 12), (6, 6), (3, 3)]);
    }

    #[test]
    fn non_square_inputs_use_each_dimension() {
        // 1×8×4 with C=1, N=0, K=1: stem 8·4·9 = 288; block 1 (1→2) at 4×2: 8·9·2 + 8·9·4 + 8·2
        // = 448; block 2 (2→4) at 2×1: 2·9·8 + 2·9·16 + 2·8 = 448; classifier 4 + 1.
        let config = MacroConfig { channels: 1, cells_per_stage: 0, num_classes: 1, input: (1, 8, 4) };
        assert_eq!(config.stage_sizes().unwrap(), [(8, 4), (4, 2), (2, 1)]);
        assert_eq!(flops(&all(Op::Conv3x3), &config), 288 + 448 + 448 + 5);
    }

    #[test]
    fn unbuildable_configs_are_reported() {
        let g = all(Op::Conv3x3);
        let with = |f: fn(&mut MacroConfig)| {
            let mut config = MacroConfig::default();
            f(&mut config);
            config.check(&g).unwrap_err()
        };
        assert_eq!(with(|c| c.channels = 0), MacroConfigError::NoChannels);
        assert_eq!(with(|c| c.num_classes = 0), MacroConfigError::NoClasses);
        assert!(matches!(with(|c| c.input = (3, 0, 32)), MacroConfigError::EmptyInput { .. }));
        // 30 → 15 at block 2: conv gives 8, pool 7.
        let e = with(|c| c.input = (3, 30, 32));
        assert_eq!(
            e,
            MacroConfigError::OddAtReduction {
                dimension: "height",
                input_size: 30,
                block: 2,
                size: 15,
                conv_size: 8,
                pool_size: 7
            }
        );
        assert!(e.to_string().contains("multiple of 4"), "{e}");
        assert!(matches!(with(|c| c.input = (3, 32, 1)), MacroConfigError::OddAtReduction { block: 1, .. }));
        assert!(matches!(with(|c| c.channels = usize::MAX / 2), MacroConfigError::TooLarge { .. }));
        assert_eq!(params(&g, &MacroConfig { channels: usize::MAX / 2, ..Default::default() }), u64::MAX);
        for config in [cifar(10), imagenet16_120(), MacroConfig { input: (1, 28, 28), ..Default::default() }] {
            config.check(&g).unwrap();
        }
    }

    #[test]
    fn training_memory_grows_with_channels_batch_and_convolutions_and_saturates() {
        let conv = all(Op::Conv3x3);
        let paper = training_memory(&conv, &cifar(10), 256);
        assert!(training_memory(&all(Op::Skip), &cifar(10), 256) < paper);
        assert!(training_memory(&conv, &cifar(10), 512) > paper);
        let wide = MacroConfig { channels: 32, ..cifar(10) };
        assert!(training_memory(&conv, &wide, 256) > 2 * paper - paper / 10, "activations grow linearly at least");
        // The weights alone: four copies of 1,531,546 parameters.
        assert!(paper > 4 * 4 * 1_531_546);
        let absurd = MacroConfig { channels: 10_000_000, ..cifar(10) };
        assert!(training_memory(&conv, &absurd, 256) > 1 << 50, "petabytes");
        let overflowing = MacroConfig { channels: usize::MAX / 2, ..cifar(10) };
        assert_eq!(training_memory(&conv, &overflowing, usize::MAX), u64::MAX);
    }

    #[test]
    fn input_shapes_parse() {
        assert_eq!(MacroConfig::parse_input("3x32x32"), Ok((3, 32, 32)));
        assert_eq!(MacroConfig::parse_input(" 1×28×28 "), Ok((1, 28, 28)));
        assert_eq!(MacroConfig::parse_input("3,16,16"), Ok((3, 16, 16)));
        for bad in ["", "32x32", "3x32x32x1", "3x0x32", "-3x32x32", "3xax32", "3x32x"] {
            let e = MacroConfig::parse_input(bad).unwrap_err();
            assert!(e.to_string().contains("CxHxW"), "{bad}: {e}");
        }
    }
}
