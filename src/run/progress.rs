//! What a run shows while it runs: a progress bar on stderr when it is a terminal (evaluations
//! told out of a generation or out of the whole budget, with each running job's epoch and step),
//! plain lines otherwise. Kept apart so the run loop only says what happened.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::exec::JobProgress;

/// The run's progress display.
pub struct Progress {
    /// Draw bars (stderr is a terminal and the user did not turn them off).
    bars: bool,
    bar: ProgressBar,
    /// The latest progress of each running job.
    jobs: BTreeMap<u64, JobProgress>,
}

impl Progress {
    pub fn new(bars: bool) -> Progress {
        Progress { bars, bar: ProgressBar::hidden(), jobs: BTreeMap::new() }
    }

    /// Whether a bar is shown now.
    pub fn is_shown(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// A steady-state run: evaluations told out of the whole budget.
    pub fn steady(&mut self, told: u64, total: u64) {
        if !self.bars {
            eprintln!("steady-state: {told}/{total} evaluation(s) done");
            return;
        }
        self.bar = Self::bar(total, "[{bar:30}] {pos}/{len} evaluated ({elapsed}, ETA {eta}) {msg}");
        self.bar.set_position(told);
    }

    /// One generation of `total` candidates; `label` says where the budget stands.
    pub fn generation(&mut self, label: String, total: usize) {
        if !self.bars {
            eprintln!("{label}: {total} candidate(s)");
            return;
        }
        self.bar = Self::bar(total as u64, "{prefix} [{bar:30}] {pos}/{len} evaluated ({elapsed}, ETA {eta}) {msg}");
        self.bar.set_prefix(label);
    }

    fn bar(total: u64, template: &str) -> ProgressBar {
        let bar = ProgressBar::new(total);
        bar.set_style(ProgressStyle::with_template(template).expect("static template").progress_chars("=> "));
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
    }

    /// One more evaluation told.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    pub fn job(&mut self, job: u64, progress: JobProgress) {
        self.jobs.insert(job, progress);
        self.bar.set_message(progress_message(&self.jobs));
    }

    pub fn job_done(&mut self, job: u64) {
        self.jobs.remove(&job);
    }

    /// Prints a line above the bar, or plainly when there is none.
    pub fn say(&self, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// The bar, to print freely with it out of the way (`suspend`) while the run is borrowed.
    pub fn handle(&self) -> ProgressBar {
        self.bar.clone()
    }

    pub fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The bar's message: each running job's epoch and step (the first few).
fn progress_message(progress: &BTreeMap<u64, JobProgress>) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = progress
        .iter()
        .take(SHOWN)
        .map(|(job, p)| match &p.phase {
            Some(phase) => format!("#{job} {phase} {}/{}", p.step, p.total_steps),
            None => format!("#{job} epoch {}/{} step {}/{}", p.epoch, p.epochs, p.step, p.total_steps),
        })
        .collect();
    if progress.len() > SHOWN {
        parts.push(format!("+{} more", progress.len() - SHOWN));
    }
    parts.join(" · ")
}
