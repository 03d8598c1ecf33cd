//! Drive an NSGA-II search over NAS-Bench-201 cells from Rust, with an objective written in Rust
//! instead of a trained network: ask for a batch of genomes, score them, tell the results, and
//! read the final front. This is the loop `xnas run` drives, minus training, store and scripts.
//!
//!     cargo run --example ask_tell_search
//!
//! The objective here is a cheap stand-in (maximise the convolutions in the cell, minimise its
//! parameter count), so the front is the trade-off between the two.

use xnas::moo::{Direction, Evaluation, Nsga2, Nsga2Config, Problem, SearchSpace, Status};
use xnas::space::{params, Genome, MacroConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Six edges, each one of the five operations (0 conv3x3 … 4 skip), as integer variables.
    let problem = Problem {
        space: SearchSpace::integers(&[0; 6], &[4; 6])?,
        directions: vec![Direction::Maximise, Direction::Minimise],
    };
    let mut config = Nsga2Config::new(problem, 7);
    config.population_size = 16;
    config.offspring_size = 16;
    let mut search = Nsga2::new(config)?;
    let macro_config = MacroConfig { channels: 16, cells_per_stage: 5, num_classes: 10, input: (1, 28, 28) };

    for _ in 0..10 {
        let batch = search.ask()?;
        let results = batch.into_iter().map(|candidate| {
            let codes: Vec<u8> = candidate.x.iter().map(|&v| v as u8).collect();
            let evaluation = match Genome::from_codes(&codes).filter(Genome::is_valid) {
                // A cell whose output ignores its input is a failed evaluation, as in a real run.
                None => Evaluation::Failed("invalid cell".into()),
                Some(genome) => {
                    let convs = genome.0.iter().filter(|op| op.is_conv()).count() as f64;
                    let millions = params(&genome, &macro_config) as f64 / 1e6;
                    Evaluation::Objectives(vec![convs, millions])
                }
            };
            (candidate.id, evaluation)
        });
        search.tell(results.collect::<Vec<_>>())?;
    }

    let directions = search.config().problem.directions.clone();
    println!("after {} generations, {} evaluations:", search.generation(), search.archive().records().len());
    for record in search.archive().non_dominated(&directions) {
        if let Status::Evaluated(objectives) = &record.status {
            let codes: Vec<u8> = record.x.iter().map(|&v| v as u8).collect();
            let genome = Genome::from_codes(&codes).expect("evaluated genomes are genomes");
            println!("  {}  convolutions {}  params {:.3} M", genome.compact(), objectives[0], objectives[1]);
        }
    }
    Ok(())
}
