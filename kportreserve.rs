// SPDX-License-Identifier: GPL-2.0-only

//! KPortReserve: reserves local ports for specific programs.
//!
//! A minor, stackable LSM. No program but those the policy names takes a reserved TCP,
//! MPTCP, UDP or SCTP port of the initial network namespace, however it asks: `bind(2)` and
//! io_uring on any family that binds such a port (SMC and RxRPC included), `sctp_bindx()`,
//! and automatic port choice, which never picks a reserved port. The policy is written to
//! `/sys/kernel/security/kportreserve/policy`.
//!
//! This file is the crate root: the LSM's identity, its hook list and its init functions.
//! The hooks live with their area: [`net`] (sockets), [`task`] (exec and the task blob);
//! the decisions are made in [`policy`] and [`identity`], and reported by [`report`].
//!
//! See `Documentation/admin-guide/LSM/kportreserve.rst`.

use core::ptr;
use kernel::{bindings, ffi::c_int, prelude::*};

mod identity;
mod net;
mod policy;
mod report;
mod securityfs;
mod sockaddr;
mod task;

/// The prefix of every `pr_*!` message, as `pr_fmt()` is for C.
const __LOG_PREFIX: &[u8] = b"kportreserve\0";

/// A C object holding raw pointers, shared read-only between CPUs.
///
/// # Invariants
///
/// The wrapped value is never written after it is built, or only by the LSM framework
/// during its single-threaded init.
#[repr(transparent)]
struct AssertSync<T>(T);

// SAFETY: By the type invariant, the value is immutable once other CPUs can see it.
unsafe impl<T> Sync for AssertSync<T> {}

/// The LSM's name and ID, as `/sys/kernel/security/lsm` and `lsm_list_modules(2)` show them.
static LSM_ID: AssertSync<bindings::lsm_id> = AssertSync(bindings::lsm_id {
    name: kernel::str::as_char_ptr_in_const_context(c"kportreserve"),
    id: bindings::LSM_ID_KPORTRESERVE as u64,
});

/// Builds one `LSM_HOOK_INIT()` entry: `$slot` names the field of `static_calls_table` and
/// of `security_list_options` the hook goes in.
macro_rules! lsm_hook_init {
    ($slot:ident, $hook:expr) => {
        bindings::security_hook_list {
            // SAFETY: Only the address is taken, without a reference: the table is
            // `__packed`, and the LSM framework writes it during init.
            scalls: unsafe { (&raw mut bindings::static_calls_table.$slot).cast() },
            hook: bindings::security_list_options { $slot: Some($hook) },
            lsmid: ptr::null(),
        }
    };
}

/// The number of hooks KPortReserve registers.
const HOOK_COUNT: usize = 6;

/// The hooks, in the form `security_add_hooks()` takes.
///
/// `security_add_hooks()` writes `lsmid` into each entry during init; afterwards the array
/// is read-only, as `__ro_after_init` makes it.
#[link_section = ".data..ro_after_init"]
static mut HOOKS: [bindings::security_hook_list; HOOK_COUNT] = [
    lsm_hook_init!(socket_bind, net::hook_socket_bind),
    lsm_hook_init!(sctp_bind_connect, net::hook_sctp_bind_connect),
    lsm_hook_init!(sk_port_reserved, net::hook_sk_port_reserved),
    lsm_hook_init!(task_alloc, task::hook_task_alloc),
    lsm_hook_init!(task_free, task::hook_task_free),
    lsm_hook_init!(bprm_committed_creds, task::hook_bprm_committed_creds),
];

/// The `DEFINE_LSM(kportreserve)` entry the LSM framework finds in `.lsm_info.init`.
///
/// `#[used]` keeps it: nothing refers to it by name. The framework writes to it during init.
#[used]
#[link_section = ".lsm_info.init"]
static mut LSM_INFO: bindings::lsm_info = bindings::lsm_info {
    id: &raw const LSM_ID.0,
    order: bindings::lsm_order_LSM_ORDER_MUTABLE,
    blobs: &raw mut task::BLOB_SIZES,
    init: Some(kportreserve_init),
    // securityfs is not mounted when `init` runs; files come later.
    initcall_fs: Some(securityfs::init),
    ..pin_init::zeroed()
};

/// Registers the hooks; called once by the LSM framework when `kportreserve` is enabled.
///
/// In `.init.text` because it calls the `__init` function `security_add_hooks()`.
///
/// # Safety
///
/// Called once, by the LSM framework during its single-threaded init.
#[link_section = ".init.text"]
unsafe extern "C" fn kportreserve_init() -> c_int {
    // SAFETY: Called once, before any hook or securityfs file can use the policy.
    unsafe { policy::init() };
    // SAFETY: `HOOKS` is only touched here, during single-threaded LSM init, and by the
    // framework through the pointer given; `LSM_ID` lives forever.
    unsafe {
        bindings::security_add_hooks((&raw mut HOOKS).cast(), HOOK_COUNT as c_int, &LSM_ID.0)
    };
    pr_info!("Up and running.\n");
    0
}
