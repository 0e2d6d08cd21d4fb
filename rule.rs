// SPDX-License-Identifier: GPL-2.0-only

//! A rule and its parts: the ports it reserves, the protocols it reserves them for and the
//! subject it reserves them for, each with its one canonical spelling, parsed from and
//! rendered to policy text.

use core::{cmp::Ordering, fmt};
use kernel::{alloc::AllocError, prelude::*, sync::Arc};
#[cfg(CONFIG_CGROUPS)]
use kernel::{
    cgroup::Cgroup,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Full, //
        },
        GlobalLockedBy, //
    },
};

use crate::{
    counters::{
        Event,
        RuleCounters, //
    },
    limits::MAX_PATH_LEN,
};

/// The name that reserves a port for in-kernel sockets only.
const KERNEL_NAME: &[u8] = b"<kernel>";

/// What a subject that names a cgroup starts with.
const CGROUP_PREFIX: &[u8] = b"cgroup:";

/// An inclusive range of port numbers.
///
/// # Invariants
///
/// `1 <= low <= high`: port 0 asks the kernel to pick a port and is never reserved.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct PortRange {
    pub(crate) low: u16,
    pub(crate) high: u16,
}

impl PortRange {
    /// Parses `PORT` or `LOW-HIGH`, in canonical decimal: no sign, no leading zero, no 0.
    pub(crate) fn parse(text: &[u8]) -> Option<Self> {
        let (low, high) = match text.iter().position(|&c| c == b'-') {
            Some(dash) => (
                parse_port(text.get(..dash)?)?,
                parse_port(text.get(dash + 1..)?)?,
            ),
            None => {
                let port = parse_port(text)?;
                (port, port)
            }
        };
        if low > high {
            return None;
        }
        // INVARIANT: `parse_port` never returns 0 and `low <= high` was just checked.
        Some(Self { low, high })
    }

    /// The number of ports in the range.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.high - self.low) + 1
    }
}

/// Parses a port number in canonical decimal: 1 to 65535, no sign and no leading zero.
///
/// `010` is refused rather than read as 10 (or as octal 8, as `kstrtou16()` with base 0 would),
/// and `+80` rather than accepted: a policy has one spelling for each port.
fn parse_port(text: &[u8]) -> Option<u16> {
    match text.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u32 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(c - b'0');
        if value > u32::from(u16::MAX) {
            return None;
        }
    }
    u16::try_from(value).ok()
}

/// A transport protocol, as a rule's selector names it: each owns a port space of its own.
///
/// MPTCP and SMC take TCP ports (SMC binds a TCP socket of its own), and RxRPC a UDP port
/// (on a UDP socket of its own).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// Every protocol, in the order rules sort them.
    pub(crate) const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// The selector's spelling, after the `/` of a rule's ports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    fn parse(text: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name().as_bytes() == text)
    }
}

/// The protocols a rule reserves its ports for: one, or with no selector, every one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Selector(pub(crate) Option<Protocol>);

impl Selector {
    /// Returns whether the rule's ports are reserved for `protocol`; `None`, a protocol the
    /// LSM does not know (a kernel client's), is taken as every one.
    pub(crate) fn covers(self, protocol: Option<Protocol>) -> bool {
        match (self.0, protocol) {
            (Some(selected), Some(protocol)) => selected == protocol,
            _ => true,
        }
    }
}

/// Parses a rule's ports and selector: `PORTS` (every protocol) or `PORTS/PROTOCOL`, with
/// `PROTOCOL` one of `tcp`, `udp`, `sctp`.
pub(crate) fn parse_ports(
    text: &[u8],
) -> core::result::Result<(PortRange, Selector), &'static str> {
    let (ports, protocol) = match text.iter().position(|&c| c == b'/') {
        Some(slash) => (
            text.get(..slash).unwrap_or_default(),
            Some(
                Protocol::parse(text.get(slash + 1..).unwrap_or_default())
                    .ok_or("bad protocol: expected tcp, udp or sctp after the /")?,
            ),
        ),
        None => (text, None),
    };
    let ports =
        PortRange::parse(ports).ok_or("bad port: expected 1-65535 or LOW-HIGH in decimal")?;
    Ok((ports, Selector(protocol)))
}

/// Who may bind a reserved port.
#[derive(PartialEq, Eq, Debug)]
pub(crate) enum Subject {
    /// No user-space task: only in-kernel sockets, which bind through `kernel_bind()`.
    Kernel,
    /// The tasks that match every atom, when the bind happens.
    Tasks(Atoms),
}

impl Subject {
    /// Whether the subject is the program at `path`, with no other atom: what the KUnit tests
    /// of several files stand for "the task that executed `path`".
    #[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
    pub(crate) fn is_program_alone(&self, path: &[u8]) -> bool {
        matches!(self, Subject::Tasks(Atoms {
            program: Some(p),
            cgroup: None,
            uid: None,
            gid: None,
        }) if p.as_bytes() == path)
    }
}

/// The atoms of a subject, each at most once; a task must match every atom present.
///
/// Written and rendered in this order, so that each subject has one spelling.
///
/// # Invariants
///
/// At least one atom is present.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct Atoms {
    /// The program executed from this absolute path, as resolved when the bind happens.
    pub(crate) program: Option<AbsolutePath>,
    /// The tasks in the cgroup (v2) at this path from the root of the hierarchy, or in one of
    /// its descendants: `cgroup:PATH`.
    pub(crate) cgroup: Option<CgroupSubject>,
    /// The effective user id, in the initial user namespace: `uid:N`.
    pub(crate) uid: Option<u32>,
    /// The effective group id, in the initial user namespace: `gid:N`.
    pub(crate) gid: Option<u32>,
}

/// What an atom of each kind starts with, in the order atoms are written.
const UID_PREFIX: &[u8] = b"uid:";
const GID_PREFIX: &[u8] = b"gid:";

/// Parses a user or group id in canonical decimal: `0`, or no leading zero; at most
/// 4294967294, since 4294967295 is `(uid_t)-1`, no id.
fn parse_id(text: &[u8]) -> Option<u32> {
    match text {
        [b'0'] => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(c - b'0');
        if value >= u64::from(u32::MAX) {
            return None;
        }
    }
    u32::try_from(value).ok()
}

#[cfg(CONFIG_CGROUPS)]
kernel::sync::global_lock! {
    // SAFETY: `init()` initialises it in the LSM's init, before any rule exists.
    pub(crate) unsafe(uninit) static HELD_CGROUPS: Mutex<()> = ();
}

/// Whether [`init()`] has run.
#[cfg(CONFIG_CGROUPS)]
static INITIALISED: Atomic<bool> = Atomic::new(false);

/// Readies the lock of the cgroups that rules hold, once; later calls do nothing.
///
/// The LSM's init function calls it, and so does [`crate::policy::take_over_for_test`]: the
/// KUnit tests also run where KPortReserve is left out of `lsm=`.
///
/// # Safety
///
/// The first call must not run concurrently with a bind check, as `policy::init()`'s.
pub(crate) unsafe fn init() {
    // ORDERING: Callers are serialised by the contract; `Full` costs nothing at init.
    #[cfg(CONFIG_CGROUPS)]
    if !INITIALISED.xchg(true, Full) {
        // SAFETY: The first call, before any use of the lock, by the function's contract.
        unsafe { HELD_CGROUPS.init() };
    }
}

/// A cgroup rule's subject: the cgroup's path, and the cgroup last found there, held as
/// `xt_cgroup` holds the cgroup of its rule, so that a bind does not walk the hierarchy again
/// while that cgroup lives.
pub(crate) struct CgroupSubject {
    pub(crate) path: AbsolutePath,
    /// The cgroup found at `path` by the last bind that looked, if any (see the identity
    /// module).
    #[cfg(CONFIG_CGROUPS)]
    pub(crate) held: GlobalLockedBy<Option<ARef<Cgroup>>, HELD_CGROUPS>,
}

impl CgroupSubject {
    fn new(path: AbsolutePath) -> Self {
        Self {
            path,
            #[cfg(CONFIG_CGROUPS)]
            held: GlobalLockedBy::new(None),
        }
    }
}

/// Two cgroup subjects are the same if they name the same path, whatever either holds.
impl PartialEq for CgroupSubject {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for CgroupSubject {}

impl fmt::Debug for CgroupSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CgroupSubject").field(&self.path).finish()
    }
}

impl Subject {
    /// Parses a subject from the words after a rule's ports: `<kernel>` alone, or atoms in
    /// their order, `PROGRAM cgroup:PATH uid:N gid:N`, each optional but at least one.
    pub(crate) fn parse<'a>(
        mut words: impl Iterator<Item = &'a [u8]>,
    ) -> core::result::Result<Self, &'static str> {
        let first = words
            .next()
            .ok_or("missing subject: PROGRAM, cgroup:PATH, uid:N, gid:N or <kernel>")?;
        if first == KERNEL_NAME {
            return match words.next() {
                None => Ok(Subject::Kernel),
                Some(_) => Err("<kernel> takes no other atom"),
            };
        }
        let mut atoms = Atoms {
            program: None,
            cgroup: None,
            uid: None,
            gid: None,
        };
        // The rank of the last atom read: each must come after it.
        let mut last = None;
        for word in Iterator::chain(core::iter::once(first), words) {
            let rank = if word.first() == Some(&b'/') {
                atoms.program = Some(AbsolutePath::parse(word)?);
                0
            } else if let Some(path) = word.strip_prefix(CGROUP_PREFIX) {
                if !cfg!(CONFIG_CGROUPS) {
                    return Err("cgroup rules need a kernel built with CONFIG_CGROUPS");
                }
                if path.first() != Some(&b'/') {
                    return Err("cgroup must be an absolute path from the root of the hierarchy");
                }
                atoms.cgroup = Some(CgroupSubject::new(AbsolutePath::parse(path)?));
                1
            } else if let Some(id) = word.strip_prefix(UID_PREFIX) {
                atoms.uid = Some(parse_id(id).ok_or("bad uid: expected 0-4294967294 in decimal")?);
                2
            } else if let Some(id) = word.strip_prefix(GID_PREFIX) {
                atoms.gid = Some(parse_id(id).ok_or("bad gid: expected 0-4294967294 in decimal")?);
                3
            } else if word == KERNEL_NAME {
                return Err("<kernel> takes no other atom");
            } else {
                return Err(
                    "bad atom: expected an absolute PROGRAM path, cgroup:PATH, uid:N or gid:N \
                     (escape spaces in paths as \\040)",
                );
            };
            if last.is_some_and(|last| rank <= last) {
                return Err(
                    "atoms repeated or out of order: write PROGRAM cgroup:PATH uid:N gid:N",
                );
            }
            last = Some(rank);
        }
        // INVARIANT: the loop read at least `first`, and each word read set an atom.
        Ok(Subject::Tasks(atoms))
    }

    /// Orders `<kernel>` first, then the atoms in their order, each by its value, a subject
    /// with an atom before one without it (so that programs come before cgroups, as paths).
    pub(crate) fn cmp(&self, other: &Self) -> Ordering {
        /// Present before absent, then by `cmp`.
        fn by<T>(a: &Option<T>, b: &Option<T>, cmp: impl Fn(&T, &T) -> Ordering) -> Ordering {
            match (a, b) {
                (Some(a), Some(b)) => cmp(a, b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        match (self, other) {
            (Subject::Kernel, Subject::Kernel) => Ordering::Equal,
            (Subject::Kernel, Subject::Tasks(_)) => Ordering::Less,
            (Subject::Tasks(_), Subject::Kernel) => Ordering::Greater,
            (Subject::Tasks(a), Subject::Tasks(b)) => by(&a.program, &b.program, |a, b| {
                a.as_bytes().cmp(b.as_bytes())
            })
            .then_with(|| {
                by(&a.cgroup, &b.cgroup, |a, b| {
                    a.path.as_bytes().cmp(b.path.as_bytes())
                })
            })
            .then_with(|| by(&a.uid, &b.uid, Ord::cmp))
            .then_with(|| by(&a.gid, &b.gid, Ord::cmp)),
        }
    }

    pub(crate) fn render(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        let atoms = match self {
            Subject::Kernel => return out.extend_from_slice(KERNEL_NAME, GFP_KERNEL),
            Subject::Tasks(atoms) => atoms,
        };
        // Atoms are separated by one space.
        let mut first = true;
        let mut separate = |out: &mut KVVec<u8>| {
            if core::mem::take(&mut first) {
                Ok(())
            } else {
                out.push(b' ', GFP_KERNEL)
            }
        };
        if let Some(path) = &atoms.program {
            separate(out)?;
            path.render(out)?;
        }
        if let Some(cgroup) = &atoms.cgroup {
            separate(out)?;
            out.extend_from_slice(CGROUP_PREFIX, GFP_KERNEL)?;
            cgroup.path.render(out)?;
        }
        let mut digits = [0u8; 12];
        for (prefix, id) in [(UID_PREFIX, atoms.uid), (GID_PREFIX, atoms.gid)] {
            if let Some(id) = id {
                separate(out)?;
                out.extend_from_slice(prefix, GFP_KERNEL)?;
                out.extend_from_slice(format_decimal(id, &mut digits), GFP_KERNEL)?;
            }
        }
        Ok(())
    }
}

/// An absolute, normalised path (of a program, or of a cgroup from the root of the hierarchy),
/// stored NUL-terminated for the VFS and cgroup lookups.
///
/// # Invariants
///
/// `bytes` ends with its only NUL; before it is an absolute path of 1 to [`MAX_PATH_LEN`]
/// bytes with no empty, `.` or `..` component.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct AbsolutePath {
    bytes: KVec<u8>,
}

impl AbsolutePath {
    /// Unescapes and validates a path written in the policy.
    ///
    /// `\\` is a backslash and `\ooo` (three octal digits) is a byte that must be escaped:
    /// a space or other byte up to 0x20, or a byte from 0x7f up. Other escapes, and escapes
    /// of bytes that need none, are refused so that each path has exactly one spelling.
    pub(crate) fn parse(text: &[u8]) -> core::result::Result<Self, &'static str> {
        if text.first() != Some(&b'/') {
            return Err("path must be absolute");
        }
        let mut bytes =
            KVec::with_capacity(text.len() + 1, GFP_KERNEL_ACCOUNT).map_err(|_| "out of memory")?;
        let mut rest = text;
        while let Some((&c, tail)) = rest.split_first() {
            rest = tail;
            let byte = if c != b'\\' {
                if needs_escape(c) {
                    return Err("unescaped control character in path");
                }
                c
            } else if let Some((b'\\', tail)) = rest.split_first() {
                rest = tail;
                b'\\'
            } else {
                let byte = match rest {
                    [a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7', ..] => {
                        (a - b'0') << 6 | (b - b'0') << 3 | (c - b'0')
                    }
                    _ => return Err("bad escape in path: use \\\\ or \\ooo"),
                };
                rest = rest.get(3..).unwrap_or_default();
                if byte == 0 {
                    return Err("NUL byte in path");
                }
                if !needs_escape(byte) {
                    return Err("needless escape in path");
                }
                byte
            };
            // The capacity covers the whole text, so this never allocates.
            bytes
                .push(byte, GFP_KERNEL_ACCOUNT)
                .map_err(|_| "out of memory")?;
        }
        if bytes.len() > MAX_PATH_LEN {
            return Err("path too long");
        }
        for component in bytes.split(|&c| c == b'/').skip(1) {
            match component {
                b"" => return Err("empty path component (// or trailing /)"),
                b"." | b".." => return Err("path must not contain . or .. components"),
                _ => {}
            }
        }
        bytes
            .push(0, GFP_KERNEL_ACCOUNT)
            .map_err(|_| "out of memory")?;
        // INVARIANT: absolute, no NUL inside (a literal NUL needs an escape, refused above),
        // length checked, components checked, NUL appended.
        Ok(Self { bytes })
    }

    /// The path without its NUL.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.split_last().map_or(&[][..], |(_, path)| path)
    }

    /// The path as a C string, for path lookup.
    pub(crate) fn as_cstr(&self) -> &CStr {
        // SAFETY: By the type invariant, `bytes` ends with its only NUL.
        unsafe { CStr::from_bytes_with_nul_unchecked(&self.bytes) }
    }

    pub(crate) fn render(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        for &c in self.as_bytes() {
            if c == b'\\' {
                out.extend_from_slice(b"\\\\", GFP_KERNEL)?;
            } else if needs_escape(c) {
                let octal = [
                    b'\\',
                    b'0' + (c >> 6),
                    b'0' + ((c >> 3) & 7),
                    b'0' + (c & 7),
                ];
                out.extend_from_slice(&octal, GFP_KERNEL)?;
            } else {
                out.push(c, GFP_KERNEL)?;
            }
        }
        Ok(())
    }
}

/// Returns whether `c` is written as `\ooo` in the policy text: whitespace, controls, non-ASCII.
fn needs_escape(c: u8) -> bool {
    c <= b' ' || c >= 0x7f
}

/// One rule: the ports it reserves, for which protocols, and the subject (the kernel, or the
/// tasks that match its atoms) it reserves them for.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub(crate) ports: PortRange,
    /// The protocols the ports are reserved for.
    pub(crate) selector: Selector,
    pub(crate) subject: Arc<Subject>,
    /// Set when the rule enters the policy in force, and kept while it stays; `None` in a
    /// parsed line. Not part of the rule's identity.
    pub(crate) counters: Option<RuleCounters>,
}

impl Rule {
    /// Counts `event` for the rule, if it is in force.
    pub(crate) fn count(&self, event: Event) {
        if let Some(counters) = &self.counters {
            counters.count(event);
        }
    }

    pub(crate) fn cmp(&self, other: &Self) -> Ordering {
        self.ports
            .cmp(&other.ports)
            .then(self.selector.cmp(&other.selector))
            .then_with(|| self.subject.cmp(&other.subject))
    }

    /// Writes the rule as one canonical policy line.
    pub(crate) fn render(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        let mut digits = [0u8; 12];
        out.extend_from_slice(format_port(self.ports.low, &mut digits), GFP_KERNEL)?;
        if self.ports.high != self.ports.low {
            out.push(b'-', GFP_KERNEL)?;
            out.extend_from_slice(format_port(self.ports.high, &mut digits), GFP_KERNEL)?;
        }
        if let Selector(Some(protocol)) = self.selector {
            out.push(b'/', GFP_KERNEL)?;
            out.extend_from_slice(protocol.name().as_bytes(), GFP_KERNEL)?;
        }
        out.push(b' ', GFP_KERNEL)?;
        self.subject.render(out)?;
        out.push(b'\n', GFP_KERNEL)
    }

    /// Renders the rule as [`Self::render`] does, followed on its line by its counts, as the
    /// `counters` file shows it.
    pub(crate) fn render_counted(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        self.render(out)?;
        // The rule's line without its newline, then the counts.
        out.pop();
        if let Some(counters) = &self.counters {
            counters.render(out)?;
        }
        out.push(b'\n', GFP_KERNEL)
    }
}

/// Formats `port` in decimal into `buf`, returning the digits.
pub(crate) fn format_port(port: u16, buf: &mut [u8; 12]) -> &[u8] {
    format_decimal(port.into(), buf)
}

/// Formats `value` in decimal into `buf`, returning the digits.
fn format_decimal(mut value: u32, buf: &mut [u8; 12]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &buf[start..]
}
