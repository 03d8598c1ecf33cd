//! Per-class-pair weights ω (paper appendix K, eq. 5): a dense matrix or a sparse list of pairs
//! whose other pairs weigh 1, and the ω file format `xnas eval --omega FILE` reads.
//!
//! File format, one pair per line: `A B W` (whitespace- or comma-separated), where A and B are
//! class indices (0-based) or class names and W ≥ 0; `#` starts a comment. Unlisted pairs weigh 1.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One weighted class pair (unordered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairWeight {
    pub a: usize,
    pub b: usize,
    pub weight: f64,
}

/// ω over class pairs: every pair weighs 1 except those listed, or a full matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PairWeights {
    Pairs(Vec<PairWeight>),
    Matrix(Vec<Vec<f64>>),
}

/// A bad ω: which line or pair, and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    #[error("{origin}: {message}")]
    Line { origin: String, message: String },
    #[error("ω names class {class}, but the dataset has {num_classes} classes (0..{last})", last = num_classes.saturating_sub(1))]
    ClassOutOfRange { class: usize, num_classes: usize },
    #[error("ω for pair ({a}, {b}) is {weight}; weights must be finite and ≥ 0")]
    BadWeight { a: usize, b: usize, weight: f64 },
    #[error("ω matrix is {rows}×{cols}, the dataset has {num_classes} classes")]
    Shape { rows: usize, cols: usize, num_classes: usize },
    #[error("cannot read the ω file {path}: {message}")]
    Io { path: String, message: String },
}

impl PairWeights {
    /// The dense, symmetric `N × N` matrix (diagonal unused), checked against the class count.
    pub fn dense(&self, num_classes: usize) -> Result<Vec<Vec<f64>>, WeightsError> {
        let mut w = vec![vec![1.0; num_classes]; num_classes];
        match self {
            PairWeights::Pairs(pairs) => {
                for p in pairs {
                    for class in [p.a, p.b] {
                        if class >= num_classes {
                            return Err(WeightsError::ClassOutOfRange { class, num_classes });
                        }
                    }
                    if !(p.weight.is_finite() && p.weight >= 0.0) {
                        return Err(WeightsError::BadWeight { a: p.a, b: p.b, weight: p.weight });
                    }
                    w[p.a][p.b] = p.weight;
                    w[p.b][p.a] = p.weight;
                }
            }
            PairWeights::Matrix(m) => {
                if m.len() != num_classes || m.iter().any(|r| r.len() != num_classes) {
                    let cols = m.iter().map(Vec::len).max().unwrap_or(0);
                    return Err(WeightsError::Shape { rows: m.len(), cols, num_classes });
                }
                for (a, row) in m.iter().enumerate() {
                    for (b, &weight) in row.iter().enumerate() {
                        if a != b && !(weight.is_finite() && weight >= 0.0) {
                            return Err(WeightsError::BadWeight { a, b, weight });
                        }
                    }
                }
                // Symmetrise: a pair is unordered, and the upper triangle is what eq. 5 sums.
                for a in 0..num_classes {
                    for b in a + 1..num_classes {
                        w[a][b] = m[a][b];
                        w[b][a] = m[a][b];
                    }
                }
            }
        }
        Ok(w)
    }

    /// Parses the ω file format (see the module docs); `class_names` resolves names.
    pub fn parse(text: &str, origin: &str, class_names: &[String]) -> Result<PairWeights, WeightsError> {
        let mut pairs = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |message: String| WeightsError::Line { origin: format!("{origin}:{}", index + 1), message };
            let fields: Vec<&str> =
                line.split(|c: char| c == ',' || c.is_whitespace()).filter(|f| !f.is_empty()).collect();
            if fields.len() != 3 {
                return Err(err(format!(
                    "expected `CLASS_A CLASS_B WEIGHT`, found {} field(s) in {line:?}",
                    fields.len()
                )));
            }
            let class = |field: &str| -> Result<usize, WeightsError> {
                if let Ok(i) = field.parse::<usize>() {
                    if i < class_names.len() {
                        return Ok(i);
                    }
                    return Err(err(format!(
                        "class index {i} is out of range: the dataset has {} classes",
                        class_names.len()
                    )));
                }
                class_names.iter().position(|n| n.eq_ignore_ascii_case(field)).ok_or_else(|| {
                    err(format!(
                        "unknown class {field:?}; classes are 0..{} or {}",
                        class_names.len().saturating_sub(1),
                        class_names.join(", ")
                    ))
                })
            };
            let (a, b) = (class(fields[0])?, class(fields[1])?);
            if a == b {
                return Err(err(format!("a pair needs two different classes, got {a} twice")));
            }
            let weight: f64 = fields[2].parse().map_err(|_| err(format!("weight {:?} is not a number", fields[2])))?;
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(err(format!("weight {weight} must be finite and ≥ 0")));
            }
            pairs.push(PairWeight { a, b, weight });
        }
        Ok(PairWeights::Pairs(pairs))
    }

    /// Reads an ω file.
    pub fn read(path: &Path, class_names: &[String]) -> Result<PairWeights, WeightsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| WeightsError::Io { path: path.display().to_string(), message: e.to_string() })?;
        PairWeights::parse(&text, &path.display().to_string(), class_names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["cat", "dog", "ship", "truck"].map(String::from).to_vec()
    }

    #[test]
    fn sparse_pairs_default_to_one_and_are_symmetric() {
        let w = PairWeights::parse("# confounded\n0 1 25\nship, truck, 0.5\n", "omega.txt", &names()).unwrap();
        let d = w.dense(4).unwrap();
        assert_eq!(d[0][1], 25.0);
        assert_eq!(d[1][0], 25.0);
        assert_eq!(d[2][3], 0.5);
        assert_eq!(d[0][2], 1.0);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = PairWeights::parse("0 1 2\n0 horse 3\n", "w.txt", &names()).unwrap_err().to_string();
        assert!(e.starts_with("w.txt:2:") && e.contains("unknown class \"horse\""), "{e}");
        let e = PairWeights::parse("\n\n1 2 -4\n", "w.txt", &names()).unwrap_err().to_string();
        assert!(e.starts_with("w.txt:3:") && e.contains("≥ 0"), "{e}");
        let e = PairWeights::parse("0 9 1\n", "w.txt", &names()).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        let e = PairWeights::parse("0 1\n", "w.txt", &names()).unwrap_err().to_string();
        assert!(e.contains("found 2 field"), "{e}");
        assert!(PairWeights::Matrix(vec![vec![1.0; 3]; 3]).dense(4).is_err());
    }
}
