//! `xnas-worker serve`: a long-lived evaluation worker. Jobs arrive on stdin, one JSON line each;
//! each gets one [`WorkerReply`] line on stdout when it ends, and progress lines on stderr while
//! it runs (the protocol of `xnas::exec`); a job that waits for the head's decisions after its
//! epochs reads them from stdin too. Between jobs it keeps libtorch loaded, the CUDA context
//! made and the dataset on the device, which a fresh process per evaluation pays for every time.
//!
//! It ends at the end of its input. The executor decides when to replace it (after so many jobs,
//! or when its memory grew too much); a crash ends only the job it was running.

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::Args;

use xnas::exec::{Job, WorkerReply, WorkerResult};

use crate::evaluate::{read_decision, Failure, JobRunner};

#[derive(Debug, Args)]
pub struct ServeArgs {}

pub fn run(_args: ServeArgs) -> anyhow::Result<()> {
    let mut runner = JobRunner::default();
    let mut input = std::io::stdin().lock();
    let mut stdout = std::io::stdout();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).context("reading a job from stdin")? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        // A line that is not a job is the head's bug, not a job's: stop, and the executor says why.
        let job: Job = serde_json::from_str(&line).context("a line on stdin is not valid JSON for a job")?;
        let result = match runner.run(&job, &mut || read_decision(&mut input)) {
            Ok(record) => WorkerResult::Record(Box::new(record)),
            Err(Failure::Other(error)) => WorkerResult::Error(format!("{error:#}")),
            Err(Failure::Config(error)) => WorkerResult::Config(format!("{error:#}")),
        };
        let reply = serde_json::to_string(&WorkerReply { job: job.id, result }).context("writing a reply")?;
        writeln!(stdout, "{reply}").and_then(|()| stdout.flush()).context("writing a reply to stdout")?;
    }
}
