// SPDX-License-Identifier: GPL-2.0-only

//! Counting, for each rule, the binds it allowed and denied and the automatic port choices
//! that skipped its ports, as the `counters` file shows them.
//!
//! The counts are per CPU: a bind adds to its own CPU's copy, without a lock, an atomic
//! read-modify-write or a cache line another CPU writes; reading the file sums the copies.
//! A rule keeps its counters across the policy writes that keep the rule in force. The
//! rules one write adds share per-CPU allocations, up to [`RULES_PER_BLOCK`] to each.

use core::fmt::{self, Write};
use kernel::{alloc::AllocError, percpu::PerCpuCounters, prelude::*, sync::Arc};

/// What a rule counts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Event {
    /// A bind of one of its ports by the program, or a task of the cgroup, it names.
    Allowed = 0,
    /// A bind of one of its ports that was denied, or in permissive mode would have been.
    Denied = 1,
    /// An automatic port choice that passed over one of its ports.
    Skipped = 2,
}

/// The number of [`Event`]s, the counters of each rule.
const EVENTS: usize = 3;

const _: () = assert!(Event::Skipped as usize + 1 == EVENTS);

/// The most rules that share one per-CPU allocation.
///
/// Each per-CPU allocation takes a global mutex and searches the allocator's chunks, so
/// that allocating one per rule made a write of 60,000 new rules take seconds. A block
/// lives as long as any of its rules, so its size also bounds what one rule left from a
/// large write can keep allocated: 128 rules' counters, 3 KiB per CPU.
pub(crate) const RULES_PER_BLOCK: usize = 128;

const _: () = assert!(RULES_PER_BLOCK * EVENTS <= PerCpuCounters::MAX_LEN);

/// Counters that the rules one policy write adds share: [`EVENTS`] per rule.
///
/// A block lives as long as any of its rules is in force; the counters of a rule deleted
/// before the others are not reused.
///
/// # Invariants
///
/// `counters` holds `capacity * EVENTS` counters.
struct Block {
    counters: PerCpuCounters,
    capacity: usize,
}

/// The counters of one rule, shared by every snapshot the rule is in.
///
/// # Invariants
///
/// `first + EVENTS <= block.capacity * EVENTS`: the rule's counters are within its block.
#[derive(Clone)]
pub(crate) struct RuleCounters {
    block: Arc<Block>,
    first: usize,
}

impl RuleCounters {
    /// Counts one `event`; any context.
    pub(crate) fn count(&self, event: Event) {
        // By the type invariant, the index is within the block.
        self.block.counters.add(self.first + event as usize, 1);
    }

    /// The number of `event`s so far (wrapping at `usize::MAX`).
    pub(crate) fn get(&self, event: Event) -> usize {
        self.block.counters.sum(self.first + event as usize)
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

/// Hands out zeroed counters to the rules a policy write adds, [`RULES_PER_BLOCK`] to each
/// per-CPU allocation.
pub(crate) struct NewCounters {
    /// The rules still to be given counters, which sizes the next block.
    left: usize,
    /// The block being handed out, and how many of its rules have been.
    block: Option<(Arc<Block>, usize)>,
}

impl NewCounters {
    /// Counters for `rules` new rules, allocated as they are handed out.
    pub(crate) fn for_rules(rules: usize) -> Self {
        Self {
            left: rules,
            block: None,
        }
    }

    /// The next rule's counters, all zero.
    pub(crate) fn take(&mut self) -> Result<RuleCounters, AllocError> {
        let (block, used) = match self.block.take() {
            Some((block, used)) if used < block.capacity => (block, used),
            _ => {
                let capacity = self.left.clamp(1, RULES_PER_BLOCK);
                let counters =
                    PerCpuCounters::new(capacity * EVENTS, GFP_KERNEL).map_err(|_| AllocError)?;
                // INVARIANT: `counters` holds `capacity * EVENTS` counters.
                (Arc::new(Block { counters, capacity }, GFP_KERNEL)?, 0)
            }
        };
        // INVARIANT: `used < block.capacity`, so the rule's counters are within the block.
        let counters = RuleCounters {
            block: block.clone(),
            first: used * EVENTS,
        };
        self.block = Some((block, used + 1));
        self.left = self.left.saturating_sub(1);
        Ok(counters)
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

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_counters)]
mod tests {
    use super::*;

    #[test]
    fn new_rules_share_allocations_not_counts() -> Result {
        let rules = RULES_PER_BLOCK + 2;
        let mut new = NewCounters::for_rules(rules);
        let mut all = KVec::with_capacity(rules, GFP_KERNEL)?;
        for _ in 0..rules {
            all.push(new.take()?, GFP_KERNEL)?;
        }
        let last_of_first = RULES_PER_BLOCK - 1;
        assert!(Arc::ptr_eq(&all[0].block, &all[last_of_first].block));
        assert!(!Arc::ptr_eq(&all[0].block, &all[RULES_PER_BLOCK].block));
        // The last block is sized for the two rules left.
        assert_eq!(all[RULES_PER_BLOCK].block.capacity, 2);
        all[1].count(Event::Denied);
        all[last_of_first].count(Event::Skipped);
        all[rules - 1].count(Event::Allowed);
        for (i, counters) in all.iter().enumerate() {
            let expected = (
                usize::from(i == rules - 1),
                usize::from(i == 1),
                usize::from(i == last_of_first),
            );
            let counts = (
                counters.get(Event::Allowed),
                counters.get(Event::Denied),
                counters.get(Event::Skipped),
            );
            assert_eq!(counts, expected);
        }
        Ok(())
    }
}
