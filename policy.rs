// SPDX-License-Identifier: GPL-2.0-only

//! The policy in force: the one published [`Snapshot`], its mode (enforcing or permissive)
//! and lock-down, the lock its writers take, and the questions the hooks ask of it.
//!
//! The writer side (the policy file) parses text with [`crate::grammar`], builds the next
//! snapshot with [`crate::ruleset::apply`] and publishes it here with one pointer store; the
//! old one is freed after an RCU grace period. The reader side (the bind hooks, and the
//! question automatic port selection asks) tests a static bitmap of the reserved ports
//! first: a port that no rule names costs one load and one bit test, with no lock. Only for
//! a reserved port is the snapshot looked up, under RCU, without a lock or an allocation.

use core::ptr;
#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
use kernel::bindings;
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed, //
        },
        rcu,
        Arc,
        ArcBorrow, //
    },
};

use crate::{
    grammar::{
        Line,
        Op,
        Rejection, //
    },
    rule::{
        Protocol,
        Rule,
        Subject, //
    },
    ruleset::{
        apply,
        Snapshot,
        BITMAP_WORDS, //
    },
};

kernel::sync::global_lock! {
    // SAFETY: Initialised by `init()`, from the LSM's init function, before any hook or
    // securityfs file can run.
    pub(crate) unsafe(uninit) static WRITER: Mutex<()> = ();
}

/// Where a snapshot is published for the hooks to read: the policy in force here, and the
/// layers of the other network namespaces (see [`crate::netns`]). Empty (null) when the
/// snapshot would hold no rule.
///
/// # Invariants
///
/// A non-null value comes from [`Arc::into_raw`] and owns one reference. It is replaced
/// only under [`WRITER`], and the replaced reference is dropped only after an RCU grace
/// period, so a reader holding the RCU read lock can always take a new reference.
pub(crate) struct Slot(Atomic<*const Snapshot>);

// SAFETY: All zeroes is the null pointer: an empty slot.
unsafe impl pin_init::Zeroable for Slot {}

impl Slot {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self(Atomic::new(ptr::null()))
    }

    /// Returns whether the slot holds no snapshot: one load.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // ORDERING: Only compared with null, never dereferenced.
        self.0.load(Relaxed).is_null()
    }

    /// Borrows the snapshot in the slot for as long as `_guard` holds the RCU read lock.
    pub(crate) fn borrow<'a>(&self, _guard: &'a rcu::Guard) -> Option<ArcBorrow<'a, Snapshot>> {
        // ORDERING: Pairs with the `Full` exchange in `replace()`, like rcu_dereference().
        let snapshot = self.0.load(Acquire);
        if snapshot.is_null() {
            return None;
        }
        // SAFETY: `snapshot` is non-null, so by the type invariant it came from
        // `Arc::into_raw`, and it cannot be released before `_guard` drops the RCU read lock,
        // which the returned borrow cannot outlive.
        Some(unsafe { ArcBorrow::from_raw(snapshot) })
    }

    /// Returns a reference to the snapshot in the slot, if any.
    pub(crate) fn current(&self) -> Option<Arc<Snapshot>> {
        let guard = rcu::read_lock();
        self.borrow(&guard).map(Into::into)
    }

    /// The rules of the snapshot in the slot, for a writer building the next one.
    pub(crate) fn rules<'a>(
        &'a self,
        _writer: &'a kernel::sync::GlobalGuard<WRITER>,
    ) -> &'a [Rule] {
        // ORDERING: Only writers store a slot, and they hold `WRITER`, which `_writer` proves.
        let snapshot = self.0.load(Relaxed);
        if snapshot.is_null() {
            return &[];
        }
        // SAFETY: Non-null values are live `Arc`s (type invariant), and under `WRITER`, held
        // for `'a`, nobody else can replace and release it.
        unsafe { &*snapshot }.rules()
    }

    /// Puts `snapshot` in the slot (`None`: empties it); returns the one it replaces.
    ///
    /// `_writer` proves that the caller holds [`WRITER`].
    pub(crate) fn replace(
        &self,
        _writer: &mut kernel::sync::GlobalGuard<WRITER>,
        snapshot: Option<Arc<Snapshot>>,
    ) -> Retired {
        let new = snapshot.map_or(ptr::null(), Arc::into_raw);
        // ORDERING: `Full` orders the snapshot's initialisation before its publication, like
        // rcu_assign_pointer().
        // INVARIANT: `new` is null or came from `Arc::into_raw`; `_writer` proves we hold
        // `WRITER`; the old value is released by `Retired` only after a grace period.
        Retired(self.0.xchg(new, Full))
    }
}

/// The snapshot in force in the initial network namespace.
static ACTIVE: Slot = Slot::new();

/// Every port that a rule in force reserves, one bit each (bit `port % 64` of word
/// `port / 64`): the hooks' first and, for an unreserved port, only question.
///
/// # Invariants
///
/// Written only under [`WRITER`]. Outside [`publish()`] it equals the bitmap of the snapshot
/// in [`ACTIVE`] (all zero when there is none); during it, a superset of the old and the
/// new snapshot's bitmaps, so that no reader ever misses a port reserved before or after.
static RESERVED: [Atomic<u64>; BITMAP_WORDS] = [const { Atomic::new(0) }; BITMAP_WORDS];

/// Whether a `lock` line has applied: no write changes the policy or the mode again.
///
/// # Invariants
///
/// Set only under [`WRITER`], after the batch holding the `lock` line was published; never
/// cleared (but by the KUnit tests, which run only while the kernel boots).
static LOCKED: Atomic<bool> = Atomic::new(false);

/// Whether would-be denials are allowed, and logged as such, rather than enforced.
///
/// Written only under [`WRITER`].
static PERMISSIVE: Atomic<bool> = Atomic::new(false);

/// Whether [`init()`] has run.
static INITIALISED: Atomic<bool> = Atomic::new(false);

/// Sets up the writer lock, once; later calls do nothing.
///
/// The LSM's init function calls it. The KUnit tests call it too: they also run in kernels
/// where KPortReserve is built but left out of `lsm=`, where the LSM's init never runs.
///
/// # Safety
///
/// The first call must not run concurrently with any other function of this module. It
/// holds: LSM init runs single-threaded before anything else can call in, and KUnit runs
/// its tests one at a time, after LSM init.
pub(crate) unsafe fn init() {
    // ORDERING: Callers are serialised by the contract; `Full` costs nothing at init.
    if !INITIALISED.xchg(true, Full) {
        // SAFETY: The first call, before any use of `WRITER`, by this function's contract.
        unsafe { WRITER.init() };
    }
}

/// Decides a bind of `port` of `protocol`; `is_task` tells whether the caller is a rule's
/// subject.
///
/// The bind hook calls it for ports [`is_reserved()`] found reserved, the bindx hook for
/// every port; the snapshot in force decides. An unreserved port costs an RCU read lock and
/// one bit test, and one load when the policy is empty. For a reserved port, a reference to
/// the snapshot is taken and the RCU read lock dropped before `is_task` runs, so it may
/// sleep.
pub(crate) fn may_bind(
    port: u16,
    protocol: Protocol,
    is_task: impl FnMut(&Arc<Subject>) -> bool,
) -> bool {
    // An empty policy costs one load and not even an RCU read lock.
    if is_empty() {
        return true;
    }
    let guard = rcu::read_lock();
    let snapshot: Arc<Snapshot> = match active(&guard) {
        Some(snapshot) if snapshot.is_reserved(port) => snapshot.into(),
        _ => return true,
    };
    drop(guard);
    snapshot.may_bind(port, protocol, is_task)
}

/// Returns whether no rule is in force: one load, for the hooks to return at once.
pub(crate) fn is_empty() -> bool {
    ACTIVE.is_empty()
}

/// Returns whether some rule in force reserves `port`.
///
/// The question every bind and every candidate of automatic port selection asks: one load
/// and one bit test, with no lock, not even the RCU read lock, and no allocation; safe in
/// atomic context (UDP asks it under `spin_lock_bh()`).
#[inline]
pub(crate) fn is_reserved(port: u16) -> bool {
    let Some(word) = RESERVED.get(usize::from(port) / 64) else {
        return false;
    };
    // ORDERING: A bind racing with a policy write may see either policy; the snapshot that
    // decides a reserved port is then read with `Acquire` under the RCU read lock.
    //
    // The load is a `READ_ONCE()`, written out: unless `CONFIG_RUST_INLINE_HELPERS` inlines
    // it, `Atomic::load()` calls a C helper, and a call on the path of every bind makes the
    // hooks save and restore their registers around it, about twenty instructions, a third
    // of what the bind hook costs an unreserved bind. On 64-bit machines it is the load
    // `atomic64_read()` does; machines that load a 64-bit word in two halves read the bit
    // tested from one of them, each half of either the old or the new word, as a
    // `READ_ONCE()` of a smaller word would.
    // SAFETY: `word` is a static, so its pointer is valid and aligned; every store to it is
    // atomic (`WRITER` holders, with `Atomic::store()`), and a volatile load of it is the
    // `READ_ONCE()` the LKMM allows to race with them.
    let bits = unsafe { word.as_ptr().read_volatile() };
    bits & (1 << (port % 64)) != 0
}

/// Returns whether automatic port choice for `protocol` skips `port`, a port
/// [`is_reserved()`] found reserved, and if so counts it on the rules that reserve it.
/// `protocol` is `None` for a protocol the LSM does not know, which every rule covers.
///
/// No lock but the RCU read lock and no allocation: safe in atomic context.
pub(crate) fn skips(port: u16, protocol: Option<Protocol>) -> bool {
    let guard = rcu::read_lock();
    active(&guard).is_some_and(|snapshot| snapshot.skips(port, protocol))
}

/// Returns whether the policy and the mode are locked until reboot.
pub(crate) fn is_locked() -> bool {
    // ORDERING: Writers check it again under `WRITER`; readers only report it.
    LOCKED.load(Relaxed)
}

/// Returns whether would-be denials are allowed (permissive mode).
pub(crate) fn is_permissive() -> bool {
    // ORDERING: A bind racing with a mode switch may see either mode.
    PERMISSIVE.load(Relaxed)
}

/// Switches between enforcing and permissive mode; `EPERM` once the policy is locked.
///
/// The caller holds [`WRITER`], as for a policy change.
pub(crate) fn set_permissive(
    _writer: &mut kernel::sync::GlobalGuard<WRITER>,
    permissive: bool,
) -> Result {
    if is_locked() {
        return Err(EPERM);
    }
    PERMISSIVE.store(permissive, Relaxed);
    Ok(())
}

/// Returns a reference to the snapshot in force, or `None` when the policy is empty.
pub(crate) fn current() -> Option<Arc<Snapshot>> {
    ACTIVE.current()
}

/// Borrows the snapshot in force for as long as `guard` holds the RCU read lock.
fn active(guard: &rcu::Guard) -> Option<ArcBorrow<'_, Snapshot>> {
    ACTIVE.borrow(guard)
}

/// Locks the policy, the mode and every other layer until reboot. The caller holds
/// [`WRITER`] and has published the batch holding the `lock` line.
pub(crate) fn lock(_writer: &mut kernel::sync::GlobalGuard<WRITER>) {
    // INVARIANT: `_writer` proves we hold `WRITER`.
    LOCKED.store(true, Relaxed);
}

/// Builds the snapshot that applying `lines` to the one in `slot` gives, all or nothing:
/// `None` when it holds no rule. Allocations are charged to the writer's memory cgroup.
pub(crate) fn next_snapshot(
    writer: &kernel::sync::GlobalGuard<WRITER>,
    slot: &Slot,
    lines: &[Line],
) -> Result<Option<Arc<Snapshot>>, Rejection> {
    let snapshot = apply(slot.rules(writer), lines)?;
    if snapshot.rules().is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(snapshot, GFP_KERNEL_ACCOUNT)?))
}

/// Applies a batch of parsed lines to the policy in force, all or nothing.
///
/// The caller holds [`WRITER`]. On success the new snapshot is published; the old one is
/// released after an RCU grace period, once the caller has dropped the lock.
pub(crate) fn update(
    writer: &mut kernel::sync::GlobalGuard<WRITER>,
    lines: &[Line],
) -> Result<Retired, Rejection> {
    if is_locked() {
        return Err(Rejection {
            line: 0,
            reason: "the policy is locked until reboot",
            error: EPERM,
        });
    }
    let snapshot = next_snapshot(writer, &ACTIVE, lines)?;
    let retired = publish(writer, snapshot);
    if has_lock(lines) {
        lock(writer);
    }
    Ok(retired)
}

/// Returns whether a batch holds a `lock` line.
pub(crate) fn has_lock(lines: &[Line]) -> bool {
    lines.iter().any(|(_, op)| matches!(op, Op::Lock))
}

/// Puts `snapshot` in force (`None` for the empty policy); returns the one it replaces.
///
/// `writer` proves that the caller holds [`WRITER`].
fn publish(
    writer: &mut kernel::sync::GlobalGuard<WRITER>,
    snapshot: Option<Arc<Snapshot>>,
) -> Retired {
    let words = snapshot.as_ref().map(|s| s.reserved_words());
    let new_word = |i: usize| words.and_then(|w| w.get(i)).copied().unwrap_or(0);
    // INVARIANT: Ports the new snapshot reserves are added before it is published, and ports
    // only the old one reserved are removed after: in between, `RESERVED` covers both.
    for (i, word) in RESERVED.iter().enumerate() {
        // ORDERING: Only writers store `RESERVED`, under `WRITER`.
        word.store(word.load(Relaxed) | new_word(i), Relaxed);
    }
    // `ACTIVE` gets a reference of its own; `snapshot` keeps `words` borrowed until the end.
    // The exchange is `Full`: the bits set above are ordered before the publication.
    let retired = ACTIVE.replace(writer, snapshot.clone());
    for (i, word) in RESERVED.iter().enumerate() {
        word.store(new_word(i), Relaxed);
    }
    retired
}

/// The policy, mode and lock in force when a KUnit test took them over, put back when the
/// test ends.
#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
struct SavedForTest {
    snapshot: Option<Arc<Snapshot>>,
    permissive: bool,
    locked: bool,
}

/// Takes the policy, mode and lock over for a KUnit test that changes them: unlocked,
/// enforcing, and put back as they were when the test ends, however it ends. Returns whether
/// the test may go on; when not, the test is marked skipped (which `dev/test` counts as a
/// failure) and nothing was changed.
///
/// The state is put back by a KUnit cleanup action, which runs even after a failed
/// assertion, which ends a test without unwinding (a `Drop` would not run).
///
/// Only while the kernel boots, before user space runs: afterwards the policy in force is the
/// administrator's, and a test re-run through KUnit's debugfs `run` file (uid 0 with no
/// capability may write it) would take it and its lock out of force while it runs. Such a
/// re-run is skipped.
#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
pub(crate) fn take_over_for_test() -> bool {
    // SAFETY: Always safe to call; null outside a KUnit test.
    let test = unsafe { bindings::kunit_get_current_test() };
    if test.is_null() {
        return false;
    }
    // SAFETY: `system_state` is written during boot and read everywhere without a lock.
    let state = unsafe { ptr::read_volatile(&raw const bindings::system_state) };
    if state >= bindings::system_states_SYSTEM_RUNNING {
        // SAFETY: `test` is the current test, live while it runs.
        unsafe {
            mark_skipped(
                test,
                b"user space runs: the policy in force is not the tests'",
            )
        };
        return false;
    }
    // SAFETY: KUnit runs its tests one at a time, after LSM init.
    unsafe { init() };
    // SAFETY: As above.
    unsafe { crate::rule::init() };
    let writer = WRITER.lock();
    let Ok(saved) = KBox::new(
        SavedForTest {
            snapshot: current(),
            permissive: is_permissive(),
            locked: is_locked(),
        },
        GFP_KERNEL,
    ) else {
        // SAFETY: `test` is the current test, live while it runs.
        unsafe { mark_skipped(test, b"no memory to save the policy in force") };
        return false;
    };
    LOCKED.store(false, Relaxed);
    PERMISSIVE.store(false, Relaxed);
    drop(writer);
    // SAFETY: `test` is the current test; `put_back_after_test` takes the box back exactly
    // once, at the test's end or at once if the action cannot be added.
    let ret = unsafe {
        bindings::kunit_add_action_or_reset(
            test,
            Some(put_back_after_test),
            KBox::into_raw(saved).cast(),
        )
    };
    if ret != 0 {
        // The action ran at once and put the state back.
        // SAFETY: `test` is the current test, live while it runs.
        unsafe { mark_skipped(test, b"no memory for the action that puts the policy back") };
    }
    ret == 0
}

/// The KUnit cleanup action of [`take_over_for_test()`]: puts the saved state back.
///
/// # Safety
///
/// `saved` comes from [`KBox::into_raw`] of a [`SavedForTest`], and is passed once.
#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
unsafe extern "C" fn put_back_after_test(saved: *mut core::ffi::c_void) {
    // SAFETY: By the function's contract.
    let mut saved = unsafe { KBox::from_raw(saved.cast::<SavedForTest>()) };
    let mut writer = WRITER.lock();
    let retired = publish(&mut writer, saved.snapshot.take());
    PERMISSIVE.store(saved.permissive, Relaxed);
    LOCKED.store(saved.locked, Relaxed);
    drop(writer);
    drop(retired);
}

/// Marks `test` skipped with `reason`, as `kunit_mark_skipped()` does.
///
/// # Safety
///
/// `test` must be the live current test.
#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
unsafe fn mark_skipped(test: *mut bindings::kunit, reason: &[u8]) {
    // SAFETY: `test` is live; only the test's own thread writes its status and comment while
    // it runs, and only these two fields are touched, through raw pointers, as the C macro
    // does: other fields of `struct kunit` may be used by other threads.
    unsafe {
        let comment = &raw mut (*test).status_comment;
        let len = reason.len().min((*comment).len() - 1);
        for (i, &byte) in reason[..len].iter().enumerate() {
            (*comment)[i] = byte as kernel::ffi::c_char;
        }
        (*comment)[len] = 0;
        ptr::write_volatile(
            &raw mut (*test).status,
            bindings::kunit_status_KUNIT_SKIPPED,
        );
    }
}

/// A snapshot taken out of force, released after an RCU grace period when dropped.
///
/// # Invariants
///
/// The pointer is null or owns one reference from [`Arc::into_raw`].
pub(crate) struct Retired(*const Snapshot);

impl Drop for Retired {
    fn drop(&mut self) {
        if self.0.is_null() {
            return;
        }
        // Readers that found the old pointer hold the RCU read lock until they have taken
        // their own reference; wait for them before dropping ours.
        rcu::synchronize_rcu();
        // SAFETY: By the type invariant, the pointer owns a reference from `Arc::into_raw`,
        // and after the grace period no reader can still be about to borrow it.
        drop(unsafe { Arc::from_raw(self.0) });
    }
}
