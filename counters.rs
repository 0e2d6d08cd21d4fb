// SPDX-License-Identifier: GPL-2.0-only

//! Counting, for each rule, the binds it allowed and denied and the automatic port choices
//! that skipped its ports, as the `counters` file shows them.
//!
//! The counts are per CPU: a bind adds to its own CPU's copy, without a lock, an atomic
//! read-modify-write or a cache line another CPU writes; reading the file sums the copies.
//! A rule keeps its counters across the policy writes that keep the rule in force.

use core::fmt::{self, Write};
use kernel::{alloc::AllocError, percpu::PerCpuCounters, prelude::*, sync::Arc};

/// What a rule counts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Event {
    /// A bind of one of its ports by the program it names.
    Allowed = 0,
    /// A bind of one of its ports that was denied, or in permissive mode would have been.
    Denied = 1,
    /// An automatic port choice that passed over one of its ports.
    Skipped = 2,
}

/// The counters of one rule, shared by every snapshot the rule is in.
pub(crate) struct RuleCounters(PerCpuCounters<3>);

impl RuleCounters {
    /// New counters, all zero.
    pub(crate) fn new() -> Result<Arc<Self>, AllocError> {
        Arc::new(Self(PerCpuCounters::new(GFP_KERNEL)?), GFP_KERNEL)
    }

    /// Counts one `event`; any context.
    pub(crate) fn count(&self, event: Event) {
        self.0.add(event as usize, 1);
    }

    /// The number of `event`s so far (wrapping at `usize::MAX`).
    pub(crate) fn get(&self, event: Event) -> usize {
        self.0.sum(event as usize)
    }

    /// Appends ` allowed=N denied=N skipped=N`, as a line of the `counters` file ends.
    pub(crate) fn render(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        write!(
            Text(out),
            " allowed={} denied={} skipped={}",
            self.get(Event::Allowed),
            self.get(Event::Denied),
            self.get(Event::Skipped)
        )
        .map_err(|_| AllocError)
    }
}

impl fmt::Debug for RuleCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RuleCounters")
    }
}

/// Text appended to a vector; a failed allocation is a formatting error.
struct Text<'a>(&'a mut KVVec<u8>);

impl Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| fmt::Error)
    }
}
