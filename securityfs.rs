// SPDX-License-Identifier: GPL-2.0-only

//! The files under `/sys/kernel/security/kportreserve/`, and nothing else.
//!
//! `policy` (0600, `CAP_MAC_ADMIN` in the initial user namespace) reads back the policy in
//! force and takes policy lines. Each `write(2)` is one transaction over its complete lines;
//! a line split across writes, as `cat` splits a large file, is kept until its newline
//! arrives, and a last line without one is applied when the file is closed.

use core::ptr;
use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::{
        c_char,
        c_int,
        c_void, //
    },
    fs::file::Offset,
    prelude::*,
    sync::GlobalLockedBy,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::policy::{
    self,
    Rejection,
    MAX_LINE_LEN,
    WRITER, //
};

/// Largest single `write(2)` accepted, in bytes; larger policies need several writes.
pub(crate) const MAX_WRITE_LEN: usize = 4 << 20;

/// `CAP_MAC_ADMIN`, which changing a MAC policy needs.
const CAP_MAC_ADMIN: c_int = bindings::CAP_MAC_ADMIN as c_int;

/// Text written after the last newline so far.
#[derive(Default)]
struct Pending {
    /// The start of a line whose newline has not been written yet.
    partial: KVVec<u8>,
    /// The number of the line `partial` starts, counting from the open.
    line: usize,
}

/// What one open file description of `policy` holds.
struct OpenPolicy {
    /// The policy rendered at `open()`, so that a reader sees one version however it reads.
    text: KVVec<u8>,
    /// Guarded by the writer lock, which every change of the policy takes anyway.
    pending: GlobalLockedBy<Pending, WRITER>,
}

/// Returns whether `text` is only spaces, tabs and newlines.
fn is_blank(text: &[u8]) -> bool {
    text.iter().all(|&c| matches!(c, b' ' | b'\t' | b'\n'))
}

/// Logs why policy text was refused, rate-limited.
fn report(rejection: &Rejection) {
    if !crate::report::printk_ratelimit() {
        return;
    }
    if rejection.line == 0 {
        pr_warn!("policy rejected: {}\n", rejection.reason);
    } else {
        pr_warn!(
            "policy rejected: line {}: {}\n",
            rejection.line,
            rejection.reason
        );
    }
}

/// Applies the complete lines of `pending.partial` followed by `data` as one transaction;
/// keeps what follows the last newline. If `flush`, the whole text is applied.
///
/// On error, `pending` is unchanged and the policy in force too.
fn apply_text(pending: &GlobalLockedBy<Pending, WRITER>, data: &[u8], flush: bool) -> Result {
    let mut writer = WRITER.lock();
    let (first_line, text) = {
        let pending = pending.as_ref(&writer);
        let mut text = KVVec::with_capacity(pending.partial.len() + data.len(), GFP_KERNEL)?;
        text.extend_from_slice(&pending.partial, GFP_KERNEL)?;
        text.extend_from_slice(data, GFP_KERNEL)?;
        (pending.line, text)
    };
    let split = if flush {
        text.len()
    } else {
        text.iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |newline| newline + 1)
    };
    let (complete, partial) = text.split_at(split);
    let newlines = complete.iter().filter(|&&c| c == b'\n').count();
    if partial.len() > MAX_LINE_LEN {
        let rejection = Rejection {
            line: first_line + newlines,
            reason: "line too long",
            error: EINVAL,
        };
        report(&rejection);
        return Err(rejection.error);
    }
    // Allocated before the policy changes, so that nothing can fail after it has.
    let mut rest = KVVec::with_capacity(partial.len(), GFP_KERNEL)?;
    rest.extend_from_slice(partial, GFP_KERNEL)?;
    let retired = if is_blank(complete) {
        None
    } else {
        let outcome = policy::parse(complete, first_line)
            .and_then(|lines| policy::update(&mut writer, &lines));
        Some(
            outcome
                .inspect_err(report)
                .map_err(|rejection| rejection.error)?,
        )
    };
    let pending = pending.as_mut(&mut writer);
    pending.partial = rest;
    pending.line = first_line + newlines;
    drop(writer);
    // Waits for an RCU grace period: only after the lock is released.
    drop(retired);
    Ok(())
}

/// `open()`: checks the caller's privilege and renders the policy for reading.
///
/// # Safety
///
/// Called by the VFS with a live file being opened.
unsafe extern "C" fn policy_open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `init_user_ns` lives forever; the check uses the current (opening) task.
    if !unsafe { bindings::ns_capable(&raw mut bindings::init_user_ns, CAP_MAC_ADMIN) } {
        return EPERM.to_errno();
    }
    // Render only for readers: `echo rule > policy` should not copy a large policy.
    // SAFETY: `file` is live; `f_flags` is set before `open()` is called.
    let write_only = unsafe { (*file).f_flags } & bindings::O_ACCMODE == bindings::O_WRONLY;
    let text = match policy::current().filter(|_| !write_only) {
        None => Ok(KVVec::new()),
        Some(snapshot) => snapshot.render(),
    };
    let open = text.map_err(Error::from).and_then(|text| {
        Ok(KBox::new(
            OpenPolicy {
                text,
                pending: GlobalLockedBy::new(Pending {
                    partial: KVVec::new(),
                    line: 1,
                }),
            },
            GFP_KERNEL,
        )?)
    });
    match open {
        Ok(open) => {
            // SAFETY: `file` is live and `private_data` is ours until `release()`.
            unsafe { (*file).private_data = KBox::into_raw(open).cast() };
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// Returns the state `policy_open()` attached to `file`.
///
/// # Safety
///
/// `file` must be a live file of `policy`, opened successfully and not yet released.
unsafe fn open_policy<'a>(file: *mut bindings::file) -> &'a OpenPolicy {
    // SAFETY: By the contract, `private_data` is the `KBox` leaked by `policy_open()`, freed
    // only by `policy_release()`, after every read and write of the file.
    unsafe { &*(*file).private_data.cast::<OpenPolicy>() }
}

/// `read()`: the policy as it was at open, in canonical form.
///
/// # Safety
///
/// Called by the VFS with a live, open file and a user buffer of `count` bytes.
unsafe extern "C" fn policy_read(
    file: *mut bindings::file,
    buf: *mut c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: The VFS only reads files that `policy_open()` opened.
    let open = unsafe { open_policy(file) };
    let mut writer = UserSlice::new(UserPtr::from_ptr(buf.cast::<c_void>()), count).writer();
    // SAFETY: `ppos` is valid for the duration of the call.
    let offset: &mut Offset = unsafe { &mut *ppos };
    match writer.write_slice_file(&open.text, offset) {
        Ok(read) => read as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// `write()`: applies the complete lines written, as one transaction.
///
/// # Safety
///
/// Called by the VFS with a live, open file and a user buffer of `count` bytes.
unsafe extern "C" fn policy_write(
    file: *mut bindings::file,
    buf: *const c_char,
    count: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // The opener's credentials, not the writer's: a privileged opener cannot be tricked into
    // writing by an unprivileged process it passes the file to, nor the other way round.
    // SAFETY: `file` is live; `init_user_ns` lives forever.
    if !unsafe { bindings::file_ns_capable(file, &raw mut bindings::init_user_ns, CAP_MAC_ADMIN) } {
        return EPERM.to_errno() as isize;
    }
    if count > MAX_WRITE_LEN {
        return E2BIG.to_errno() as isize;
    }
    // SAFETY: The VFS only writes files that `policy_open()` opened.
    let open = unsafe { open_policy(file) };
    let mut data = KVVec::new();
    let user = UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast::<c_void>()), count);
    let result = user
        .read_all(&mut data, GFP_KERNEL)
        .and_then(|()| apply_text(&open.pending, &data, false));
    match result {
        Ok(()) => count as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// `release()`: applies a last line written without its newline, and frees the state.
///
/// # Safety
///
/// Called by the VFS once, when the last reference to an opened file goes.
unsafe extern "C" fn policy_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `private_data` is the `KBox` leaked by `policy_open()`; this is its last use.
    let open = unsafe { KBox::from_raw((*file).private_data.cast::<OpenPolicy>()) };
    // The error cannot reach the writer any more; `apply_text()` has logged it.
    let _ = apply_text(&open.pending, &[], true);
    0
}

/// The file operations of `policy`.
static POLICY_FOPS: crate::AssertSync<bindings::file_operations> =
    crate::AssertSync(bindings::file_operations {
        open: Some(policy_open),
        read: Some(policy_read),
        write: Some(policy_write),
        release: Some(policy_release),
        ..pin_init::zeroed()
    });

/// Creates `/sys/kernel/security/kportreserve/policy`; the LSM's `initcall_fs`.
///
/// # Safety
///
/// Called once by the LSM framework, after securityfs is set up.
#[link_section = ".init.text"]
pub(crate) unsafe extern "C" fn init() -> c_int {
    // SAFETY: Creating a directory at the root of securityfs with a static name.
    let dir =
        unsafe { bindings::securityfs_create_dir(c"kportreserve".as_char_ptr(), ptr::null_mut()) };
    let dir = match from_err_ptr(dir) {
        Ok(dir) => dir,
        Err(err) => {
            pr_err!("cannot create the securityfs directory: {:?}\n", err);
            return err.to_errno();
        }
    };
    // SAFETY: `dir` was just created; the name and the operations are static.
    let file = unsafe {
        bindings::securityfs_create_file(
            c"policy".as_char_ptr(),
            0o600,
            dir,
            ptr::null_mut(),
            &POLICY_FOPS.0,
        )
    };
    if let Err(err) = from_err_ptr(file) {
        pr_err!("cannot create the policy file: {:?}\n", err);
        // SAFETY: `dir` is ours and holds nothing else.
        unsafe { bindings::securityfs_remove(dir) };
        return err.to_errno();
    }
    0
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_securityfs)]
mod tests {
    use super::*;

    /// Makes the policy usable even when KPortReserve is not in `lsm=`.
    fn setup() {
        // SAFETY: KUnit runs after LSM init, one test at a time.
        unsafe { policy::init() };
    }

    /// Writes each chunk as one `write(2)`, then closes; returns the policy rendered.
    fn write_chunks(chunks: &[&str]) -> Result<KVVec<u8>> {
        setup();
        let pending = GlobalLockedBy::new(Pending {
            partial: KVVec::new(),
            line: 1,
        });
        apply_text(&pending, b"clear\n", false)?;
        for chunk in chunks {
            apply_text(&pending, chunk.as_bytes(), false)?;
        }
        apply_text(&pending, &[], true)?;
        let rendered = match policy::current() {
            Some(snapshot) => snapshot.render()?,
            None => KVVec::new(),
        };
        apply_text(&pending, b"clear\n", true)?;
        Ok(rendered)
    }

    #[test]
    fn lines_split_across_writes() -> Result {
        let out = write_chunks(&["100", "00 /bin/", "a\n10001 /b", "in/b\n", "10002 /c"])?;
        assert_eq!(&out[..], b"10000 /bin/a\n10001 /bin/b\n10002 /c\n");
        Ok(())
    }

    #[test]
    fn rejected_write_leaves_policy_and_partial_line() -> Result {
        setup();
        let pending = GlobalLockedBy::new(Pending {
            partial: KVVec::new(),
            line: 1,
        });
        apply_text(&pending, b"clear\n20000 /a\n200", false)?;
        assert!(apply_text(&pending, b"01 /b\nbad line here\n", false).is_err());
        // The rejected write changed nothing: the partial "200" is still pending.
        apply_text(&pending, b"02 /c\n", false)?;
        let out = policy::current()
            .map(|s| s.render())
            .transpose()?
            .unwrap_or_default();
        assert_eq!(&out[..], b"20000 /a\n20002 /c\n");
        apply_text(&pending, b"clear\n", true)?;
        assert!(policy::current().is_none());
        Ok(())
    }

    #[test]
    fn overlong_partial_line_is_refused() -> Result {
        setup();
        let pending = GlobalLockedBy::new(Pending::default());
        let mut long = KVVec::new();
        long.resize(MAX_LINE_LEN + 1, b'1', GFP_KERNEL)?;
        assert!(apply_text(&pending, &long, false).is_err());
        Ok(())
    }
}
