//! `xnas evaluate`: the child-process side of an executor. Reads one job (JSON) on stdin, trains
//! and measures it, saves the trained model where the job says (if it names a folder and the
//! training did not fail), writes the measurement record (JSON) on stdout and progress lines on
//! stderr.
//! Not meant to be typed by hand; `xnas eval` is the human command.
//!
//! A job that can never run as configured — training settings out of range, data files missing
//! or unreadable, a device that does not exist — ends with [`CONFIG_ERROR_EXIT`] instead of 1, so
//! that the run stops at once with the message instead of retrying it (see `xnas::exec`).

use std::io::Read;

use anyhow::Context;
use clap::Args;

use xnas::exec::{Job, CONFIG_ERROR_EXIT};

#[derive(Debug, Args)]
pub struct EvaluateArgs {}

/// Why a job ended without a record: its configuration (the same for every job of the run), or
/// anything else.
enum Failure {
    Config(anyhow::Error),
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Other(error.into())
    }
}

pub fn run(_args: EvaluateArgs) -> anyhow::Result<()> {
    match evaluate() {
        Ok(()) => Ok(()),
        Err(Failure::Other(error)) => Err(error),
        Err(Failure::Config(error)) => {
            eprintln!("error: {error:#}");
            std::process::exit(CONFIG_ERROR_EXIT);
        }
    }
}

fn read_job() -> anyhow::Result<Job> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("reading the job from stdin")?;
    serde_json::from_str(&input).context("the job on stdin is not valid JSON for a job")
}

#[cfg(feature = "torch")]
fn evaluate() -> Result<(), Failure> {
    use std::time::{Duration, Instant};

    use xnas::evaluate::{
        evaluate_model, load_dataset, resolve_device, save_model, EvalError, EvalProgress, ModelInput,
    };
    use xnas::exec::{JobProgress, PROGRESS_PREFIX};
    use xnas::record::Status;

    let config_error = |e: anyhow::Error| Failure::Config(e);
    let job = read_job()?;
    let genome: xnas_space::Genome = job.genome.parse().context("the job's genome")?;
    if let Some(threads) = job.threads {
        if threads == 0 {
            return Err(Failure::Other(anyhow::anyhow!("the job asks for 0 threads")));
        }
        tch::set_num_threads(threads as i32);
    }
    // What fails every job of the run alike, checked before the dataset is read.
    job.config.validate().map_err(|e| config_error(e.into()))?;
    xnas::datasets::check_present(&job.config.load_options()).map_err(|e| config_error(e.into()))?;
    resolve_device(&job.config.device).map_err(|e| match (e, &job.device_name) {
        // The child sees its pinned GPU as cuda:0: name the device the run asked for.
        (EvalError::DeviceUnavailable { reason, .. }, Some(name)) => config_error(
            EvalError::DeviceUnavailable {
                requested: format!("{name} (this job's GPU, its cuda:0 through CUDA_VISIBLE_DEVICES)"),
                reason,
            }
            .into(),
        ),
        (e, _) => config_error(e.into()),
    })?;
    let data_error = |e: EvalError| match e {
        // A data file that cannot be read fails every job; an architecture's problem is its own.
        EvalError::Data(_) | EvalError::UnknownDevice(_) | EvalError::DeviceUnavailable { .. } => {
            config_error(e.into())
        }
        e => Failure::Other(e.into()),
    };
    let dataset = load_dataset(&job.config).map_err(data_error)?;
    let mut last = Instant::now() - Duration::from_secs(1);
    let (record, model) = evaluate_model(&genome, &job.config, &dataset, &mut |event| {
        if let EvalProgress::Training(p) = event {
            if last.elapsed() >= Duration::from_millis(250) || p.step == p.total_steps {
                last = Instant::now();
                let progress =
                    JobProgress { epoch: p.epoch, epochs: p.epochs, step: p.step, total_steps: p.total_steps };
                eprintln!("{PROGRESS_PREFIX}{}", serde_json::to_string(&progress).expect("progress serialises"));
            }
        }
    })
    .map_err(data_error)?;
    // Saved before the record is printed: a record the run holds has its model beside it.
    if let (Some(dir), Status::Done) = (&job.model_dir, record.status) {
        save_model(dir, &record, &model, &ModelInput::of(&dataset.train))?;
    }
    println!("{}", serde_json::to_string(&record)?);
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn evaluate() -> Result<(), Failure> {
    let _ = read_job()?;
    Err(Failure::Config(anyhow::anyhow!(
        "this xnas was built without the `torch` feature, so it cannot train; rebuild with default features"
    )))
}
