//! Loads a dataset and prints what was read, its statistics and how long it took:
//! `cargo run -p xnas-datasets --release --example load -- [DATASET] [DATA_DIR] [WNIDS_FILE]`.

use std::path::PathBuf;
use std::time::Instant;

use xnas_datasets::{load, DatasetName, LoadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dataset: DatasetName = args.next().as_deref().unwrap_or("fashion-mnist").parse()?;
    let options = LoadOptions {
        dataset,
        data_dir: args.next().map(PathBuf::from),
        wnids_file: args.next().map(PathBuf::from),
        ..Default::default()
    };
    let start = Instant::now();
    let data = load(&options)?;
    let seconds = start.elapsed().as_secs_f64();
    let (mean, std) = data.train.channel_mean_std();
    let t = &data.train;
    println!("{}: {}", data.name, data.source);
    println!(
        "train {} × {}×{}×{}, validation {}, {} classes; read in {seconds:.3} s",
        t.len(),
        t.channels,
        t.height,
        t.width,
        data.validation.len(),
        data.class_names.len()
    );
    println!("training mean {mean:.6?}, std {std:.6?} (pixel/255)");
    Ok(())
}
