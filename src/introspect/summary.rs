//! The compact forms of the class means that figures 5 and 6 draw, as pure functions: which
//! tapped layers make up each block of the network, the per-layer z-scored class means averaged
//! per block, and the 2-D PCA of the class means from their `N_C × N_C` Gram matrix.

use xnas_space::{Genome, NUM_STAGES};

use super::TapSet;

/// A block of the network in forward order and how many consecutive tapped layers it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    pub tapped_layers: usize,
}

/// The network's blocks in forward order — stem, the cells of stage 1, reduction 1, stage 2,
/// reduction 2, stage 3, head — with the number of layers `taps` taps in each, as the forward
/// pass (`crate::nn`) emits them. Blocks with no tapped layer are left out (with `cells` only the
/// cells are tapped; with `conv-and-relu`, a cell without convolution has none).
pub fn network_blocks(genome: &Genome, cells_per_stage: usize, taps: TapSet) -> Vec<Block> {
    // Per tap set: stem conv; ReLU + conv per ReLUConvBN (each conv edge of a cell, two in a
    // reduction block) plus the reduction's shortcut conv; the head's final ReLU; or one per cell.
    let conv_edges = genome.0.iter().filter(|op| op.is_conv()).count();
    let (stem, cell, reduction, head) = match taps {
        TapSet::ConvAndRelu => (1, 2 * conv_edges, 5, 1),
        TapSet::Cells => (0, 1, 0, 0),
    };
    let mut blocks = vec![Block { name: "stem".into(), tapped_layers: stem }];
    for stage in 1..=NUM_STAGES {
        if stage > 1 {
            blocks.push(Block { name: format!("reduction {}", stage - 1), tapped_layers: reduction });
        }
        for k in 1..=cells_per_stage {
            blocks.push(Block { name: format!("cell {stage}.{k}"), tapped_layers: cell });
        }
    }
    blocks.push(Block { name: "head".into(), tapped_layers: head });
    blocks.retain(|b| b.tapped_layers > 0);
    blocks
}

/// One tapped layer's class means, reduced to what figure 5 needs: each class's mean over the
/// layer's features, and the mean and (population) standard deviation of all `N_C × F` entries of
/// the layer's class-mean matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerClassMeans {
    pub class_feature_mean: Vec<f64>,
    pub mean: f64,
    pub std: f64,
}

/// `block_means[class][block]`: within each layer, the class-mean matrix (classes × features)
/// is z-scored over all its entries (subtract the layer's mean, divide by its standard deviation)
/// and averaged over the layer's features; those per-layer values are then averaged over the
/// block's layers. A layer with zero spread contributes 0. `layers` holds the layers in forward
/// order and must match `blocks`' counts.
pub fn block_means(layers: &[LayerClassMeans], blocks: &[Block], num_classes: usize) -> Vec<Vec<f64>> {
    assert_eq!(blocks.iter().map(|b| b.tapped_layers).sum::<usize>(), layers.len(), "blocks cover the layers");
    let z = |layer: &LayerClassMeans, c: usize| {
        if layer.std > 0.0 && layer.std.is_finite() {
            (layer.class_feature_mean[c] - layer.mean) / layer.std
        } else {
            0.0
        }
    };
    (0..num_classes)
        .map(|c| {
            let mut start = 0;
            blocks
                .iter()
                .map(|block| {
                    let own = &layers[start..start + block.tapped_layers];
                    start += block.tapped_layers;
                    own.iter().map(|l| z(l, c)).sum::<f64>() / own.len() as f64
                })
                .collect()
        })
        .collect()
}

/// The 2-D PCA of `N_C` points given by their Gram matrix `G = X Xᵀ` with X's rows already
/// centred over the points: each point's coordinates on the first two principal components and
/// the fraction of the total variance each explains. From `X = U S Vᵀ`, `G = U S² Uᵀ`, and the
/// coordinates are `U S`; so features × features is never formed. Each component's sign makes
/// its largest-magnitude coordinate positive, so figures do not flip between runs.
pub fn pca_from_centered_gram(gram: &[Vec<f64>]) -> (Vec<[f64; 2]>, [f64; 2]) {
    let n = gram.len();
    let (values, vectors) = symmetric_eigen(gram);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let mut coordinates = vec![[0.0; 2]; n];
    let mut explained = [0.0; 2];
    for (component, &k) in order.iter().take(2).enumerate() {
        let value = values[k].max(0.0);
        explained[component] = if total > 0.0 { value / total } else { 0.0 };
        let scale = value.sqrt();
        let column: Vec<f64> = (0..n).map(|i| vectors[i][k] * scale).collect();
        let largest = column.iter().copied().fold(0.0, |m: f64, v| if v.abs() > m.abs() { v } else { m });
        let sign = if largest < 0.0 { -1.0 } else { 1.0 };
        for (point, v) in coordinates.iter_mut().zip(column) {
            point[component] = sign * v;
        }
    }
    (coordinates, explained)
}

/// The centred Gram matrix `(X − 1μᵀ)(X − 1μᵀ)ᵀ` from the plain one `X Xᵀ`, μ the mean row.
pub fn center_gram(gram: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = gram.len();
    if n == 0 {
        return Vec::new();
    }
    let row_mean: Vec<f64> = gram.iter().map(|r| r.iter().sum::<f64>() / n as f64).collect();
    let all_mean = row_mean.iter().sum::<f64>() / n as f64;
    (0..n).map(|i| (0..n).map(|j| gram[i][j] - row_mean[i] - row_mean[j] + all_mean).collect()).collect()
}

/// Eigenvalues and eigenvectors (as columns: `vectors[i][k]` is entry i of vector k) of a
/// symmetric matrix, by cyclic Jacobi rotations. Small matrices only (N_C ≤ a few hundred).
fn symmetric_eigen(matrix: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = matrix.len();
    let mut a: Vec<Vec<f64>> = matrix.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| f64::from(i == j)).collect()).collect();
    let scale: f64 = a.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off.sqrt() <= 1e-15 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p].clone(), a[q].clone());
                for (k, (apk, aqk)) in row_p.into_iter().zip(row_q).enumerate() {
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_the_forward_pass() {
        let genome: Genome = "002404".parse().unwrap(); // three 3×3 convs
        let blocks = network_blocks(&genome, 2, TapSet::ConvAndRelu);
        let names: Vec<&str> = blocks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "stem",
                "cell 1.1",
                "cell 1.2",
                "reduction 1",
                "cell 2.1",
                "cell 2.2",
                "reduction 2",
                "cell 3.1",
                "cell 3.2",
                "head"
            ]
        );
        assert_eq!(blocks.iter().map(|b| b.tapped_layers).sum::<usize>(), 1 + 6 * 6 + 2 * 5 + 1);
        let cells = network_blocks(&genome, 2, TapSet::Cells);
        assert_eq!((cells.len(), cells[0].name.as_str()), (6, "cell 1.1"));
        let no_conv: Genome = "222222".parse().unwrap();
        assert_eq!(network_blocks(&no_conv, 1, TapSet::ConvAndRelu).len(), 4, "stem, two reductions, head");
    }

    #[test]
    fn block_means_by_hand() {
        let layers = [
            LayerClassMeans { class_feature_mean: vec![1.0, 3.0], mean: 2.0, std: 2.0 },
            LayerClassMeans { class_feature_mean: vec![0.0, 4.0], mean: 2.0, std: 1.0 },
            LayerClassMeans { class_feature_mean: vec![5.0, 5.0], mean: 5.0, std: 0.0 },
        ];
        let blocks = [Block { name: "a".into(), tapped_layers: 2 }, Block { name: "b".into(), tapped_layers: 1 }];
        // Class 0: layer z-scores −0.5 and −2 → block a = −1.25; block b has no spread → 0.
        assert_eq!(block_means(&layers, &blocks, 2), vec![vec![-1.25, 0.0], vec![1.25, 0.0]]);
    }

    #[test]
    fn pca_of_points_on_a_line_and_a_plane() {
        // Centred points (2,0), (−2,0), (0,1), (0,−1): variance 8 along x, 2 along y.
        let points = [[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        let gram: Vec<Vec<f64>> =
            points.iter().map(|a| points.iter().map(|b| a[0] * b[0] + a[1] * b[1]).collect()).collect();
        let (coordinates, explained) = pca_from_centered_gram(&center_gram(&gram));
        assert!((explained[0] - 0.8).abs() < 1e-12 && (explained[1] - 0.2).abs() < 1e-12, "{explained:?}");
        for (got, want) in coordinates.iter().zip(points) {
            assert!((got[0] - want[0]).abs() < 1e-12 && (got[1] - want[1]).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }
}
