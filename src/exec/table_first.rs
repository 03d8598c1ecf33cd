//! The table-first executor (`--table-miss train`): a job whose cell a table holds is answered
//! by the table's record at once, as a replay answers it; any other job goes to a real executor
//! and is trained. A table grows this way — an exhaustive search over a wider space, given the
//! table of a narrower one, trains only the cells it lacks — and a partial table (an exhaustive
//! run stopped early, exported and carried to another machine) is completed by running the same
//! exhaustive script again with it.
//!
//! Time is the wall clock: trainings take what they take, and an answer from the table takes
//! none (a simulated clock cannot be mixed with real trainings in one budget).

use std::collections::{HashMap, VecDeque};

use xnas_space::{CanonicalForm, Genome};

use super::{ExecError, ExecEvent, Executor, Job, JobOutcome, TableAnswer};

/// Answers from a table what it can and trains the rest on `trainer`; see the module docs.
pub struct TableFirstExecutor {
    answers: HashMap<CanonicalForm, TableAnswer>,
    /// The table, as `describe` names it.
    table: String,
    trainer: Box<dyn Executor>,
    /// Events of answered jobs, each job's `Started` then its `Finished`, not yet handed out.
    answered: VecDeque<ExecEvent>,
}

impl TableFirstExecutor {
    pub fn new(table: String, answers: HashMap<CanonicalForm, TableAnswer>, trainer: Box<dyn Executor>) -> Self {
        TableFirstExecutor { answers, table, trainer, answered: VecDeque::new() }
    }

    fn answer(&self, job: &Job) -> Option<JobOutcome> {
        let form = job.genome.parse::<Genome>().ok()?.canonical();
        let answer = self.answers.get(&form)?;
        let mut record = answer.record.clone();
        record.replayed_from = Some(answer.source.clone());
        Some(JobOutcome::Record(Box::new(record)))
    }

    fn answered_in_flight(&self) -> usize {
        self.answered.iter().filter(|event| matches!(event, ExecEvent::Finished { .. })).count()
    }
}

impl Executor for TableFirstExecutor {
    fn submit(&mut self, job: Job) -> Result<(), ExecError> {
        match self.answer(&job) {
            Some(outcome) => {
                self.answered.push_back(ExecEvent::Started { job: job.id, worker: "table".into() });
                self.answered.push_back(ExecEvent::Finished { job: job.id, outcome });
                Ok(())
            }
            None => self.trainer.submit(job),
        }
    }

    fn next_event(&mut self) -> Option<ExecEvent> {
        self.answered.pop_front().or_else(|| self.trainer.next_event())
    }

    fn cancel_all(&mut self) {
        self.answered.clear();
        self.trainer.cancel_all();
    }

    fn decide(&mut self, job: u64, stop: bool) {
        self.trainer.decide(job, stop);
    }

    fn in_flight(&self) -> usize {
        self.answered_in_flight() + self.trainer.in_flight()
    }

    fn slots(&self) -> usize {
        self.trainer.slots()
    }

    fn describe(&self) -> String {
        format!(
            "the table {} ({} cell(s)) first, the cells it lacks trained by {}",
            self.table,
            self.answers.len(),
            self.trainer.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fake::{job, FakeExecutor};
    use crate::record::{synthetic_record, EvalConfig};

    #[test]
    fn the_table_answers_what_it_holds_and_the_trainer_gets_the_rest() {
        // The table holds 002404's cell; 444444's (all skips) it lacks.
        let held: Genome = "002404".parse().unwrap();
        let mut record = synthetic_record(&EvalConfig::default(), &held);
        record.val_accuracy = Some(0.5);
        let answers = HashMap::from([(held.canonical(), TableAnswer { record, source: "t #3".into() })]);
        let (trainer, asked) = FakeExecutor::new(2, |job, _| {
            JobOutcome::Record(Box::new(synthetic_record(&job.config, &job.genome.parse().unwrap())))
        });
        let mut executor = TableFirstExecutor::new("t".into(), answers, Box::new(trainer));
        executor.submit(job(1, "002404")).unwrap();
        executor.submit(job(2, "444444")).unwrap();
        assert_eq!(executor.in_flight(), 2);
        assert_eq!(executor.slots(), 2, "the trainer's slots");

        let mut started = HashMap::new();
        let mut finished = HashMap::new();
        while let Some(event) = executor.next_event() {
            match event {
                ExecEvent::Started { job, worker } => {
                    started.insert(job, worker);
                }
                ExecEvent::Finished { job, outcome } => {
                    finished.insert(job, outcome);
                }
                _ => {}
            }
        }
        assert_eq!(executor.in_flight(), 0);
        assert_eq!(started.get(&1).map(String::as_str), Some("table"));
        match &finished[&1] {
            JobOutcome::Record(record) => {
                assert_eq!(record.replayed_from.as_deref(), Some("t #3"));
                assert_eq!(record.val_accuracy, Some(0.5));
            }
            other => panic!("job 1 should be answered by the table: {other:?}"),
        }
        match &finished[&2] {
            JobOutcome::Record(record) => assert!(record.replayed_from.is_none(), "job 2 was trained"),
            other => panic!("job 2 should be trained: {other:?}"),
        }
        let submitted: Vec<String> = asked.borrow().submitted.iter().map(|(genome, _)| genome.clone()).collect();
        assert_eq!(submitted, ["444444"], "only the miss reached the trainer");
    }
}
