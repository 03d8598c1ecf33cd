//! What a run shows while it runs: a progress bar on stderr when it is a terminal (evaluations
//! told out of a generation or out of the whole budget, with each running job's epoch and step),
//! plain lines otherwise, and a line for each saved generation. An observer of the run's events
//! (see [`super::events`]), and where the run's own lines are printed ([`Progress::say`]).

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::events::{ObserverError, RunEvent, RunObserver};
use crate::exec::JobProgress;
use crate::store::Store;

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

    /// A steady-state run: evaluations told out of the whole budget.
    fn steady(&mut self, told: u64, total: u64) {
        if !self.bars {
            eprintln!("steady-state: {told}/{total} evaluation(s) done");
            return;
        }
        self.bar = Self::bar(total, "[{bar:30}] {pos}/{len} evaluated ({elapsed}, ETA {eta}) {msg}");
        self.bar.set_position(told);
    }

    /// One generation of `total` candidates; `label` says where the budget stands.
    fn generation(&mut self, label: &str, total: usize) {
        if !self.bars {
            eprintln!("{label}: {total} candidate(s)");
            return;
        }
        self.bar = Self::bar(total as u64, "{prefix} [{bar:30}] {pos}/{len} evaluated ({elapsed}, ETA {eta}) {msg}");
        self.bar.set_prefix(label.to_string());
    }

    fn bar(total: u64, template: &str) -> ProgressBar {
        let bar = ProgressBar::new(total);
        bar.set_style(ProgressStyle::with_template(template).expect("static template").progress_chars("=> "));
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
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
}

impl RunObserver for Progress {
    fn on(&mut self, event: &RunEvent<'_>, _: &Store) -> Result<(), ObserverError> {
        match *event {
            RunEvent::GenerationBegan { label, candidates } => self.generation(label, candidates),
            // Shown once: a steady-state run that finished a checkpoint's evaluations shows it already.
            RunEvent::Counting { told, budget } if self.bar.is_hidden() => self.steady(told, budget),
            RunEvent::Training { candidate, progress } => {
                self.jobs.insert(candidate, progress.clone());
                self.bar.set_message(progress_message(&self.jobs));
            }
            RunEvent::Left { candidate } => drop(self.jobs.remove(&candidate)),
            RunEvent::Told { .. } => self.bar.inc(1),
            RunEvent::GenerationEvaluated | RunEvent::Ended => self.bar.finish_and_clear(),
            RunEvent::GenerationSaved(stats) => eprintln!(
                "generation {} saved: {} in the population, {} on the front, hypervolume {}, {} failed so far",
                stats.generation,
                stats.population.len(),
                stats.front.len(),
                stats.hypervolume.map_or("n/a".into(), |v| format!("{v:.4}")),
                stats.failed
            ),
            _ => {}
        }
        Ok(())
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
