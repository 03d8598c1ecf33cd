//! Reading point files: the text format shared by `xnas pareto` and `xnas hv` (moocore's format).
//!
//! One point per line, coordinates separated by whitespace and/or commas; `#` starts a comment that
//! runs to the end of the line; a blank line (or a comment-only line after data) ends the current set
//! and the next point starts a new one. Every point of a set must have as many coordinates as the
//! set's first point; a ragged row or a token that is not a number is an error naming its line.

/// Why a point file could not be read. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PointsError {
    pub line: usize,
    pub message: String,
}

/// Splits a text into sets of points (each a row of coordinates). Empty sets are never returned:
/// several blank lines in a row separate just two sets, and a file with no data gives no sets.
pub fn parse_point_sets(text: &str) -> Result<Vec<Vec<Vec<f64>>>, PointsError> {
    let mut sets: Vec<Vec<Vec<f64>>> = Vec::new();
    let mut current: Vec<Vec<f64>> = Vec::new();
    let mut set_dimension_line = 0;
    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        let data = raw_line.split('#').next().unwrap_or("");
        let is_comment_only = data.trim().is_empty() && raw_line.trim_start().starts_with('#');
        if data.trim().is_empty() {
            // A comment line inside a set does not end it; a truly blank line does.
            if !is_comment_only && !current.is_empty() {
                sets.push(std::mem::take(&mut current));
            }
            continue;
        }
        let row = parse_row(data, line_number)?;
        if let Some(first) = current.first() {
            if row.len() != first.len() {
                return Err(PointsError {
                    line: line_number,
                    message: format!(
                        "this point has {} coordinate(s) but the set's first point (line {set_dimension_line}) has {}; \
                         every point of a set needs the same number (a blank line starts a new set)",
                        row.len(),
                        first.len()
                    ),
                });
            }
        } else {
            set_dimension_line = line_number;
        }
        current.push(row);
    }
    if !current.is_empty() {
        sets.push(current);
    }
    Ok(sets)
}

/// One data line (comment already removed) as numbers.
fn parse_row(data: &str, line_number: usize) -> Result<Vec<f64>, PointsError> {
    let mut row = Vec::new();
    for token in data.split(|c: char| c.is_whitespace() || c == ',') {
        if token.is_empty() {
            continue;
        }
        let value: f64 = token.parse().map_err(|_| PointsError {
            line: line_number,
            message: format!("{token:?} is not a number (coordinates are separated by spaces or commas)"),
        })?;
        if value.is_nan() {
            return Err(PointsError {
                line: line_number,
                message: format!("{token:?} is not a number (NaN has no place in an order)"),
            });
        }
        row.push(value);
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sets_on_blank_lines_and_accepts_commas_and_comments() {
        let text = "# a front\n1 2\n3,4  # trailing\n\n\n5, 6\n# inside\n7\t8\n";
        let sets = parse_point_sets(text).unwrap();
        assert_eq!(sets, vec![vec![vec![1.0, 2.0], vec![3.0, 4.0]], vec![vec![5.0, 6.0], vec![7.0, 8.0]]]);
    }

    #[test]
    fn a_ragged_row_names_its_line() {
        let err = parse_point_sets("1 2\n3 4 5\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn a_word_names_its_line() {
        let err = parse_point_sets("1 2\n\n3 x\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("\"x\""));
        assert!(parse_point_sets("1 nan\n").is_err());
    }

    #[test]
    fn a_new_set_may_have_another_dimension_and_empty_text_has_no_sets() {
        let sets = parse_point_sets("1 2\n\n1 2 3\n").unwrap();
        assert_eq!(sets[1][0].len(), 3);
        assert!(parse_point_sets("\n# only a comment\n\n").unwrap().is_empty());
        assert_eq!(parse_point_sets("1e-3 -inf").unwrap()[0][0], vec![1e-3, f64::NEG_INFINITY]);
    }
}
