//! `xnas hv [FILE|-] --ref r1,r2,... [--maximise]`: the exact hypervolume of each point set in a
//! file, one per line, like moocore's `hv` program (same file format as `xnas pareto`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct HvArgs {
    /// Point file; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    /// The reference point, comma-separated, one value per objective.
    #[arg(long = "ref", value_name = "R1,R2,...")]
    pub reference: String,
    /// Every objective is maximised (default: minimised); the reference is then a lower corner.
    #[arg(long, alias = "maximize")]
    pub maximise: bool,
}

pub fn run(args: HvArgs) -> anyhow::Result<()> {
    let (text, source) = super::read_input(args.file.as_deref())?;
    print!("{}", render(&text, &source, &args.reference, args.maximise)?);
    Ok(())
}

/// One hypervolume per set, one per line.
pub fn render(text: &str, source: &str, reference: &str, maximise: bool) -> anyhow::Result<String> {
    let reference: Vec<f64> = reference
        .split(',')
        .map(|v| v.trim().parse::<f64>().with_context(|| format!("--ref: {v:?} is not a number")))
        .collect::<anyhow::Result<_>>()?;
    let sets = super::point_sets(text, source)?;
    let mut out = String::new();
    for (k, set) in sets.iter().enumerate() {
        anyhow::ensure!(
            set[0].len() == reference.len(),
            "set {} of {source} has {} objective(s) but --ref has {} value(s)",
            k + 1,
            set[0].len(),
            reference.len()
        );
        let value =
            if maximise { xnas_hv::hypervolume_max(set, &reference) } else { xnas_hv::hypervolume(set, &reference) }
                .with_context(|| format!("set {} of {source}", k + 1))?;
        out.push_str(&format!("{value}\n"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn one_value_per_set_and_clear_errors() {
        // Minimise, ref (3, 3): {(1,2), (2,1)} covers 2·1 + 1·2 − 1·1 = 3; {(0,0)} covers 9.
        let out = render("1 2\n2,1\n\n# second set\n0 0\n", "t", "3,3", false).unwrap();
        assert_eq!(out, "3\n9\n");
        // Maximise, ref (0, 0.1): (0.5, 0.6) covers 0.5 · 0.5.
        assert_eq!(render("0.5 0.6\n", "t", "0,0.1", true).unwrap(), "0.25\n");
        let e = render("1 2\n", "t", "3", false).unwrap_err().to_string();
        assert!(e.contains("--ref has 1 value"), "{e}");
        let e = format!("{:#}", render("1 2\n3\n", "t", "3,3", false).unwrap_err());
        assert!(e.contains("line 2"), "{e}");
        assert!(render("1 2\n", "t", "3,x", false).is_err());
        let e = render("\n# nothing\n", "empty.txt", "3,3", false).unwrap_err().to_string();
        assert!(e.contains("no points in empty.txt"), "{e}");
    }
}
