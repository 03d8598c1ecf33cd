//! Train and measure one architecture on real Fashion-MNIST, the unit of work of a search:
//! genome + training config → measurement record (accuracy, the class-distance matrix D,
//! introspectability, parameters, FLOPs, timings).
//!
//!     cargo run --release --example evaluate_genome [ARCH]
//!
//! ARCH is a NAS-Bench-201 arch string or six op codes (default 002404). The config is tiny
//! (a few hundred images, one epoch) so it runs in seconds on a CPU; `xnas eval` is the same with
//! flags for every setting.

use xnas::evaluate::evaluate_config;
use xnas::record::EvalConfig;
use xnas::space::Genome;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arch = std::env::args().nth(1).unwrap_or_else(|| "002404".into());
    let genome: Genome = arch.parse()?;
    let config = EvalConfig {
        channels: 8,
        cells_per_stage: 1,
        epochs: 1,
        batch_size: 64,
        train_subset: Some(512),
        val_subset: Some(256),
        test_subset: Some(256),
        device: "cpu".into(),
        ..EvalConfig::default()
    };
    config.validate()?;
    let record = evaluate_config(&genome, &config, &mut |_progress| {})?;
    println!("{}", record.summary());
    println!(
        "class distances of {} classes, introspectability {:?}",
        record.class_names.len(),
        record.introspectability
    );
    Ok(())
}
