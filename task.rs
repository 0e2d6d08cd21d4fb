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

use core::ptr::{self, NonNull};
use kernel::{
    bindings,
    fs::File,
    sync::aref::ARef,
    task::Task, //
};

/// The size of the task blob, which the LSM framework then turns into its offset.
///
/// # Invariants
///
/// After LSM initialisation, `lbs_task` is the offset of a pointer-aligned
/// `*mut bindings::file` in every task's `security` blob, null or owning one reference to a
/// file; it is written only by the LSM framework before init.
pub(crate) static mut BLOB_SIZES: bindings::lsm_blob_sizes = bindings::lsm_blob_sizes {
    lbs_task: core::mem::size_of::<*mut bindings::file>() as u32,
    ..pin_init::zeroed()
};

/// Returns the executed-file slot in the blob of `task`.
///
/// # Safety
///
/// `task` must point to a live task whose blob was allocated by the LSM framework. Only the
/// task itself, its creator before it runs, and whoever frees it may write the slot.
unsafe fn slot(task: *mut bindings::task_struct) -> *mut *mut bindings::file {
    // SAFETY: `BLOB_SIZES` is only written by the LSM framework during its init, before
    // any task hook can run, so this read does not race.
    let offset = unsafe { BLOB_SIZES.lbs_task } as usize;
    // SAFETY: `task` is live; by the invariant of `BLOB_SIZES` the blob holds the slot at
    // `offset`, aligned for a pointer (the framework aligns every offset so).
    unsafe { (*task).security.cast::<u8>().add(offset).cast() }
}

/// Takes the reference out of `slot`, leaving it empty.
///
/// # Safety
///
/// `slot` must be a slot returned by [`slot()`] that the caller may write.
unsafe fn take(slot: *mut *mut bindings::file) -> Option<ARef<File>> {
    // SAFETY: The caller may write the slot.
    let file = unsafe { slot.replace(ptr::null_mut()) };
    // SAFETY: A non-null slot owns one reference to a file (invariant of `BLOB_SIZES`);
    // `File` is a transparent wrapper of `struct file`.
    NonNull::new(file).map(|file| unsafe { ARef::from_raw(file.cast::<File>()) })
}

/// Stores `file`'s reference into the empty `slot`.
///
/// # Safety
///
/// `slot` must be an empty slot returned by [`slot()`] that the caller may write.
unsafe fn put(slot: *mut *mut bindings::file, file: Option<ARef<File>>) {
    let raw = file.map_or(ptr::null_mut(), |file| ARef::into_raw(file).as_ptr().cast());
    // INVARIANT: The slot now owns the reference `file` held.
    // SAFETY: The caller may write the slot.
    unsafe { slot.write(raw) };
}

/// The file the current task executed, borrowed for as long as the caller runs on it.
///
/// `None` for tasks that never executed a file since boot (kernel threads).
pub(crate) fn with_current_exe<R>(f: impl FnOnce(Option<&File>) -> R) -> R {
    // SAFETY: The current task is live, and only it replaces its own slot (at exec).
    let file = unsafe { *slot(Task::current_raw()) };
    if file.is_null() {
        return f(None);
    }
    // SAFETY: The slot owns a reference, and the current task cannot exec, so drop it, while
    // it runs `f`.
    f(Some(unsafe { File::from_raw_file(file) }))
}

/// The `task_alloc` hook: a new task runs the program of its creator.
///
/// # Safety
///
/// Called by the LSM framework for a task the current task is creating, with its blob
/// allocated and zeroed, before the task runs.
pub(crate) unsafe extern "C" fn hook_task_alloc(
    task: *mut bindings::task_struct,
    _clone_flags: u64,
) -> kernel::ffi::c_int {
    let file = with_current_exe(|file| file.map(ARef::from));
    // SAFETY: `task` does not run yet: its creator may write its empty slot.
    unsafe { put(slot(task), file) };
    0
}

/// The `task_free` hook: drops the task's reference to the file it executed.
///
/// `fput()` may be called in any context, including the RCU callback that frees tasks.
///
/// # Safety
///
/// Called by the LSM framework once for a task being freed, or whose creation failed.
pub(crate) unsafe extern "C" fn hook_task_free(task: *mut bindings::task_struct) {
    // SAFETY: Nobody else uses the task any more.
    drop(unsafe { take(slot(task)) });
}

/// The `bprm_committed_creds` hook: the current task now runs the file `bprm` executes.
///
/// # Safety
///
/// Called by the LSM framework after the point of no return of the current task's exec,
/// with the live `bprm` of that exec.
pub(crate) unsafe extern "C" fn hook_bprm_committed_creds(bprm: *const bindings::linux_binprm) {
    // SAFETY: `bprm` is live by the contract; `file` is the file being executed (for a
    // script, its interpreter), or null.
    let file = unsafe { (*bprm).file };
    if file.is_null() {
        return;
    }
    // SAFETY: `bprm` holds a reference to `file` for the duration of this call; the file
    // was opened by the kernel for exec and is in no file descriptor table.
    let file: ARef<File> = unsafe { File::from_raw_file(file) }.into();
    // SAFETY: The current task is live and writes its own slot.
    let slot = unsafe { slot(Task::current_raw()) };
    // SAFETY: As above; after `take()` the slot is empty.
    let old = unsafe { take(slot) };
    // SAFETY: As above.
    unsafe { put(slot, Some(file)) };
    drop(old);
}
