// SPDX-License-Identifier: GPL-2.0-only

//! The task hooks and the task blob: the file each task executed, held from its `execve()`
//! (or its creator's) until the task is freed.
//!
//! The blob holds a reference to the executed file itself, not a number describing it: a
//! device number, inode number and generation can all be had again by another file once the
//! first one's filesystem is gone (anonymous device numbers are reused lowest first; overlayfs,
//! NFS and ramfs leave the generation 0; FUSE lets its server choose both), and
//! `prctl(PR_SET_MM_MAP)` lets user-namespace root drop `mm->exe_file`, the only other thing
//! that pins it. While a task holds its file, the file's inode and mount cannot go away, so
//! no other file can ever compare equal to it.
//!
//! `mm->exe_file` pins the same file for as long as the task runs it, so this keeps nothing
//! mounted that would not be anyway, except after `PR_SET_MM_MAP` and, briefly, for exited
//! tasks not yet reaped.

use crate::identity::KeptAnswer;
use core::ptr::{self, NonNull};
use kernel::{
    bindings,
    fs::File,
    lsm::Blobs,
    prelude::*,
    sync::aref::ARef,
    task::Task,
    types::Opaque, //
};

/// The task's part of its security blob: the file it executed, and the answer kept for it.
///
/// # Invariants
///
/// `file` is null, or owns one reference to a file. `kept` is a valid [`KeptAnswer`] for that
/// file: it is forgotten whenever `file` changes. Both are written only by the task itself
/// (at exec and at bind), by its creator before it runs, and by whoever frees it; read only by
/// the task itself.
#[derive(Zeroable)]
pub(crate) struct ExeSlot {
    file: Opaque<*mut bindings::file>,
    kept: Opaque<KeptAnswer>,
}

// SAFETY: By the type invariant, a slot is read and written by one task at a time: the task
// itself, or a task that owns it while it does not run.
unsafe impl Sync for ExeSlot {}

impl ExeSlot {
    /// Takes the reference out of the slot, leaving it empty.
    ///
    /// # Safety
    ///
    /// The caller must be allowed to write the slot (see the type invariant).
    unsafe fn take(&self) -> Option<ARef<File>> {
        // SAFETY: The caller may write the slot; a zeroed `KeptAnswer` is valid, and `kept`
        // is always one (type invariant). Nothing else borrows it while the caller writes.
        unsafe { (*self.kept.get()).forget() };
        // SAFETY: The caller may write the slot.
        let file = unsafe { self.file.get().replace(ptr::null_mut()) };
        // SAFETY: A non-null slot owns one reference to a file (type invariant); `File` is a
        // transparent wrapper of `struct file`.
        NonNull::new(file).map(|file| unsafe { ARef::from_raw(file.cast::<File>()) })
    }

    /// Stores `file`'s reference into the empty slot.
    ///
    /// # Safety
    ///
    /// The slot must be empty, and the caller allowed to write it (see the type invariant).
    unsafe fn put(&self, file: Option<ARef<File>>) {
        let raw = file.map_or(ptr::null_mut(), |file| ARef::into_raw(file).as_ptr().cast());
        // INVARIANT: The slot now owns the reference `file` held.
        // SAFETY: The caller may write the slot.
        unsafe { self.file.get().write(raw) };
    }
}

/// KPortReserve's part of the framework's blobs: an [`ExeSlot`] in each task.
pub(crate) static BLOBS: Blobs<ExeSlot> = Blobs::new();

/// The slot of `task`, for a hook the framework calls with it.
///
/// # Safety
///
/// `task` must point to a live task.
unsafe fn slot_of<'a>(task: *mut bindings::task_struct) -> Option<&'a ExeSlot> {
    // SAFETY: `task` is live for `'a` by the contract; `Task` is a transparent wrapper of
    // `struct task_struct`.
    BLOBS.task(unsafe { &*task.cast::<Task>() })
}

/// The file the current task executed, borrowed for as long as the caller runs on it.
///
/// `None` for tasks that never executed a file since boot (kernel threads), or if
/// KPortReserve is not enabled.
pub(crate) fn with_current_exe<R>(f: impl FnOnce(Option<&File>) -> R) -> R {
    let current = current!();
    let Some(slot) = BLOBS.task(current) else {
        return f(None);
    };
    // SAFETY: The current task may read its own slot (type invariant of `ExeSlot`).
    let file = unsafe { *slot.file.get() };
    if file.is_null() {
        return f(None);
    }
    // SAFETY: The slot owns a reference, and the current task cannot exec, so drop it, while
    // it runs `f`.
    f(Some(unsafe { File::from_raw_file(file) }))
}

/// Calls `f` with the file the current task executed and the answer kept for it, for
/// [`crate::identity`]; `false` for a task that has none.
///
/// # Safety
///
/// `f` must not call this function: it holds the only reference to the answer.
pub(crate) unsafe fn with_current_program(f: impl FnOnce(&File, &mut KeptAnswer) -> bool) -> bool {
    let current = current!();
    let Some(slot) = BLOBS.task(current) else {
        return false;
    };
    // SAFETY: The current task may read its own slot (type invariant of `ExeSlot`).
    let file = unsafe { *slot.file.get() };
    if file.is_null() {
        return false;
    }
    // SAFETY: The slot owns a reference, and the current task cannot exec, so drop it, while
    // it runs `f`.
    let file = unsafe { File::from_raw_file(file) };
    // SAFETY: The current task alone reads and writes `kept` (type invariant), valid for this
    // file, and only through this function and `take()`: `f` calls neither (by the function's
    // contract, and the current task cannot exec while it runs).
    let kept = unsafe { &mut *slot.kept.get() };
    f(file, kept)
}

/// The `task_alloc` hook: a new task runs the program of its creator.
///
/// # Safety
///
/// Called by the LSM framework for a task the current task is creating, with its blob
/// allocated and zeroed, before the task runs.
unsafe extern "C" fn hook_task_alloc(
    task: *mut bindings::task_struct,
    _clone_flags: u64,
) -> kernel::ffi::c_int {
    let file = with_current_exe(|file| file.map(ARef::from));
    // SAFETY: `task` is live; it does not run yet, so its creator may write its empty slot.
    if let Some(slot) = unsafe { slot_of(task) } {
        // SAFETY: As above.
        unsafe { slot.put(file) };
    }
    0
}

/// The `task_free` hook: drops the task's reference to the file it executed.
///
/// `fput()` may be called in any context, including the RCU callback that frees tasks.
///
/// # Safety
///
/// Called by the LSM framework once for a task being freed, or whose creation failed.
unsafe extern "C" fn hook_task_free(task: *mut bindings::task_struct) {
    // SAFETY: The task is live until this returns, and nobody else uses it any more.
    if let Some(slot) = unsafe { slot_of(task) } {
        // SAFETY: As above.
        drop(unsafe { slot.take() });
    }
}

/// The `bprm_committed_creds` hook: the current task now runs the file `bprm` executes.
///
/// # Safety
///
/// Called by the LSM framework after the point of no return of the current task's exec,
/// with the live `bprm` of that exec.
unsafe extern "C" fn hook_bprm_committed_creds(bprm: *const bindings::linux_binprm) {
    // SAFETY: `bprm` is live by the contract; `file` is the file being executed (for a
    // script, its interpreter), or null.
    let file = unsafe { (*bprm).file };
    let current = current!();
    let Some(slot) = BLOBS.task(current) else {
        return;
    };
    if file.is_null() {
        return;
    }
    // SAFETY: `bprm` holds a reference to `file` for the duration of this call; the file
    // was opened by the kernel for exec and is in no file descriptor table.
    let file: ARef<File> = unsafe { File::from_raw_file(file) }.into();
    // SAFETY: The current task writes its own slot; after `take()` it is empty.
    let old = unsafe { slot.take() };
    // SAFETY: As above.
    unsafe { slot.put(Some(file)) };
    drop(old);
}

kernel::lsm_hooks! {
    /// The task and exec hooks, registered at init.
    pub(crate) static HOOKS = [
        task_alloc: hook_task_alloc,
        task_free: hook_task_free,
        bprm_committed_creds: hook_bprm_committed_creds,
    ];
}
