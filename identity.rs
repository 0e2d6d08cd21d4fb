// SPDX-License-Identifier: GPL-2.0-only

//! Program identity: whether the current task is the program a rule names.
//!
//! A rule names a program by path, but a path is easy to fake from user space:
//! `mm->exe_file` can be replaced with `prctl(PR_SET_MM)`, a private mount namespace can
//! bind-mount any binary over the path, and `d_path()` is relative to a root that `chroot()`
//! moves. So the decision never uses a path the task can influence:
//!
//! - at exec, the task keeps a reference to the file it executed (see [`crate::task`]),
//!   inherited by `fork()`; a script records its interpreter, which is what the kernel
//!   executes;
//! - at bind, the rule's path is resolved from the root of the initial user-space
//!   (`userspace_init_fs`, PID 1's root), and the inode found there is compared with the
//!   inode of the task's file. The task's reference keeps that inode alive, so no other
//!   file can ever be found at the same address.
//!
//! A binary replaced at the rule's path (a package upgrade) is the program from then on:
//! tasks executed from the new file match, tasks still running the old one do not.

use core::mem::MaybeUninit;
use kernel::{bindings, prelude::*};

use crate::{policy::ProgramPath, task};

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

    /// The inode this path leads to, or null for a negative dentry; for comparison only.
    fn inode(&self) -> *const bindings::inode {
        // SAFETY: The reference keeps the dentry live.
        unsafe { (*self.0.dentry).d_inode }
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
    task::with_current_exe(|exe| {
        let Some(exe) = exe else {
            return false;
        };
        // SAFETY: `exe` holds a reference to the file, which holds its inode.
        let executed = unsafe { (*exe.as_ptr()).f_inode };
        PathRef::init_root()
            .and_then(|root| root.lookup(path.as_cstr()))
            .is_some_and(|found| core::ptr::eq(found.inode(), executed))
    })
}
