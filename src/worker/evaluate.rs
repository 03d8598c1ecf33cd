//! `xnas-worker evaluate`: the one-process-per-evaluation side of an executor. Reads one job
//! (JSON) on stdin, trains and measures it, saves the trained model where the job says (if it
//! names a folder and the training did not fail; a training stopped early is saved as it stopped), writes the measurement record (JSON) on stdout
//! and progress lines on stderr. `serve` (`serve.rs`) runs the same [`JobRunner`] job after job.
//! Not meant to be typed by hand; `xnas eval` is the human command.
//!
//! A job that can never run as configured — training settings out of range, data files missing
//! or unreadable, a device that does not exist — ends with [`CONFIG_ERROR_EXIT`] instead of 1, so
//! that the run stops at once with the message instead of retrying it (see `xnas::exec`).

use std::io::BufRead;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use xnas::datasets::Dataset;
use xnas::evaluate::{
    evaluate_prepared, load_dataset, resolve_device, save_model, EvalError, EvalProgress, ModelInput, Prepared,
};
use xnas::exec::{Decision, Job, JobProgress, CONFIG_ERROR_EXIT, EPOCH_PREFIX, PROGRESS_PREFIX};
use xnas::record::{MeasurementRecord, Status};

#[derive(Debug, Args)]
pub struct EvaluateArgs {}

/// Why a job ended without a record: its configuration (the same for every job of the run), or
/// anything else.
pub enum Failure {
    Config(anyhow::Error),
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Other(error.into())
    }
}

pub fn run(_args: EvaluateArgs) -> anyhow::Result<()> {
    let mut input = std::io::stdin().lock();
    let job = read_job(&mut input)?;
    match JobRunner::default().run(&job, &mut || read_decision(&mut input)) {
        Ok(record) => {
            println!("{}", serde_json::to_string(&record)?);
            Ok(())
        }
        Err(Failure::Other(error)) => Err(error),
        Err(Failure::Config(error)) => {
            eprintln!("error: {error:#}");
            std::process::exit(CONFIG_ERROR_EXIT);
        }
    }
}

/// The job: the first line of stdin (the head may keep stdin open to send decisions after it).
fn read_job(input: &mut impl BufRead) -> anyhow::Result<Job> {
    let mut line = String::new();
    input.read_line(&mut line).context("reading the job from stdin")?;
    serde_json::from_str(&line).context("the job on stdin is not valid JSON for a job")
}

/// The head's next decision on stdin; `None` at its end or on a line that is not one (the head
/// then decides nothing more for this job, and it trains to the end).
pub fn read_decision(input: &mut impl BufRead) -> Option<Decision> {
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => serde_json::from_str(&line).ok(),
    }
}

/// Runs jobs, keeping the last one's dataset — read, and copied to its device — for the next job
/// that asks for the same data on the same device: a search's jobs all do.
#[derive(Default)]
pub struct JobRunner {
    data: Option<CachedData>,
}

struct CachedData {
    /// The load options it was read with, as text: equal options read equal data.
    options: String,
    dataset: Dataset,
    prepared: Prepared,
}

impl JobRunner {
    /// Trains and measures `job`, saving its model where it says, and returns the record. Each
    /// measured epoch goes to stderr; when the job asks, `next_decision` gives the head's answer.
    pub fn run(
        &mut self,
        job: &Job,
        next_decision: &mut dyn FnMut() -> Option<Decision>,
    ) -> Result<MeasurementRecord, Failure> {
        let config_error = |e: anyhow::Error| Failure::Config(e);
        let genome: xnas_space::Genome = job.genome.parse().context("the job's genome")?;
        if let Some(threads) = job.threads {
            if threads == 0 {
                return Err(Failure::Other(anyhow::anyhow!("the job asks for 0 threads")));
            }
            tch::set_num_threads(threads as i32);
        }
        // What fails every job of the run alike, checked before the dataset is read.
        job.config.validate().map_err(|e| config_error(e.into()))?;
        let options = job.config.load_options();
        xnas::datasets::check_present(&options).map_err(|e| config_error(e.into()))?;
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
        let options = format!("{options:?}");
        let cached = self
            .data
            .as_ref()
            .is_some_and(|data| data.options == options && data.prepared.serves(&job.config, &data.dataset));
        if !cached {
            // The old copy goes first, so that two never share the device's memory.
            self.data = None;
            let dataset = load_dataset(&job.config).map_err(data_error)?;
            let prepared = Prepared::new(&job.config, &dataset).map_err(data_error)?;
            self.data = Some(CachedData { options, dataset, prepared });
        }
        let data = self.data.as_ref().expect("loaded above");
        let mut last = Instant::now() - Duration::from_secs(1);
        let mut asking = job.decide_each_epoch;
        let epochs = job.config.epochs;
        let mut last_phase: Option<&'static str> = None;
        let mut on_progress = |event| {
            // A measurement pass after training reports its images under its name; the first and
            // last line of each pass always go out, the rest at most four a second.
            let (progress, phase) = match event {
                EvalProgress::Training(p) => (
                    JobProgress {
                        epoch: p.epoch,
                        epochs: p.epochs,
                        step: p.step,
                        total_steps: p.total_steps,
                        phase: None,
                    },
                    None,
                ),
                EvalProgress::Validating(v) => {
                    (measuring(epochs, "validation", v.images_done, v.images), Some("validation"))
                }
                EvalProgress::Trust(t) => {
                    (measuring(epochs, t.pass.name(), t.images_done, t.images), Some(t.pass.name()))
                }
            };
            let new_phase = phase.is_some() && phase != last_phase;
            if new_phase || last.elapsed() >= Duration::from_millis(250) || progress.step == progress.total_steps {
                last = Instant::now();
                last_phase = phase;
                eprintln!("{PROGRESS_PREFIX}{}", serde_json::to_string(&progress).expect("progress serialises"));
            }
        };
        let mut decide = |point: &xnas::record::EpochPoint| {
            eprintln!("{EPOCH_PREFIX}{}", serde_json::to_string(point).expect("an epoch point serialises"));
            if !asking {
                return false;
            }
            match next_decision() {
                Some(decision) => decision.job == job.id && decision.stop,
                None => {
                    asking = false;
                    false
                }
            }
        };
        let (record, model) =
            evaluate_prepared(&genome, &job.config, &data.dataset, &data.prepared, &mut on_progress, &mut decide)
                .map_err(data_error)?;
        // Saved before the record is handed back: a record the run holds has its model beside it.
        // A training stopped early keeps the weights of the epoch it stopped after, which its
        // record measured; only a failed one has nothing worth keeping.
        if let (Some(dir), Status::Done | Status::Stopped) = (&job.model_dir, record.status) {
            save_model(dir, &record, &model, &ModelInput::of(&data.dataset.train))?;
        }
        Ok(record)
    }
}

/// A measurement pass's progress after `epochs` of training: `images_done` of `images`.
fn measuring(epochs: usize, phase: &str, images_done: usize, images: usize) -> JobProgress {
    JobProgress { epoch: epochs, epochs, step: images_done, total_steps: images, phase: Some(phase.to_string()) }
}
