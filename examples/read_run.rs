//! Open a run's store and read what the search found: its front, Table 1 and the hypervolume per
//! generation, the same plain data `xnas report` draws. It opens the store read-only, so it can
//! run while the search is still going.
//!
//!     cargo run --example read_run -- runs/quickstart-…

use xnas::report::Table1;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let run_dir = std::env::args().nth(1).ok_or("usage: read_run RUN_DIR (a folder under runs/)")?;
    let input = xnas::report::input::report_input(std::path::Path::new(&run_dir))?;
    println!("run {} on {}: {} architectures evaluated", input.run_name, input.dataset, input.points.len());
    let table = Table1::from_input(&input);
    print!("{}", table.markdown(&input.run_name, &input.dataset));
    println!("front in the search's objectives ({}):", input.objective_names.join(", "));
    for &i in &input.front {
        let p = &input.points[i];
        let values: Vec<String> = p.objectives.iter().flatten().map(|v| format!("{v:.4}")).collect();
        println!("  #{} {} (generation {}): {}", p.id, p.genome, p.generation, values.join(", "));
    }
    for (generation, hypervolume) in input.archive_hypervolume_per_generation() {
        println!("generation {generation}: hypervolume {hypervolume:.4} (accuracy × introspectability)");
    }
    Ok(())
}
