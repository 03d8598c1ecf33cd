//! `xnas evaluate`: the child-process side of an executor. Reads one job (JSON) on stdin, trains
//! and measures it, writes the measurement record (JSON) on stdout and progress lines on stderr.
//! Not meant to be typed by hand; `xnas eval` is the human command.

use std::io::Read;

use anyhow::Context;
use clap::Args;

use xnas::exec::Job;

#[derive(Debug, Args)]
pub struct EvaluateArgs {}

#[cfg(feature = "torch")]
pub fn run(_args: EvaluateArgs) -> anyhow::Result<()> {
    use std::time::{Duration, Instant};

    use xnas::evaluate::{evaluate_config, EvalProgress};
    use xnas::exec::{JobProgress, PROGRESS_PREFIX};

    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("reading the job from stdin")?;
    let job: Job = serde_json::from_str(&input).context("the job on stdin is not valid JSON for a job")?;
    let genome: xnas_space::Genome = job.genome.parse().context("the job's genome")?;
    if let Some(threads) = job.threads {
        anyhow::ensure!(threads > 0, "the job asks for 0 threads");
        tch::set_num_threads(threads as i32);
    }
    let mut last = Instant::now() - Duration::from_secs(1);
    let record = evaluate_config(&genome, &job.config, &mut |event| {
        if let EvalProgress::Training(p) = event {
            if last.elapsed() >= Duration::from_millis(250) || p.step == p.total_steps {
                last = Instant::now();
                let progress =
                    JobProgress { epoch: p.epoch, epochs: p.epochs, step: p.step, total_steps: p.total_steps };
                eprintln!("{PROGRESS_PREFIX}{}", serde_json::to_string(&progress).expect("progress serialises"));
            }
        }
    })?;
    println!("{}", serde_json::to_string(&record)?);
    Ok(())
}

#[cfg(not(feature = "torch"))]
pub fn run(_args: EvaluateArgs) -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("reading the job from stdin")?;
    let _: Job = serde_json::from_str(&input).context("the job on stdin is not valid JSON for a job")?;
    anyhow::bail!("this xnas was built without the `torch` feature, so it cannot train; rebuild with default features")
}
