// SPDX-License-Identifier: GPL-2.0-only

//! KPortReserve: reserves local ports for specific programs.
//!
//! A minor, stackable LSM. No program but those the policy names takes a reserved TCP,
//! MPTCP, UDP or SCTP port, however it asks: `bind(2)` and io_uring on any family that binds
//! such a port (SMC and RxRPC included), `sctp_bindx()`, and automatic port choice, which
//! never picks a reserved port. The policy of the initial network namespace is written to
//! `/sys/kernel/security/kportreserve/policy`; every other namespace has the template's
//! rules (`netns-default`) and its own (`netns`).
//!
//! This file is the crate root: the LSM's identity, its blobs and its init. Each area keeps
//! its hooks and their table: [`net`] (sockets), [`task`] (exec and the task blob); the
//! decisions are made in [`policy`], [`netns`] and [`identity`], and reported by
//! [`report`]; [`boot`] puts the boot policy in force.
//!
//! See `Documentation/admin-guide/LSM/kportreserve.rst`.

use kernel::{bindings, prelude::*};

#[cfg(CONFIG_AUDIT)]
mod audit;
mod boot;
mod counters;
mod grammar;
mod identity;
mod limits;
mod net;
mod netns;
mod policy;
mod report;
mod rule;
mod ruleset;
mod securityfs;
mod sockaddr;
mod task;

/// The prefix of every `pr_*!` message, as `pr_fmt()` is for C.
const __LOG_PREFIX: &[u8] = b"kportreserve\0";

kernel::define_lsm! {
    name: c"kportreserve",
    id: bindings::LSM_ID_KPORTRESERVE,
    blobs: task::BLOBS,
    hooks: [net::HOOKS, task::HOOKS],
    init: init,
    // Neither securityfs nor the network namespaces are set up when `init` runs: the
    // namespaces' layers and the files come later.
    initcall_fs: init_fs,
}

/// Readies the policy and puts the boot policy in force; the hooks are registered after it
/// returns.
fn init() -> Result {
    // SAFETY: LSM init runs once, single-threaded, before any hook or file can use the policy.
    unsafe { policy::init() };
    // SAFETY: As above.
    unsafe { rule::init() };
    boot::init();
    pr_info!("Up and running.\n");
    Ok(())
}

/// Gives every network namespace its layer, then creates the files that write them.
fn init_fs() -> Result {
    netns::init()?;
    securityfs::init()
}
