//! `xnas show-script RUN_DIR [--version N] [--module NAME]`: print a script version a run stores —
//! by default the newest, the one `xnas resume` continues with. The store keeps every version's
//! script and the modules it imported, so a run can be read (and resumed) without its files.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use xnas::script::SourceFile;
use xnas::store::Store;

#[derive(Debug, Args)]
pub struct ShowScriptArgs {
    /// A run folder (runs/NAME).
    pub run_dir: PathBuf,
    /// The version to print, 1 for the first (default: the newest).
    #[arg(long, value_name = "N")]
    pub version: Option<usize>,
    /// Print this imported module of the version instead of the main script (a name as listed).
    #[arg(long, value_name = "NAME")]
    pub module: Option<String>,
}

pub fn run(args: ShowScriptArgs) -> anyhow::Result<()> {
    let store = Store::open_read_only(&args.run_dir)?;
    let versions = store.script_versions()?;
    if versions.is_empty() {
        bail!("{} stores no script version yet (the run stopped before its first)", args.run_dir.display());
    }
    let number = args.version.unwrap_or(versions.len());
    let Some(version) = number.checked_sub(1).and_then(|i| versions.get(i)) else {
        bail!("{} stores versions 1 to {}; there is no version {number}", args.run_dir.display(), versions.len());
    };
    let sources: Vec<SourceFile> =
        serde_json::from_value(version.sources.clone()).context("reading the stored sources of that version")?;
    let text = match &args.module {
        None => version.text.clone(),
        Some(name) => match sources.iter().skip(1).find(|s| &s.name == name) {
            Some(module) => module.text.clone(),
            None => {
                let names: Vec<&str> = sources.iter().skip(1).map(|s| s.name.as_str()).collect();
                bail!(
                    "version {number} imported no module {name:?}; it imported: {}",
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                );
            }
        },
    };
    eprintln!("version {number} of {} (hash {}):", versions.len(), &version.hash[..version.hash.len().min(12)]);
    for module in sources.iter().skip(1) {
        eprintln!("  imports {} (print it with --module {:?})", module.name, module.name);
    }
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(())
}
