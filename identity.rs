// SPDX-License-Identifier: GPL-2.0-only

//! Identity: whether the current task is the subject a rule names, its program or its cgroup.
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
//!
//! The answer is found again at every bind, but not always by a walk: when the rule's path
//! leads to the task's file through no symbolic link, the task keeps a [`KeptAnswer`], the
//! sequence counts of the file's dentry and of its ancestors and of the mount table
//! (`vfs_path_is_file()`). The next bind checks those, the root and the search permission on
//! each directory instead of walking; a rename, unlink or re-creation on the way, a mount or
//! unmount, a root moved, or a second gone by since the walk sends it back to the walk.
//!
//! A rule may name a cgroup (v2) instead, for a service whose port the service manager binds
//! (systemd binds a socket unit's ports in a helper it forks into the unit's cgroup). The
//! rule's path is looked up at bind from the root of the hierarchy, never from the root of
//! the task's cgroup namespace, which the task may have created; the task matches if its
//! cgroup is that cgroup or a descendant. A cgroup that does not exist matches no task, and
//! one removed and created again at the path matches again. The rule trusts whoever may
//! move a task into that cgroup: writing to `cgroup.procs` takes write access to it and to
//! the common ancestor's, which only root and the delegatee of a subtree have.

use core::ptr;
#[cfg(CONFIG_CGROUPS)]
use kernel::cgroup::Cgroup;
use kernel::{
    fs::{
        path::{
            FsStruct,
            PathAncestry,
            LOOKUP_FOLLOW, //
        },
        File,
    },
    sync::Arc,
};

use crate::{
    rule::{
        AbsolutePath,
        Subject, //
    },
    task,
};

/// Returns whether the current task is `subject`: the program or in the cgroup it names.
/// `<kernel>` is no task.
///
/// Sleeps: never call it under an RCU read lock or a spinlock.
pub(crate) fn current_is(subject: &Arc<Subject>) -> bool {
    match &**subject {
        Subject::Kernel => false,
        Subject::Program(path) => current_executed(subject, path),
        Subject::Cgroup(path) => current_in_cgroup(path),
    }
}

/// Returns whether the current task executed the file at `path`, the path of `program`, in
/// the initial mount namespace, as that path resolves now (following symbolic links, as
/// `execve()` does).
fn current_executed(program: &Arc<Subject>, path: &AbsolutePath) -> bool {
    let Some(init) = FsStruct::userspace_init() else {
        return false;
    };
    let name = path.as_cstr();
    let answer = |exe: &File, kept: &mut KeptAnswer| {
        if kept.is_for(program) {
            return init
                .lookup_is_file(name, LOOKUP_FOLLOW, exe, &mut kept.ancestry)
                .unwrap_or(false);
        }
        // Another program: its answer replaces the one kept only if the task is that program
        // and the answer could be kept, so that a task asked about each rule of a port in turn
        // keeps the one it is.
        let mut ancestry = PathAncestry::new();
        let is = init
            .lookup_is_file(name, LOOKUP_FOLLOW, exe, &mut ancestry)
            .unwrap_or(false);
        if is && ancestry.is_kept() {
            kept.keep(program, ancestry);
        }
        is
    };
    // SAFETY: `answer` does not call `with_current_program()`.
    unsafe { task::with_current_program(answer) }
}

/// The last program a task was found to be, and what that answer stands on
/// ([`PathAncestry`]), kept in the task's blob for the file the task executed.
///
/// A zeroed one keeps nothing.
///
/// # Invariants
///
/// `program` is null or comes from [`Arc::into_raw`] and owns a reference; `ancestry`
/// answers for that program's path and the task's file only.
pub(crate) struct KeptAnswer {
    program: *const Subject,
    ancestry: PathAncestry,
}

impl KeptAnswer {
    /// Returns whether the answer kept is for `program`'s path: the same rule's, or an equal
    /// one's (each policy write parses its rules again).
    fn is_for(&self, program: &Arc<Subject>) -> bool {
        let kept = self.program;
        // SAFETY: A non-null `kept` owns a reference (type invariant), so it is live.
        ptr::eq(kept, Arc::as_ptr(program)) || (!kept.is_null() && unsafe { &*kept } == &**program)
    }

    /// Keeps `ancestry`, found for `program`'s path, instead of the answer kept so far.
    fn keep(&mut self, program: &Arc<Subject>, ancestry: PathAncestry) {
        self.forget();
        // INVARIANT: The reference is the clone's, and `ancestry` answers for its path.
        self.program = Arc::into_raw(program.clone());
        self.ancestry = ancestry;
    }

    /// Forgets the answer: the task executes another file, or is freed.
    pub(crate) fn forget(&mut self) {
        let kept = core::mem::take(&mut self.program);
        if !kept.is_null() {
            // SAFETY: `kept` owns a reference (type invariant), now given back.
            drop(unsafe { Arc::from_raw(kept) });
        }
        self.ancestry.forget();
    }
}

/// Returns whether the current task is in the cgroup at `path` from the root of the
/// hierarchy, or in a descendant of it.
#[cfg(CONFIG_CGROUPS)]
fn current_in_cgroup(path: &AbsolutePath) -> bool {
    Cgroup::from_root_path(path.as_cstr()).is_ok_and(|cgroup| cgroup.contains_current())
}

/// Without cgroups, the grammar refuses cgroup rules.
#[cfg(not(CONFIG_CGROUPS))]
fn current_in_cgroup(_path: &AbsolutePath) -> bool {
    false
}
