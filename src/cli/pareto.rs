//! `xnas pareto [FILE|-] [--ranks] [--maximise]`: the non-dominated points of each set in a point
//! file, or every point's front rank — moocore's `nondominated` in the file format `xnas hv` reads
//! (one point per line, whitespace or commas, `#` comments, a blank line starts a new set).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use xnas_moo::{pareto_ranks_directed, Direction};

#[derive(Debug, Args)]
pub struct ParetoArgs {
    /// Point file; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    /// Print every point's front rank (0 = non-dominated), one per line, instead of the
    /// non-dominated points.
    #[arg(long)]
    pub ranks: bool,
    /// Every objective is maximised (default: minimised).
    #[arg(long, alias = "maximize")]
    pub maximise: bool,
}

pub fn run(args: ParetoArgs) -> anyhow::Result<()> {
    let (text, source) = super::read_input(args.file.as_deref())?;
    print!("{}", render(&text, &source, args.ranks, args.maximise)?);
    Ok(())
}

/// The output for one input text: per set, its non-dominated points in input order (exact
/// duplicates included) or one rank per point; sets separated by a blank line.
pub fn render(text: &str, source: &str, ranks: bool, maximise: bool) -> anyhow::Result<String> {
    let sets = super::point_sets(text, source)?;
    let mut out = String::new();
    for (k, set) in sets.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let direction = if maximise { Direction::Maximise } else { Direction::Minimise };
        let directions = vec![direction; set[0].len()];
        let set_ranks =
            pareto_ranks_directed(set, &directions).with_context(|| format!("set {} of {source}", k + 1))?;
        for (point, rank) in set.iter().zip(set_ranks) {
            if ranks {
                out.push_str(&format!("{rank}\n"));
            } else if rank == 0 {
                let values: Vec<String> = point.iter().map(f64::to_string).collect();
                out.push_str(&values.join(" "));
                out.push('\n');
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_SETS: &str = "# two sets\n1 5\n2,3\n3 4\n4 1\n\n0 0\n1 1\n";

    #[test]
    fn prints_the_non_dominated_points_of_each_set() {
        assert_eq!(render(TWO_SETS, "t", false, false).unwrap(), "1 5\n2 3\n4 1\n\n0 0\n");
        assert_eq!(render(TWO_SETS, "t", false, true).unwrap(), "1 5\n3 4\n4 1\n\n1 1\n");
    }

    #[test]
    fn prints_ranks() {
        assert_eq!(render(TWO_SETS, "t", true, false).unwrap(), "0\n0\n1\n0\n\n0\n1\n");
    }

    #[test]
    fn empty_input_is_an_error() {
        let e = render("", "standard input", false, false).unwrap_err().to_string();
        assert!(e.starts_with("no points in standard input"), "{e}");
    }

    #[test]
    fn errors_name_the_source_and_line() {
        let err = format!("{:#}", render("1 2\n3\n", "front.txt", false, false).unwrap_err());
        assert!(err.contains("front.txt") && err.contains("line 2"), "{err}");
        let err = format!("{:#}", render("1 2\n3 abc\n", "front.txt", true, false).unwrap_err());
        assert!(err.contains("line 2") && err.contains("\"abc\""), "{err}");
    }
}
