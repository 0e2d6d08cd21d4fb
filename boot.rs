// SPDX-License-Identifier: GPL-2.0-only

//! The policy in force before user space runs: the built-in policy file
//! (`CONFIG_SECURITY_KPORTRESERVE_BOOT_POLICY`), then the kernel parameters
//! `kportreserve.policy=`, `kportreserve.mode=` and `kportreserve.lock=`, applied at init.
//!
//! The built-in policy is a policy file; the command line's is written as the policy file
//! is, with `;` for a newline (a kernel parameter holds none) and `\073` for a `;` inside a
//! path. Each is one transaction: one that is refused is logged with its line and reason
//! and applies nothing, and the kernel boots either way. Paths are resolved at bind time, so
//! no file system is needed here.

use kernel::{prelude::*, sync::GlobalGuard};

use crate::{
    grammar::{
        self,
        Op,
        Rejection, //
    },
    policy::{
        self,
        WRITER, //
    },
};

/// The built-in policy: the file `CONFIG_SECURITY_KPORTRESERVE_BOOT_POLICY` names, as the
/// Makefile copies it into the build tree (empty without one).
const BUILT_IN: &[u8] = include_bytes!(env!("KPORTRESERVE_BOOT_POLICY_FILE"));

kernel::builtin_param! {
    /// Policy lines separated by `;`, applied after the built-in policy.
    static POLICY: Option<&'static CStr> = None, c"kportreserve.policy";
}

kernel::builtin_param! {
    /// `enforcing` (the default) or `permissive`.
    static MODE: Option<&'static CStr> = None, c"kportreserve.mode";
}

kernel::builtin_param! {
    /// Locks the policy and the mode until reboot, once the boot policies are applied.
    static LOCK: bool = false, c"kportreserve.lock";
}

/// Applies the built-in policy, the boot mode, the command line's policy and the lock, in
/// that order, so that a built-in policy that locks cannot be changed from the command line;
/// called by the LSM's init, after [`policy::init()`].
pub(crate) fn init() {
    let mut writer = WRITER.lock();
    apply(
        &mut writer,
        "CONFIG_SECURITY_KPORTRESERVE_BOOT_POLICY",
        BUILT_IN,
        false,
    );
    match MODE.value().map(CStr::to_bytes) {
        None | Some(b"enforcing") => {}
        Some(b"permissive") => match policy::set_permissive(&mut writer, true) {
            Ok(()) => pr_notice!("permissive mode, from kportreserve.mode=\n"),
            Err(_) => pr_err!("kportreserve.mode=: the built-in policy is locked: enforcing\n"),
        },
        Some(_) => pr_err!("kportreserve.mode= must be enforcing or permissive: enforcing\n"),
    }
    if let Some(text) = POLICY.value() {
        apply(&mut writer, "kportreserve.policy=", text.to_bytes(), true);
    }
    if LOCK.value() {
        // Even after a refused boot policy: the administrator asked that nothing change
        // until reboot, and a policy left open to writes would not be what was asked.
        match policy::update(&mut writer, &[(1, Op::Lock)]) {
            Ok(_) => pr_notice!("policy and mode locked until reboot, by kportreserve.lock=\n"),
            Err(rejection) => pr_err!("kportreserve.lock=: {}\n", rejection.reason),
        }
    }
}

/// Applies one boot policy as one transaction, and logs the outcome; `source` names it, and
/// `semicolons` tells whether `;` ends its lines (the command line's) or newlines do (a file).
fn apply(writer: &mut GlobalGuard<WRITER>, source: &str, text: &[u8], semicolons: bool) {
    if text
        .iter()
        .all(|&c| matches!(c, b' ' | b'\t' | b'\n') || (semicolons && c == b';'))
    {
        return;
    }
    let applied = if semicolons {
        to_lines(text).and_then(|lines| apply_text(writer, &lines))
    } else {
        apply_text(writer, text)
    };
    match applied {
        Ok(()) => pr_info!(
            "{}: applied, rules in force: {}\n",
            source,
            policy::current().map_or(0, |snapshot| snapshot.rules().len())
        ),
        Err(rejection) if rejection.line == 0 => pr_err!(
            "{}: refused, nothing applied: {}\n",
            source,
            rejection.reason
        ),
        Err(rejection) => pr_err!(
            "{}: refused, nothing applied: line {}: {}\n",
            source,
            rejection.line,
            rejection.reason
        ),
    }
}

/// Applies policy file text as one transaction, all or nothing.
fn apply_text(writer: &mut GlobalGuard<WRITER>, text: &[u8]) -> Result<(), Rejection> {
    let lines = grammar::parse(text, 1)?;
    // Dropping the old snapshot waits for a grace period, with the lock held: at init, before
    // the scheduler runs, `synchronize_rcu()` returns at once.
    drop(policy::update(writer, &lines)?);
    Ok(())
}

/// Turns boot policy text into policy file text: `;` ends a line and `\073` is a `;`; every
/// other byte, `\\` and the other escapes included, is kept as it is.
fn to_lines(text: &[u8]) -> Result<KVVec<u8>, Rejection> {
    let mut lines = KVVec::with_capacity(text.len(), GFP_KERNEL)?;
    let mut rest = text;
    while let Some((&c, tail)) = rest.split_first() {
        let (out, tail): (&[u8], &[u8]) = match (c, tail) {
            (b';', _) => (b"\n", tail),
            (b'\\', [b'0', b'7', b'3', tail @ ..]) => (b";", tail),
            // An escaped backslash: what follows it is not an escape.
            (b'\\', [b'\\', tail @ ..]) => (b"\\\\", tail),
            _ => (rest.get(..1).unwrap_or_default(), tail),
        };
        lines.extend_from_slice(out, GFP_KERNEL)?;
        rest = tail;
    }
    Ok(lines)
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_boot)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Result<KVVec<u8>> {
        to_lines(text.as_bytes()).map_err(|r| r.error)
    }

    fn rendered() -> Result<KVVec<u8>> {
        Ok(policy::current()
            .map(|s| s.render())
            .transpose()?
            .unwrap_or_default())
    }

    #[test]
    fn semicolons_end_lines_and_escapes_are_kept() -> Result {
        assert_eq!(&lines("1 /a;2 <kernel>")?[..], b"1 /a\n2 <kernel>");
        assert_eq!(&lines("1 /a\\073b;")?[..], b"1 /a;b\n");
        assert_eq!(&lines("1 /a\\040b")?[..], b"1 /a\\040b");
        // `\\073` is an escaped backslash, then "073".
        assert_eq!(&lines("1 /a\\\\073")?[..], b"1 /a\\\\073");
        assert_eq!(&lines("1 /a\\")?[..], b"1 /a\\");
        assert_eq!(&lines("")?[..], b"");
        Ok(())
    }

    #[test]
    fn boot_policy_applies_as_one_transaction() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let mut writer = WRITER.lock();
        let command_line = lines("clear;# a comment;41000 /a\\073b;41001-41002 <kernel>")?;
        apply_text(&mut writer, &command_line).map_err(|r| r.error)?;
        let good = rendered()?;
        // Line 3 is refused: nothing of the text applies.
        let refused = apply_text(&mut writer, b"clear\n41003 /c\n41004 c\n").err();
        let after = rendered()?;
        drop(writer);
        assert_eq!(&good[..], b"41000 /a;b\n41001-41002 <kernel>\n");
        assert_eq!(refused.map(|r| (r.line, r.error)), Some((3, EINVAL)));
        assert_eq!(&after[..], &good[..]);
        Ok(())
    }
}
