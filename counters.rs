// SPDX-License-Identifier: GPL-2.0-only

//! Counting, for each rule, the binds it allowed and denied and the automatic port choices
//! that skipped its ports, as the `counters` file shows them.
//!
//! Each count is one atomic word, added to without a lock: only the binds of reserved ports
//! and the automatic choices that pass over one count, so no bind of an unreserved port
//! ever writes one. A rule keeps its counters across the policy writes that keep the rule
//! in force. The rules one write adds share allocations, up to [`RULES_PER_BLOCK`] to each.

use core::fmt::{self, Write};
use kernel::{
    alloc::AllocError,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
};

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

/// The most rules that share one allocation.
///
/// One allocation per write of 60,000 new rules would be a large one, one per rule 60,000
/// small ones. A block lives as long as any of its rules, so its size also bounds what one
/// rule left from a large write can keep allocated: 128 rules' counters, 3 KiB.
pub(crate) const RULES_PER_BLOCK: usize = 128;

/// Counters that the rules one policy write adds share: [`EVENTS`] per rule.
///
/// A block lives as long as any of its rules is in force; the counters of a rule deleted
/// before the others are not reused.
///
/// # Invariants
///
/// `counters` holds `capacity * EVENTS` counters.
struct Block {
    counters: KVec<Atomic<usize>>,
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
        if let Some(counter) = self.block.counters.get(self.first + event as usize) {
            // ORDERING: A count orders nothing; readers only report it.
            counter.add(1, Relaxed);
        }
    }

    /// The number of `event`s so far (wrapping at `usize::MAX`).
    pub(crate) fn get(&self, event: Event) -> usize {
        self.block
            .counters
            .get(self.first + event as usize)
            // ORDERING: As in `count()`.
            .map_or(0, |counter| counter.load(Relaxed))
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
/// allocation.
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
                let mut counters = KVec::with_capacity(capacity * EVENTS, GFP_KERNEL_ACCOUNT)?;
                for _ in 0..capacity * EVENTS {
                    counters.push(Atomic::new(0), GFP_KERNEL_ACCOUNT)?;
                }
                // INVARIANT: `counters` holds `capacity * EVENTS` counters.
                (
                    Arc::new(Block { counters, capacity }, GFP_KERNEL_ACCOUNT)?,
                    0,
                )
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
