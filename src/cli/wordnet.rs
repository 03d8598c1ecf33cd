//! `xnas wordnet similarity` and `xnas wordnet path`: the label path-similarity matrix of a dataset
//! (with the synset used for every label) and the hypernym path between two synsets — the numbers
//! behind the WordNet-weighted introspectability, printed so that a user can check them.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use xnas_datasets::DatasetName;
use xnas_wordnet::{mean_pair_similarity, read_overrides, LabelSynsets, PathNode, SynsetOverride, WordNet};

#[derive(Debug, Subcommand)]
pub enum WordnetCommand {
    /// The path-similarity matrix of a dataset's labels, and the synset (name, id) of each label.
    Similarity(SimilarityArgs),
    /// The hypernym path between two synsets through their common hypernym, and its similarity.
    Path(PathArgs),
}

#[derive(Debug, Args)]
pub struct SimilarityArgs {
    /// fashion-mnist, mnist, cifar10 or imagenet16-120.
    #[arg(long)]
    pub dataset: DatasetName,
    /// ImageNet16-120: the class → wnid list in label order (devkit map_clsloc.txt, or one wnid
    /// a line); its first 120 lines are the classes.
    #[arg(long)]
    pub wnids: Option<PathBuf>,
    /// Override synsets from a file of `LABEL<TAB>SYNSET` or `LABEL=SYNSET` lines.
    #[arg(long, value_name = "FILE")]
    pub synset_file: Option<PathBuf>,
    /// Override one label's synset, e.g. --synset Bag=bag.n.01 (repeatable; wins over the file).
    #[arg(long, value_name = "LABEL=SYNSET")]
    pub synset: Vec<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Print CSV: `label,synset,wnid,<label…>`, one row a label, full precision.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct PathArgs {
    /// First synset: `dog.n.01`, a wnid `n02084071`, or a noun (its first sense).
    pub a: String,
    /// Second synset, written the same ways.
    pub b: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// WordNet 3.0 database directory (default: $XNAS_WORDNET_DIR, else /usr/share/wordnet).
    #[arg(long, value_name = "DIR")]
    pub wordnet_dir: Option<PathBuf>,
}

impl DatabaseArgs {
    fn open(&self) -> anyhow::Result<WordNet> {
        Ok(WordNet::open(self.wordnet_dir.as_deref())?)
    }
}

pub fn run(cmd: WordnetCommand) -> anyhow::Result<()> {
    match cmd {
        WordnetCommand::Similarity(args) => similarity(args),
        WordnetCommand::Path(args) => path(args),
    }
}

fn similarity(args: SimilarityArgs) -> anyhow::Result<()> {
    let wordnet = args.database.open()?;
    let mut overrides = match &args.synset_file {
        Some(file) => read_overrides(file)?,
        None => Vec::new(),
    };
    for text in &args.synset {
        overrides.push(SynsetOverride::parse(text).context("reading --synset")?);
    }
    let labels = LabelSynsets::for_dataset(&wordnet, args.dataset, args.wnids.as_deref(), &overrides)
        .with_context(|| format!("choosing a synset for each label of {}", args.dataset))?;
    let matrix = labels.similarity_matrix(&wordnet)?;
    let out = if args.csv { csv(&labels, &matrix) } else { table(&args.dataset, &wordnet, &labels, &matrix) };
    emit(&out)
}

fn csv(labels: &LabelSynsets, matrix: &[Vec<f64>]) -> String {
    let mut out = String::from("label,synset,wnid");
    for entry in &labels.labels {
        out += ",";
        out += &csv_field(&entry.label);
    }
    out += "\n";
    for (entry, row) in labels.labels.iter().zip(matrix) {
        let _ = write!(out, "{},{},{}", csv_field(&entry.label), csv_field(&entry.name), entry.synset);
        for value in row {
            let _ = write!(out, ",{value}");
        }
        out += "\n";
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn table(dataset: &DatasetName, wordnet: &WordNet, labels: &LabelSynsets, matrix: &[Vec<f64>]) -> String {
    let mut out = format!("{dataset}: {} labels, WordNet at {}\n\n", labels.labels.len(), wordnet.dir().display());
    out += &labels.to_string();
    out += "\npath similarity (row, column = label index):\n      ";
    for k in 0..matrix.len() {
        let _ = write!(out, "{k:>6}");
    }
    out += "\n";
    for (c, row) in matrix.iter().enumerate() {
        let _ = write!(out, "{c:>6}");
        for value in row {
            let _ = write!(out, "{value:>6.3}");
        }
        out += "\n";
    }
    if let Some(mean) = mean_pair_similarity(matrix) {
        let _ = writeln!(out, "\nmean over label pairs: {mean:.6} (the WordNet pair weights divide by it)");
    }
    out
}

fn path(args: PathArgs) -> anyhow::Result<()> {
    let wordnet = args.database.open()?;
    let a = wordnet.resolve(&args.a).with_context(|| format!("reading A ({})", args.a))?;
    let b = wordnet.resolve(&args.b).with_context(|| format!("reading B ({})", args.b))?;
    let mut out = String::new();
    for (tag, id) in [("A", a), ("B", b)] {
        let _ = writeln!(out, "{tag}: {} ({id}): {}", wordnet.name(id)?, wordnet.gloss(id)?);
    }
    let show = |node: PathNode| -> anyhow::Result<String> {
        Ok(match node {
            PathNode::Synset(id) => wordnet.name(id)?,
            PathNode::VirtualRoot => "*ROOT*".to_string(),
        })
    };
    match wordnet.shortest_path(a, b)? {
        None => {
            out +=
                "no path: the two synsets have no common hypernym (path similarity undefined; 0 in label matrices)\n";
        }
        Some(path) => {
            let up = path.up.iter().map(|&n| show(n)).collect::<anyhow::Result<Vec<_>>>()?;
            let down = path.down[1..].iter().map(|&n| show(n)).collect::<anyhow::Result<Vec<_>>>()?;
            let turn = show(path.turning_point())?;
            let _ = writeln!(out, "path: {} edges, through {turn}", path.distance());
            let _ = writeln!(out, "  up:   {}", up.join(" → "));
            if !down.is_empty() {
                let _ = writeln!(out, "  down: {turn} → {}", down.join(" → "));
            }
            let lowest = wordnet.lowest_common_hypernyms(a, b)?;
            let lowest = lowest
                .iter()
                .map(|&id| Ok(format!("{} ({id})", wordnet.name(id)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if !lowest.is_empty() {
                let _ = writeln!(out, "lowest common hypernym(s): {}", lowest.join(", "));
            }
            let _ = writeln!(out, "path similarity: {:.6} = 1/({} + 1)", path.similarity(), path.distance());
        }
    }
    emit(&out)
}

/// Writes to stdout; a reader that stops early (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_fields_that_need_it() {
        assert_eq!(csv_field("T-shirt/top"), "T-shirt/top");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
