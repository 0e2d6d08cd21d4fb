// SPDX-License-Identifier: GPL-2.0-only

//! Program identity: which file a task executed, recorded at `execve()`.
//!
//! A rule names a program by path, but a path is easy to fake from user space:
//! `mm->exe_file` can be replaced with `prctl(PR_SET_MM)`, a private mount namespace can
//! bind-mount any binary over the path, and `d_path()` is relative to a root that `chroot()`
//! moves. So the decision never uses a path the task can influence:
//!
//! - at exec, the identity of the file executed (device, inode number, generation) is
//!   stored in the task's security blob, and inherited by `fork()`; a script records its
//!   interpreter, which is what the kernel executes;
//! - at bind, the rule's path is resolved from the root of the initial user-space
//!   (`userspace_init_fs`, PID 1's root), and the file found there is compared with the
//!   recorded identity.
//!
//! The identity pins nothing (no file, inode or mount reference), so there is nothing to
//! release when a task is freed. A binary replaced at the rule's path (a package upgrade)
//! keeps working for programs executed from the new file.

use core::mem::MaybeUninit;
use kernel::{
    bindings,
    prelude::*,
    task::Task, //
};

use crate::policy::ProgramPath;

/// The file a task executed, without holding a reference to it.
///
/// `valid` is false for tasks that never executed a file since boot (kernel threads).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
#[repr(C)]
pub(crate) struct ExecIdentity {
    dev: u32,
    generation: u32,
    ino: u64,
    valid: bool,
}

impl ExecIdentity {
    /// Returns the identity of `inode`.
    ///
    /// # Safety
    ///
    /// `inode` must point to a live inode, with a live superblock.
    unsafe fn of_inode(inode: *const bindings::inode) -> Self {
        // SAFETY: By the function's safety contract, `inode` and its superblock are live.
        unsafe {
            Self {
                dev: (*(*inode).i_sb).s_dev,
                generation: (*inode).i_generation,
                ino: (*inode).i_ino,
                valid: true,
            }
        }
    }
}

/// The size of the task blob, which the LSM framework then turns into its offset.
///
/// # Invariants
///
/// After LSM initialisation, `lbs_task` is the offset of an [`ExecIdentity`] in every
/// task's `security` blob; it is written only by the LSM framework before init.
pub(crate) static mut BLOB_SIZES: bindings::lsm_blob_sizes = bindings::lsm_blob_sizes {
    lbs_task: core::mem::size_of::<ExecIdentity>() as u32,
    ..pin_init::zeroed()
};

/// Returns the identity slot in the blob of `task`, possibly unaligned.
///
/// # Safety
///
/// `task` must point to a live task whose blob was allocated by the LSM framework, and the
/// caller must have exclusive access to the slot for writes: the task itself, or its
/// creator before the task runs.
unsafe fn slot(task: *mut bindings::task_struct) -> *mut ExecIdentity {
    // SAFETY: `BLOB_SIZES` is only written by the LSM framework during its init, before
    // any task hook can run, so this read does not race.
    let offset = unsafe { BLOB_SIZES.lbs_task } as usize;
    // SAFETY: `task` is live; by the invariant of `BLOB_SIZES` the blob holds an
    // `ExecIdentity` at `offset`. The framework aligns offsets to pointers only, which
    // may be less than a `u64` needs on 32-bit machines: callers use unaligned accesses.
    unsafe {
        (*task)
            .security
            .cast::<u8>()
            .add(offset)
            .cast::<ExecIdentity>()
    }
}

/// Records that the current task now executes `bprm`'s file.
///
/// # Safety
///
/// `bprm` must point to the live `linux_binprm` of the current task's exec, after the point
/// of no return (from `bprm_committed_creds`).
pub(crate) unsafe fn record_exec(bprm: *const bindings::linux_binprm) {
    // SAFETY: By the contract, `bprm` is live and `file` is the file being executed: for a
    // script, its interpreter.
    let file = unsafe { (*bprm).file };
    if file.is_null() {
        return;
    }
    // SAFETY: `file` holds a reference to its inode, which holds its superblock.
    let identity = unsafe { ExecIdentity::of_inode((*file).f_inode) };
    // SAFETY: The current task is live and writes its own slot.
    unsafe { slot(Task::current_raw()).write_unaligned(identity) };
}

/// Gives a new task the identity of the current task, its creator.
///
/// # Safety
///
/// `task` must point to a task being created by the current task, with its blob allocated
/// and not yet running (from `task_alloc`).
pub(crate) unsafe fn inherit(task: *mut bindings::task_struct) {
    // SAFETY: The current task is live and only it writes its own slot.
    let identity = unsafe { slot(Task::current_raw()).read_unaligned() };
    // SAFETY: `task` is not running yet, so its creator has exclusive access.
    unsafe { slot(task).write_unaligned(identity) };
}

/// Returns the identity recorded for the current task.
fn current_identity() -> ExecIdentity {
    // SAFETY: The current task is live and only it writes its own slot.
    unsafe { slot(Task::current_raw()).read_unaligned() }
}

/// A `struct path` reference, released on drop.
///
/// # Invariants
///
/// `self.0` holds a reference taken by `path_get()` or a successful lookup.
struct PathRef(bindings::path);

impl PathRef {
    /// Returns the root of the initial user-space (PID 1's root), if it is set up yet.
    fn init_root() -> Option<Self> {
        // SAFETY: `userspace_init_fs` is written once during boot, before PID 1 runs; a
        // plain read is fine afterwards and sees null before.
        let fs = unsafe { bindings::userspace_init_fs };
        if fs.is_null() {
            return None;
        }
        let mut root = MaybeUninit::<bindings::path>::uninit();
        // SAFETY: `fs` is live for as long as the kernel runs (it holds a reference for the
        // global pointer); `get_fs_root()` fills `root` and takes a reference.
        unsafe { bindings::get_fs_root(fs, root.as_mut_ptr()) };
        // SAFETY: `get_fs_root()` initialised `root`.
        // INVARIANT: `get_fs_root()` took a reference.
        Some(Self(unsafe { root.assume_init() }))
    }

    /// Looks `name` up from this root, following symbolic links, as the kernel does for
    /// `execve()`.
    fn lookup(&self, name: &CStr) -> Option<Self> {
        let mut found = MaybeUninit::<bindings::path>::uninit();
        // SAFETY: `self.0` is a live path by the type invariant, `name` is NUL-terminated
        // and `found` is written only on success.
        let err = unsafe {
            bindings::vfs_path_lookup(
                self.0.dentry,
                self.0.mnt,
                name.as_char_ptr(),
                bindings::LOOKUP_FOLLOW,
                found.as_mut_ptr(),
            )
        };
        if err != 0 {
            return None;
        }
        // SAFETY: A successful lookup initialised `found`.
        // INVARIANT: and took a reference to it.
        Some(Self(unsafe { found.assume_init() }))
    }

    /// The identity of the file this path leads to, if it is not a negative dentry.
    fn identity(&self) -> Option<ExecIdentity> {
        // SAFETY: The reference keeps the dentry live.
        let inode = unsafe { (*self.0.dentry).d_inode };
        if inode.is_null() {
            return None;
        }
        // SAFETY: A positive dentry holds its inode, which holds its superblock.
        Some(unsafe { ExecIdentity::of_inode(inode) })
    }
}

impl Drop for PathRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, we own a reference.
        unsafe { bindings::path_put(&self.0) };
    }
}

/// Returns whether the current task executed the file at `path` in the initial mount
/// namespace, as that path resolves now.
///
/// Sleeps: never call it under an RCU read lock or a spinlock.
pub(crate) fn current_is(path: &ProgramPath) -> bool {
    let me = current_identity();
    if !me.valid {
        return false;
    }
    PathRef::init_root()
        .and_then(|root| root.lookup(path.as_cstr()))
        .and_then(|found| found.identity())
        .is_some_and(|target| target == me)
}
