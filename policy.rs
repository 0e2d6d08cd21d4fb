// SPDX-License-Identifier: GPL-2.0-only

//! The reservation policy: its grammar, its canonical text and the port table in force.
//!
//! The writer side parses text into [`Op`]s, applies a whole batch of them to the rules in
//! force to build a new immutable [`Snapshot`], and publishes it with one pointer store.
//! The reader side (the bind hooks, and the question automatic port selection asks) looks the
//! snapshot up under RCU without taking a lock or allocating: a port that no rule names costs
//! one bit test.

use core::{
    cmp::Ordering,
    ptr, //
};
use kernel::{
    alloc::AllocError,
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

/// Most rules a policy may hold.
pub(crate) const MAX_RULES: usize = 65536;

/// Most (port, rule) pairs the port index may hold: a range counts once per port it covers.
pub(crate) const MAX_PORT_ENTRIES: usize = 1 << 20;

/// Longest program path in bytes, unescaped and without its NUL (`PATH_MAX - 1`).
pub(crate) const MAX_PATH_LEN: usize = 4095;

/// Longest policy line in bytes: "delete", a range and a path with every byte escaped.
pub(crate) const MAX_LINE_LEN: usize = 4 * MAX_PATH_LEN + 32;

/// The name that reserves a port for in-kernel sockets only.
const KERNEL_NAME: &[u8] = b"<kernel>";

/// Why the writer side refused a batch of policy text.
#[derive(Debug)]
pub(crate) struct Rejection {
    /// The 1-based line that was refused, or 0 when the batch as a whole was.
    pub(crate) line: usize,
    /// What an administrator needs to fix, for the log.
    pub(crate) reason: &'static str,
    /// The errno returned to `write(2)`.
    pub(crate) error: Error,
}

impl Rejection {
    fn invalid(line: usize, reason: &'static str) -> Self {
        Self {
            line,
            reason,
            error: EINVAL,
        }
    }

    fn out_of_memory() -> Self {
        Self {
            line: 0,
            reason: "out of memory",
            error: ENOMEM,
        }
    }
}

impl From<AllocError> for Rejection {
    fn from(_: AllocError) -> Self {
        Self::out_of_memory()
    }
}

/// An inclusive range of port numbers.
///
/// # Invariants
///
/// `1 <= low <= high`: port 0 asks the kernel to pick a port and is never reserved.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct PortRange {
    low: u16,
    high: u16,
}

impl PortRange {
    /// Parses `PORT` or `LOW-HIGH`, in canonical decimal: no sign, no leading zero, no 0.
    fn parse(text: &[u8]) -> Option<Self> {
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
    fn len(&self) -> usize {
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

/// Who may bind a reserved port.
#[derive(PartialEq, Eq, Debug)]
pub(crate) enum Program {
    /// No user-space program: only in-kernel sockets, which bind through `kernel_bind()`.
    Kernel,
    /// The program executed from this absolute path, as resolved when the bind happens.
    Path(ProgramPath),
}

impl Program {
    /// Parses `<kernel>` or an escaped absolute path.
    fn parse(text: &[u8]) -> core::result::Result<Self, &'static str> {
        if text == KERNEL_NAME {
            return Ok(Program::Kernel);
        }
        ProgramPath::parse(text).map(Program::Path)
    }

    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Program::Kernel, Program::Kernel) => Ordering::Equal,
            (Program::Kernel, Program::Path(_)) => Ordering::Less,
            (Program::Path(_), Program::Kernel) => Ordering::Greater,
            (Program::Path(a), Program::Path(b)) => a.as_bytes().cmp(b.as_bytes()),
        }
    }

    fn render(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        match self {
            Program::Kernel => out.extend_from_slice(KERNEL_NAME, GFP_KERNEL),
            Program::Path(path) => path.render(out),
        }
    }
}

/// An absolute, normalised path to a program, stored NUL-terminated for the VFS.
///
/// # Invariants
///
/// `bytes` ends with its only NUL; before it is an absolute path of 1 to [`MAX_PATH_LEN`]
/// bytes with no empty, `.` or `..` component.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct ProgramPath {
    bytes: KVec<u8>,
}

impl ProgramPath {
    /// Unescapes and validates a path written in the policy.
    ///
    /// `\\` is a backslash and `\ooo` (three octal digits) is a byte that must be escaped:
    /// a space or other byte up to 0x20, or a byte from 0x7f up. Other escapes, and escapes
    /// of bytes that need none, are refused so that each path has exactly one spelling.
    fn parse(text: &[u8]) -> core::result::Result<Self, &'static str> {
        if text.first() != Some(&b'/') {
            return Err("program must be an absolute path or <kernel>");
        }
        let mut bytes =
            KVec::with_capacity(text.len() + 1, GFP_KERNEL).map_err(|_| "out of memory")?;
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
            bytes.push(byte, GFP_KERNEL).map_err(|_| "out of memory")?;
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
        bytes.push(0, GFP_KERNEL).map_err(|_| "out of memory")?;
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

    fn render(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
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

/// One rule: the ports it reserves and the program it reserves them for.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    ports: PortRange,
    program: Arc<Program>,
}

impl Rule {
    fn cmp(&self, other: &Self) -> Ordering {
        self.ports
            .cmp(&other.ports)
            .then_with(|| self.program.cmp(&other.program))
    }

    /// Writes the rule as one canonical policy line.
    fn render(&self, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        let mut digits = [0u8; 12];
        out.extend_from_slice(format_port(self.ports.low, &mut digits), GFP_KERNEL)?;
        if self.ports.high != self.ports.low {
            out.push(b'-', GFP_KERNEL)?;
            out.extend_from_slice(format_port(self.ports.high, &mut digits), GFP_KERNEL)?;
        }
        out.push(b' ', GFP_KERNEL)?;
        self.program.render(out)?;
        out.push(b'\n', GFP_KERNEL)
    }
}

/// Formats `port` in decimal into `buf`, returning the digits.
fn format_port(mut port: u16, buf: &mut [u8; 12]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (port % 10) as u8;
        port /= 10;
        if port == 0 {
            break;
        }
    }
    &buf[start..]
}

/// One parsed policy line.
#[derive(Debug)]
pub(crate) enum Op {
    /// `PORT PROGRAM`: adds a rule; adding a rule already in force changes nothing.
    Add(Rule),
    /// `delete PORT PROGRAM`: removes a rule; deleting a rule not in force is an error.
    Delete(Rule),
    /// `clear`: removes every rule.
    Clear,
}

/// A parsed policy line and its 1-based line number.
pub(crate) type Line = (usize, Op);

/// Parses policy text made of complete lines; line numbers start at `first_line`.
///
/// Blank lines and lines starting with `#` are skipped. Nothing is applied: the result is
/// handed to [`apply`] as one transaction.
pub(crate) fn parse(text: &[u8], first_line: usize) -> Result<KVVec<Line>, Rejection> {
    let mut lines = KVVec::new();
    for (number, line) in (first_line..).zip(text.split(|&c| c == b'\n')) {
        if let Some(op) = parse_line(line).map_err(|reason| Rejection::invalid(number, reason))? {
            lines.push((number, op), GFP_KERNEL)?;
        }
    }
    Ok(lines)
}

/// Parses one line, without its newline; `None` for a blank line or a comment.
fn parse_line(line: &[u8]) -> core::result::Result<Option<Op>, &'static str> {
    if line.len() > MAX_LINE_LEN {
        return Err("line too long");
    }
    let mut words = line
        .split(|&c| c == b' ' || c == b'\t')
        .filter(|word| !word.is_empty());
    let first = match words.next() {
        None => return Ok(None),
        Some(word) if word.first() == Some(&b'#') => return Ok(None),
        Some(word) => word,
    };
    let (delete, ports) = match first {
        b"clear" => {
            return match words.next() {
                None => Ok(Some(Op::Clear)),
                Some(_) => Err("clear takes no argument"),
            }
        }
        b"delete" => (true, words.next().ok_or("delete needs PORT PROGRAM")?),
        ports => (false, ports),
    };
    let ports =
        PortRange::parse(ports).ok_or("bad port: expected 1-65535 or LOW-HIGH in decimal")?;
    let program = Program::parse(words.next().ok_or("missing program")?)?;
    if words.next().is_some() {
        return Err("trailing text after program (escape spaces as \\040)");
    }
    let rule = Rule {
        ports,
        program: Arc::new(program, GFP_KERNEL).map_err(|_| "out of memory")?,
    };
    Ok(Some(if delete {
        Op::Delete(rule)
    } else {
        Op::Add(rule)
    }))
}

/// One entry of the port index: `rule` is an index into [`Snapshot::rules`].
#[derive(Clone, Copy)]
struct PortEntry {
    port: u16,
    rule: u32,
}

/// Number of 64-bit words in a bitmap with one bit per port.
const BITMAP_WORDS: usize = 65536 / 64;

/// An immutable policy: the rules in force and the index the bind hook looks them up in.
///
/// # Invariants
///
/// - `rules` is sorted by [`Rule::cmp`] without duplicates and has at most [`MAX_RULES`]
///   entries.
/// - `index` holds one entry per port of each rule, sorted by port then rule.
/// - `reserved` has [`BITMAP_WORDS`] words, and the bit of a port is set iff some rule
///   covers it.
pub(crate) struct Snapshot {
    reserved: KVec<u64>,
    rules: KVVec<Rule>,
    index: KVVec<PortEntry>,
}

impl Snapshot {
    /// Builds the snapshot of `rules`, which must be sorted and free of duplicates.
    fn new(rules: KVVec<Rule>) -> Result<Self, Rejection> {
        if rules.len() > MAX_RULES {
            return Err(Rejection {
                line: 0,
                reason: "too many rules",
                error: E2BIG,
            });
        }
        let entries = rules.iter().map(|rule| rule.ports.len()).sum::<usize>();
        if entries > MAX_PORT_ENTRIES {
            return Err(Rejection {
                line: 0,
                reason: "the ranges cover too many ports",
                error: E2BIG,
            });
        }
        let mut reserved = KVec::from_elem(0u64, BITMAP_WORDS, GFP_KERNEL)?;
        let mut index = KVVec::with_capacity(entries, GFP_KERNEL)?;
        for (i, rule) in rules.iter().enumerate() {
            for port in rule.ports.low..=rule.ports.high {
                if let Some(word) = reserved.get_mut(usize::from(port) / 64) {
                    *word |= 1 << (port % 64);
                }
                // `i < MAX_RULES` fits in a `u32`; the capacity covers every entry.
                index.push(
                    PortEntry {
                        port,
                        rule: i as u32,
                    },
                    GFP_KERNEL,
                )?;
            }
        }
        index.sort_unstable_by(|a, b| a.port.cmp(&b.port).then(a.rule.cmp(&b.rule)));
        // INVARIANT: `rules` is sorted and unique by the caller's contract and its length was
        // checked; `index` and `reserved` were both built from every port of every rule.
        Ok(Self {
            reserved,
            rules,
            index,
        })
    }

    /// Returns whether some rule reserves `port`: the fast path of every bind.
    pub(crate) fn is_reserved(&self, port: u16) -> bool {
        self.reserved
            .get(usize::from(port) / 64)
            .is_some_and(|word| word & (1 << (port % 64)) != 0)
    }

    /// The programs that may bind `port`, in rule order; none when it is not reserved.
    pub(crate) fn programs_for(&self, port: u16) -> impl Iterator<Item = &Program> {
        let start = self.index.partition_point(|entry| entry.port < port);
        self.index
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |entry| entry.port == port)
            .filter_map(|entry| self.rules.get(entry.rule as usize))
            .map(|rule| &*rule.program)
    }

    /// Decides a bind of `port` by a task that `is_program` recognises.
    ///
    /// `is_program` is called only for a reserved port, once per program path of its rules
    /// until one matches. `<kernel>` matches no task: in-kernel sockets never get here.
    pub(crate) fn may_bind(
        &self,
        port: u16,
        mut is_program: impl FnMut(&ProgramPath) -> bool,
    ) -> bool {
        if !self.is_reserved(port) {
            return true;
        }
        self.programs_for(port).any(|program| match program {
            Program::Kernel => false,
            Program::Path(path) => is_program(path),
        })
    }

    /// The rules in force, sorted.
    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Renders the policy in the grammar [`parse`] accepts, one sorted rule per line.
    pub(crate) fn render(&self) -> Result<KVVec<u8>, AllocError> {
        let mut out = KVVec::new();
        for rule in self.rules.iter() {
            rule.render(&mut out)?;
        }
        Ok(out)
    }
}

/// Applies a batch of parsed lines to `rules` in order, as one transaction.
///
/// Either every line applies and the new snapshot is returned, or the first failing line
/// is reported and nothing changes. A rule is in the result if the last line about it (or
/// the old policy, for a rule no line names) adds it and no `clear` comes after that line.
pub(crate) fn apply(rules: &[Rule], lines: &[Line]) -> Result<Snapshot, Rejection> {
    /// Something that happened to one rule: `seq` 0 is the old policy, then line numbers.
    struct Event<'a> {
        rule: &'a Rule,
        seq: usize,
        add: bool,
    }

    let mut events = KVVec::with_capacity(rules.len() + lines.len(), GFP_KERNEL)?;
    let mut clears = KVVec::new();
    for rule in rules {
        events.push(
            Event {
                rule,
                seq: 0,
                add: true,
            },
            GFP_KERNEL,
        )?;
    }
    for (number, op) in lines {
        match op {
            Op::Add(rule) => events.push(
                Event {
                    rule,
                    seq: *number,
                    add: true,
                },
                GFP_KERNEL,
            )?,
            Op::Delete(rule) => events.push(
                Event {
                    rule,
                    seq: *number,
                    add: false,
                },
                GFP_KERNEL,
            )?,
            Op::Clear => clears.push(*number, GFP_KERNEL)?,
        }
    }
    // Line numbers grow through the batch, so `clears` is sorted already; sorting events by
    // rule then line replays each rule's own history in order.
    events.sort_unstable_by(|a, b| a.rule.cmp(b.rule).then(a.seq.cmp(&b.seq)));
    let cleared_between = |after: usize, before: usize| {
        clears.partition_point(|&c| c <= after) < clears.partition_point(|&c| c < before)
    };

    let mut result = KVVec::new();
    let mut first_error: Option<usize> = None;
    let mut group = &events[..];
    while let Some(head) = group.first() {
        let len = group
            .iter()
            .position(|e| e.rule.cmp(head.rule) != Ordering::Equal)
            .unwrap_or(group.len());
        let (this, rest) = group.split_at(len);
        group = rest;
        let mut present = false;
        let mut last = 0;
        for event in this {
            if cleared_between(last, event.seq) {
                present = false;
            }
            if !event.add && !present && first_error.is_none_or(|line| event.seq < line) {
                first_error = Some(event.seq);
            }
            present = event.add;
            last = event.seq;
        }
        if present && !cleared_between(last, usize::MAX) {
            result.push(head.rule.clone(), GFP_KERNEL)?;
        }
    }
    if let Some(line) = first_error {
        return Err(Rejection::invalid(
            line,
            "delete of a rule that is not in force",
        ));
    }
    share_programs(&mut result)?;
    Snapshot::new(result)
}

/// Makes rules that name the same program share one allocation of it.
///
/// Each parsed line allocates its own program; a policy reserving many ports for one
/// program then keeps a single copy of its path.
fn share_programs(rules: &mut [Rule]) -> Result<(), AllocError> {
    let mut order = KVVec::with_capacity(rules.len(), GFP_KERNEL)?;
    for i in 0..rules.len() {
        order.push(i, GFP_KERNEL)?;
    }
    order.sort_unstable_by(|&a, &b| rules[a].program.cmp(&rules[b].program));
    let mut first: Option<usize> = None;
    for &i in order.iter() {
        match first {
            Some(f) if rules[f].program.cmp(&rules[i].program) == Ordering::Equal => {
                let shared = rules[f].program.clone();
                rules[i].program = shared;
            }
            _ => first = Some(i),
        }
    }
    Ok(())
}

kernel::sync::global_lock! {
    // SAFETY: Initialised by `init()`, from the LSM's init function, before any hook or
    // securityfs file can run.
    pub(crate) unsafe(uninit) static WRITER: Mutex<()> = ();
}

/// The snapshot in force, or null when the policy is empty.
///
/// # Invariants
///
/// A non-null value comes from [`Arc::into_raw`] and owns one reference. It is replaced
/// only under [`WRITER`], and the replaced reference is dropped only after an RCU grace
/// period, so a reader holding the RCU read lock can always take a new reference.
static ACTIVE: Atomic<*const Snapshot> = Atomic::new(ptr::null());

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

/// Decides a bind of `port`; `is_program` tells whether the caller is a given program.
///
/// Lock-free: a bind to an unreserved port costs an RCU read lock and one bit test, and
/// one load when the policy is empty. For a reserved port, a reference to the snapshot is
/// taken and the RCU read lock dropped before `is_program` runs, so it may sleep.
pub(crate) fn may_bind(port: u16, is_program: impl FnMut(&ProgramPath) -> bool) -> bool {
    // An empty policy, the state of most systems, costs one load and not even an RCU read
    // lock.
    if is_empty() {
        return true;
    }
    let guard = rcu::read_lock();
    let snapshot: Arc<Snapshot> = match active(&guard) {
        Some(snapshot) if snapshot.is_reserved(port) => snapshot.into(),
        _ => return true,
    };
    drop(guard);
    snapshot.may_bind(port, is_program)
}

/// Returns whether no rule is in force: one load, for the hooks to return at once.
pub(crate) fn is_empty() -> bool {
    // ORDERING: Only compared with null, never dereferenced.
    ACTIVE.load(Relaxed).is_null()
}

/// Returns whether some rule in force reserves `port`.
///
/// The question automatic port selection asks of every candidate: lock-free, allocation-free
/// and safe in atomic context (UDP asks it under `spin_lock_bh()`). One load when the policy
/// is empty, else one bit test under the RCU read lock.
pub(crate) fn is_reserved(port: u16) -> bool {
    if is_empty() {
        return false;
    }
    let guard = rcu::read_lock();
    active(&guard).is_some_and(|snapshot| snapshot.is_reserved(port))
}

/// Returns a reference to the snapshot in force, or `None` when the policy is empty.
pub(crate) fn current() -> Option<Arc<Snapshot>> {
    let guard = rcu::read_lock();
    active(&guard).map(Into::into)
}

/// Borrows the snapshot in force for as long as `_guard` holds the RCU read lock.
fn active(_guard: &rcu::Guard) -> Option<ArcBorrow<'_, Snapshot>> {
    // ORDERING: Pairs with the `Full` exchange in `update()`, like rcu_dereference().
    let active = ACTIVE.load(Acquire);
    if active.is_null() {
        return None;
    }
    // SAFETY: `active` is non-null, so by the invariant of `ACTIVE` it came from
    // `Arc::into_raw`, and it cannot be released before `_guard` drops the RCU read lock,
    // which the returned borrow cannot outlive.
    Some(unsafe { ArcBorrow::from_raw(active) })
}

/// Applies a batch of parsed lines to the policy in force, all or nothing.
///
/// The caller holds [`WRITER`]. On success the new snapshot is published; the old one is
/// released after an RCU grace period, once the caller has dropped the lock.
pub(crate) fn update(
    _writer: &mut kernel::sync::GlobalGuard<WRITER>,
    lines: &[Line],
) -> Result<Retired, Rejection> {
    // ORDERING: Only writers store `ACTIVE`, and they hold `WRITER`, which `_writer` proves.
    let active = ACTIVE.load(Relaxed);
    let rules = if active.is_null() {
        &[][..]
    } else {
        // SAFETY: Non-null values of `ACTIVE` are live `Arc`s, and under `WRITER` nobody
        // else can replace and release it.
        unsafe { &*active }.rules()
    };
    let snapshot = apply(rules, lines)?;
    let new = if snapshot.rules().is_empty() {
        ptr::null()
    } else {
        Arc::into_raw(Arc::new(snapshot, GFP_KERNEL)?)
    };
    // ORDERING: `Full` orders the snapshot's initialisation before its publication, like
    // rcu_assign_pointer().
    // INVARIANT: `new` is null or came from `Arc::into_raw`; we hold `WRITER`; the old value
    // is released by `Retired` only after a grace period.
    let old = ACTIVE.xchg(new, Full);
    Ok(Retired(old))
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

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_policy)]
mod tests {
    use super::*;

    /// Parses `text` as one batch and applies it to `base`.
    fn load(base: &[Rule], text: &str) -> Result<Snapshot, Rejection> {
        let lines = parse(text.as_bytes(), 1)?;
        apply(base, &lines)
    }

    fn rendered(snapshot: &Snapshot) -> KVVec<u8> {
        snapshot.render().expect("render")
    }

    fn rejected_line(base: &[Rule], text: &str) -> Option<usize> {
        load(base, text).err().map(|r| r.line)
    }

    #[test]
    fn single_port_and_program() -> Result {
        let s = load(&[], "10000 /usr/sbin/server\n").map_err(|r| r.error)?;
        assert!(s.is_reserved(10000));
        assert!(!s.is_reserved(10001));
        assert!(!s.is_reserved(9999));
        assert_eq!(&rendered(&s)[..], b"10000 /usr/sbin/server\n");
        Ok(())
    }

    #[test]
    fn ports_are_canonical_decimal() {
        for good in ["1", "80", "65535", "1-65535", "1000-1000"] {
            assert!(PortRange::parse(good.as_bytes()).is_some());
        }
        for bad in [
            "0",
            "010",
            "+80",
            "-80",
            "65536",
            "99999999999",
            "",
            "80-",
            "-",
            "10-9",
            "0-10",
            "1-2-3",
            "8O",
            " 80",
            "0x50",
        ] {
            assert!(PortRange::parse(bad.as_bytes()).is_none());
        }
    }

    #[test]
    fn range_reserves_every_port_in_it() -> Result {
        let s = load(&[], "6000-6005 /bin/x\n").map_err(|r| r.error)?;
        for port in 6000..=6005 {
            assert!(s.is_reserved(port));
        }
        assert!(!s.is_reserved(5999));
        assert!(!s.is_reserved(6006));
        assert_eq!(&rendered(&s)[..], b"6000-6005 /bin/x\n");
        let single = load(&[], "7000-7000 /bin/x\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&single)[..], b"7000 /bin/x\n");
        Ok(())
    }

    #[test]
    fn edge_ports() -> Result {
        let s = load(&[], "1 /a\n65535 /b\n").map_err(|r| r.error)?;
        assert!(s.is_reserved(1));
        assert!(s.is_reserved(65535));
        assert!(!s.is_reserved(0));
        assert!(s.may_bind(0, |_| false));
        Ok(())
    }

    #[test]
    fn paths_are_absolute_and_normalised() {
        for bad in [
            "1 relative/path",
            "1 /usr//bin",
            "1 /usr/bin/",
            "1 /usr/./bin",
            "1 /usr/../bin",
            "1 /",
            "1 kernel",
            "1 <KERNEL>",
        ] {
            assert_eq!(rejected_line(&[], bad), Some(1));
        }
    }

    #[test]
    fn escapes_round_trip() -> Result {
        let text = "80 /opt/my\\040server\\\\x\\011\\177\\303\\251\n";
        let s = load(&[], text).map_err(|r| r.error)?;
        assert_eq!(&rendered(&s)[..], text.as_bytes());
        let mut paths = s.programs_for(80).filter_map(|p| match p {
            Program::Path(path) => Some(path.as_bytes()),
            Program::Kernel => None,
        });
        assert_eq!(paths.next(), Some(&b"/opt/my server\\x\t\x7f\xc3\xa9"[..]));
        Ok(())
    }

    #[test]
    fn bad_escapes_are_refused() {
        for bad in [
            "1 /a\\",
            "1 /a\\x",
            "1 /a\\08",
            "1 /a\\400",
            "1 /a\\12",
            "1 /a\\000",
            "1 /a\\101",
            "1 /a\\057b",
        ] {
            assert_eq!(rejected_line(&[], bad), Some(1));
        }
        assert_eq!(rejected_line(&[], "1 /a\x01b"), Some(1));
    }

    #[test]
    fn path_length_limit() -> Result {
        let mut text = KVVec::new();
        text.extend_from_slice(b"1 ", GFP_KERNEL)?;
        // "/a" 2046 times and "/bc": exactly `MAX_PATH_LEN` (4095) bytes.
        for _ in 0..(MAX_PATH_LEN - 3) / 2 {
            text.extend_from_slice(b"/a", GFP_KERNEL)?;
        }
        text.extend_from_slice(b"/bc", GFP_KERNEL)?;
        assert_eq!(text.len() - 2, MAX_PATH_LEN);
        let lines = parse(&text, 1).map_err(|r| r.error)?;
        assert_eq!(lines.len(), 1);
        text.push(b'd', GFP_KERNEL)?;
        let err = parse(&text, 1).err();
        assert_eq!(err.map(|r| r.reason), Some("path too long"));
        Ok(())
    }

    #[test]
    fn comments_blank_lines_and_spacing() -> Result {
        let s =
            load(&[], "# reserved\n\n   \n\t80\t  /bin/a  \n# 81 /bin/b\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&s)[..], b"80 /bin/a\n");
        Ok(())
    }

    #[test]
    fn malformed_lines_name_the_line() {
        assert_eq!(rejected_line(&[], "80 /a\n81\n"), Some(2));
        assert_eq!(rejected_line(&[], "80 /a /b\n"), Some(1));
        assert_eq!(rejected_line(&[], "\n\nclear now\n"), Some(3));
        assert_eq!(rejected_line(&[], "delete 80\n"), Some(1));
        assert_eq!(rejected_line(&[], "add 80 /a\n"), Some(1));
    }

    #[test]
    fn kernel_rule_matches_no_task() -> Result {
        let s = load(&[], "53 <kernel>\n").map_err(|r| r.error)?;
        assert!(s.is_reserved(53));
        assert!(!s.may_bind(53, |_| true));
        assert_eq!(&rendered(&s)[..], b"53 <kernel>\n");
        Ok(())
    }

    #[test]
    fn several_programs_share_a_port() -> Result {
        let s = load(&[], "443 /b\n443 /a\n443-444 /c\n").map_err(|r| r.error)?;
        assert!(s.may_bind(443, |p| p.as_bytes() == b"/a"));
        assert!(s.may_bind(443, |p| p.as_bytes() == b"/b"));
        assert!(s.may_bind(443, |p| p.as_bytes() == b"/c"));
        assert!(!s.may_bind(443, |p| p.as_bytes() == b"/d"));
        assert!(s.may_bind(444, |p| p.as_bytes() == b"/c"));
        assert!(!s.may_bind(444, |p| p.as_bytes() == b"/a"));
        assert!(s.may_bind(445, |_| false));
        assert_eq!(&rendered(&s)[..], b"443 /a\n443 /b\n443-444 /c\n");
        Ok(())
    }

    #[test]
    fn matcher_runs_only_for_reserved_ports() -> Result {
        let s = load(&[], "80 /a\n").map_err(|r| r.error)?;
        let mut calls = 0;
        assert!(s.may_bind(81, |_| {
            calls += 1;
            false
        }));
        assert_eq!(calls, 0);
        assert!(!s.may_bind(80, |_| {
            calls += 1;
            false
        }));
        assert_eq!(calls, 1);
        Ok(())
    }

    #[test]
    fn rules_share_their_program() -> Result {
        let s = load(&[], "1 /a\n2 /b\n3 /a\n4 <kernel>\n5 /a\n").map_err(|r| r.error)?;
        let rules = s.rules();
        assert_eq!(rules.len(), 5);
        assert!(Arc::ptr_eq(&rules[0].program, &rules[2].program));
        assert!(Arc::ptr_eq(&rules[0].program, &rules[4].program));
        assert!(!Arc::ptr_eq(&rules[0].program, &rules[1].program));
        assert_eq!(&rendered(&s)[..], b"1 /a\n2 /b\n3 /a\n4 <kernel>\n5 /a\n");
        Ok(())
    }

    #[test]
    fn duplicate_add_is_idempotent() -> Result {
        let s = load(&[], "80 /a\n80 /a\n").map_err(|r| r.error)?;
        assert_eq!(s.rules().len(), 1);
        let again = load(s.rules(), "80 /a\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&again)[..], b"80 /a\n");
        Ok(())
    }

    #[test]
    fn delete_and_clear() -> Result {
        let s = load(&[], "80 /a\n81 /b\n").map_err(|r| r.error)?;
        let deleted = load(s.rules(), "delete 80 /a\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&deleted)[..], b"81 /b\n");
        assert!(!deleted.is_reserved(80));
        let cleared = load(s.rules(), "clear\n").map_err(|r| r.error)?;
        assert!(cleared.rules().is_empty());
        assert!(!cleared.is_reserved(81));
        Ok(())
    }

    #[test]
    fn delete_of_absent_rule_rejects_the_batch() -> Result {
        let s = load(&[], "80 /a\n").map_err(|r| r.error)?;
        assert_eq!(rejected_line(s.rules(), "81 /b\ndelete 80 /b\n"), Some(2));
        assert_eq!(
            rejected_line(s.rules(), "delete 80 /a\ndelete 80 /a\n"),
            Some(2)
        );
        assert_eq!(rejected_line(s.rules(), "clear\ndelete 80 /a\n"), Some(2));
        assert_eq!(rejected_line(s.rules(), "delete 80-81 /a\n"), Some(1));
        Ok(())
    }

    #[test]
    fn lines_apply_in_order() -> Result {
        let s = load(&[], "80 /a\n").map_err(|r| r.error)?;
        let t =
            load(s.rules(), "delete 80 /a\n80 /a\ndelete 80 /a\n90 /c\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&t)[..], b"90 /c\n");
        let u = load(s.rules(), "81 /b\nclear\n82 /c\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&u)[..], b"82 /c\n");
        let v = load(s.rules(), "clear\n80 /a\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&v)[..], b"80 /a\n");
        let w = load(s.rules(), "81 /b\ndelete 81 /b\n81 /b\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&w)[..], b"80 /a\n81 /b\n");
        Ok(())
    }

    #[test]
    fn canonical_order_and_round_trip() -> Result {
        let text = "9000 /z\n100-200 /m\n100 /m\n100 <kernel>\n100-200 <kernel>\n100 /a\n";
        let s = load(&[], text).map_err(|r| r.error)?;
        let out = rendered(&s);
        assert_eq!(
            &out[..],
            b"100 <kernel>\n100 /a\n100 /m\n100-200 <kernel>\n100-200 /m\n9000 /z\n"
        );
        let again = load(&[], core::str::from_utf8(&out)?).map_err(|r| r.error)?;
        assert_eq!(&rendered(&again)[..], &out[..]);
        Ok(())
    }

    #[test]
    fn rule_limit() -> Result {
        let mut text = KVVec::new();
        let mut digits = [0u8; 12];
        for port in 1..=u16::MAX {
            text.extend_from_slice(format_port(port, &mut digits), GFP_KERNEL)?;
            text.extend_from_slice(b" /a\n", GFP_KERNEL)?;
        }
        let lines = parse(&text, 1).map_err(|r| r.error)?;
        let s = apply(&[], &lines).map_err(|r| r.error)?;
        assert_eq!(s.rules().len(), usize::from(u16::MAX));
        assert!(s.may_bind(4242, |p| p.as_bytes() == b"/a"));
        assert!(!s.may_bind(4242, |p| p.as_bytes() == b"/b"));
        let more = load(s.rules(), "1 /b\n2 /b\n").err();
        assert_eq!(more.map(|r| r.error.to_errno()), Some(E2BIG.to_errno()));
        Ok(())
    }

    #[test]
    fn port_entry_limit() {
        let mut text = KVVec::new();
        // Each rule covers 65535 ports; one more rule than fits, each for its own program.
        for i in 0..(MAX_PORT_ENTRIES / 65535 + 1) as u8 {
            let _ = text.extend_from_slice(b"1-65535 /a", GFP_KERNEL);
            let _ = text.push(b'a' + i, GFP_KERNEL);
            let _ = text.push(b'\n', GFP_KERNEL);
        }
        let lines = parse(&text, 1);
        assert!(lines.is_ok());
        if let Ok(lines) = lines {
            let err = apply(&[], &lines).err();
            assert_eq!(err.map(|r| r.error.to_errno()), Some(E2BIG.to_errno()));
        }
    }
}
