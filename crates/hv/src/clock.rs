//! The deadline the sweeps of every dimension look at (`hypervolume_until`): its own module,
//! because the 4-D, 5-D and many-objective algorithms all use it and `many` uses the others.

use std::time::Instant;

/// A deadline, looked at every [`Clock::EVERY`] steps (reading the time costs about as much as a
/// small step). Once passed it stays passed, so every level of the recursion unwinds at once;
/// what they return then is meaningless and the caller reports [`Clock::expired`] instead.
#[derive(Default)]
pub(crate) struct Clock {
    deadline: Option<Instant>,
    steps: u32,
    expired: bool,
}

impl Clock {
    const EVERY: u32 = 32;

    pub(crate) fn until(deadline: Option<Instant>) -> Clock {
        Clock { deadline, steps: 0, expired: false }
    }

    /// One step of work done; whether the deadline has passed.
    pub(crate) fn tick(&mut self) -> bool {
        if self.expired {
            return true;
        }
        let Some(deadline) = self.deadline else { return false };
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(Self::EVERY) && Instant::now() >= deadline {
            self.expired = true;
        }
        self.expired
    }

    pub(crate) fn expired(&self) -> bool {
        self.expired
    }
}
