// SPDX-License-Identifier: GPL-2.0-only

//! The files under `/sys/kernel/security/kportreserve/`, and nothing else: `policy`,
//! `netns-default`, `netns`, `mode`, `check`, `counters` and the `reserved` files.
//!
//! `policy` (0600, `CAP_MAC_ADMIN` in the initial user namespace) reads back the policy in
//! force and takes policy lines. Each `write(2)` is one transaction over its complete lines;
//! a line split across writes, as `cat` splits a large file, is kept until its newline
//! arrives, and a last line without one is applied when the file is closed: `close(2)`
//! returns its error. `netns-default` and `netns` do the same for the template of every other
//! network namespace and for the opener's namespace's own layer (see [`crate::netns`]).

use kernel::{
    alloc::AllocError,
    capability::{self, CAP_MAC_ADMIN},
    fs::{
        file::{flags, Offset},
        File,
    },
    pr_warn_ratelimited,
    prelude::*,
    securityfs::{Dentry, SecurityFile},
    seq_file::SeqFile,
    sync::{Arc, GlobalLockedBy},
    uaccess::{UserSliceReader, UserSliceWriter},
};

use crate::{
    grammar::{
        self,
        Rejection, //
    },
    limits::{
        MAX_LINE_LEN,
        MAX_WRITE_LEN, //
    },
    netns::Layer,
    policy::{
        self,
        WRITER, //
    },
    report,
    rule::{
        format_port,
        PortRange,
        Protocol,
        Rule, //
    },
    ruleset::Snapshot,
};

/// Text written after the last newline so far.
struct Pending {
    /// The start of a line whose newline has not been written yet.
    partial: KVVec<u8>,
    /// The number of the line `partial` starts, counting from the open.
    line: usize,
}

impl Pending {
    /// Nothing written yet: the next line is line 1.
    fn new() -> Self {
        Self {
            partial: KVVec::new(),
            line: 1,
        }
    }
}

/// How a file writes one rule as a line of its text.
type RenderRule = fn(&Rule, &mut KVVec<u8>) -> Result<(), AllocError>;

/// The rules of one snapshot (none: no rule), each rendered as a line by `render`.
struct Part {
    snapshot: Option<Arc<Snapshot>>,
    render: RenderRule,
}

impl Part {
    fn rules(&self) -> &[Rule] {
        self.snapshot.as_deref().map_or(&[][..], Snapshot::rules)
    }
}

/// The text of a file that shows snapshots, read through seq_file a line at a time.
///
/// The snapshots are the ones in force at `open()`, so that a reader sees one version however
/// it reads; only the line being read is rendered, never the whole text, which for the
/// largest policy is hundreds of megabytes.
struct SnapshotText {
    /// The rules of a layer, then those of a second one (`counters` in a namespace other
    /// than the initial one), if any.
    parts: [Part; 2],
    /// A last line after the rules (`lock\n`), or nothing.
    trailer: &'static [u8],
}

impl SnapshotText {
    /// The text of `snapshot` (none: an empty text), each rule rendered by `render`, then
    /// `trailer`.
    fn new(snapshot: Option<Arc<Snapshot>>, render: RenderRule, trailer: &'static [u8]) -> Self {
        Self::of_two(snapshot, render, None, render, trailer)
    }

    /// The text of `first` then of `second`, then `trailer`.
    fn of_two(
        first: Option<Arc<Snapshot>>,
        render_first: RenderRule,
        second: Option<Arc<Snapshot>>,
        render_second: RenderRule,
        trailer: &'static [u8],
    ) -> Self {
        Self {
            parts: [
                Part {
                    snapshot: first,
                    render: render_first,
                },
                Part {
                    snapshot: second,
                    render: render_second,
                },
            ],
            trailer,
        }
    }

    /// The number of lines: one per rule, then the trailer's, if any.
    fn lines(&self) -> usize {
        self.parts
            .iter()
            .map(|part| part.rules().len())
            .sum::<usize>()
            + usize::from(!self.trailer.is_empty())
    }

    /// Appends line `index` (below [`Self::lines`]) to `out`.
    fn render_line(&self, mut index: usize, out: &mut KVVec<u8>) -> Result<(), AllocError> {
        for part in &self.parts {
            match part.rules().get(index) {
                Some(rule) => return (part.render)(rule, out),
                None => index -= part.rules().len(),
            }
        }
        out.extend_from_slice(self.trailer, GFP_KERNEL)
    }

    /// Writes line `index` to `seq`.
    fn show(&self, index: usize, seq: &SeqFile) -> Result {
        let mut line = KVVec::new();
        self.render_line(index, &mut line)?;
        seq.write_bytes(&line);
        Ok(())
    }
}

/// What one open file description of `policy`, `netns-default` or `netns` holds.
struct OpenPolicy {
    /// The layer the file reads and writes.
    layer: Layer,
    /// Empty for a file opened for writing only.
    text: SnapshotText,
    /// Guarded by the writer lock, which every change of the policy takes anyway.
    pending: GlobalLockedBy<Pending, WRITER>,
}

/// Returns whether `file` was opened for reading only: it has nothing to apply at close.
fn is_read_only(file: &File) -> bool {
    file.flags() & flags::O_ACCMODE == flags::O_RDONLY
}

/// Checks that the caller may open a file of `layer`: `CAP_MAC_ADMIN`, and for writing, a
/// layer not locked (once locked, opening for writing fails as every write would).
fn may_open(file: &File, layer: &Layer) -> Result {
    if !capability::capable(CAP_MAC_ADMIN) || (!is_read_only(file) && layer.is_locked()) {
        return Err(EPERM);
    }
    Ok(())
}

/// Returns whether `text` is only spaces, tabs and newlines.
fn is_blank(text: &[u8]) -> bool {
    text.iter().all(|&c| matches!(c, b' ' | b'\t' | b'\n'))
}

/// Applies the complete lines of `pending.partial` followed by `data` to `layer` as one
/// transaction; keeps what follows the last newline. If `flush`, the whole text is applied.
///
/// On error, `pending` is unchanged and the layer too.
fn apply_text(
    layer: &Layer,
    pending: &GlobalLockedBy<Pending, WRITER>,
    data: &[u8],
    flush: bool,
) -> Result {
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
        drop(writer);
        report::policy_written(layer.file_name(), layer.net_id(), Err(&rejection));
        return Err(rejection.error);
    }
    // Allocated before the policy changes, so that nothing can fail after it has.
    let mut rest = KVVec::with_capacity(partial.len(), GFP_KERNEL)?;
    rest.extend_from_slice(partial, GFP_KERNEL)?;
    let was_locked = policy::is_locked();
    // Blank lines are no transaction: nothing to apply or report.
    let outcome = (!is_blank(complete)).then(|| {
        grammar::parse(complete, first_line).and_then(|lines| layer.update(&mut writer, &lines))
    });
    if outcome.as_ref().is_none_or(Result::is_ok) {
        let pending = pending.as_mut(&mut writer);
        pending.partial = rest;
        pending.line = first_line + newlines;
    }
    let Some(outcome) = outcome else {
        return Ok(());
    };
    let locked = !was_locked && policy::is_locked();
    // Reported after the lock is released: a record names the task's executable, and audit
    // may wait for its backlog.
    drop(writer);
    report::policy_written(
        layer.file_name(),
        layer.net_id(),
        outcome.as_ref().map(|_| ()),
    );
    if locked {
        report::locked();
    }
    // Waits for an RCU grace period, outside the lock.
    drop(outcome.map_err(|rejection| rejection.error)?);
    Ok(())
}

/// The file of a layer: `policy` ([`POLICY`]), `netns-default` ([`TEMPLATE`]) or `netns`
/// ([`NAMESPACE`]).
struct PolicyFile<const LAYER: usize>;

/// The `policy` file: the initial network namespace's layer.
const POLICY: usize = 0;
/// The `netns-default` file: the template of every other namespace.
const TEMPLATE: usize = 1;
/// The `netns` file: the own layer of the opener's namespace.
const NAMESPACE: usize = 2;

#[vtable]
impl<const LAYER: usize> SecurityFile for PolicyFile<LAYER> {
    type Ptr = KBox<OpenPolicy>;

    /// Checks the caller's privilege and takes the layer in force for reading; `netns` takes
    /// the opener's namespace, and refuses the initial one, whose layer is `policy`'s.
    fn open(file: &File) -> Result<KBox<OpenPolicy>> {
        // Before the namespace is looked at: without the right, nothing about it is told.
        if !capability::capable(CAP_MAC_ADMIN) {
            return Err(EPERM);
        }
        let layer = match LAYER {
            POLICY => Layer::Initial,
            TEMPLATE => Layer::Template,
            _ => match Layer::of_current()? {
                Layer::Initial => {
                    pr_warn_ratelimited!(
                        "netns opened in the initial network namespace: its file is policy\n"
                    );
                    return Err(EINVAL);
                }
                layer => layer,
            },
        };
        may_open(file, &layer)?;
        // `echo rule > policy` reads nothing.
        let write_only = file.flags() & flags::O_ACCMODE == flags::O_WRONLY;
        let text = if write_only {
            SnapshotText::new(None, Rule::render, b"")
        } else {
            layer_text(&layer)
        };
        Ok(KBox::new(
            OpenPolicy {
                layer,
                text,
                pending: GlobalLockedBy::new(Pending::new()),
            },
            GFP_KERNEL,
        )?)
    }

    /// The policy as it was at open, in canonical form: a line per rule.
    fn records(open: &OpenPolicy) -> usize {
        open.text.lines()
    }

    fn show(open: &OpenPolicy, index: usize, seq: &SeqFile) -> Result {
        open.text.show(index, seq)
    }

    /// Applies the complete lines written, as one transaction.
    fn write(
        open: &OpenPolicy,
        file: &File,
        reader: UserSliceReader,
        _offset: &mut Offset,
    ) -> Result<usize> {
        // The opener's privilege, not the writer's: a privileged opener cannot be tricked
        // into writing by an unprivileged process it passes the file to, nor the other way
        // round.
        if !file.opener_capable(CAP_MAC_ADMIN) {
            return Err(EPERM);
        }
        let count = reader.len();
        if count > MAX_WRITE_LEN {
            return Err(E2BIG);
        }
        let mut data = KVVec::new();
        reader.read_all(&mut data, GFP_KERNEL)?;
        apply_text(&open.layer, &open.pending, &data, false)?;
        Ok(count)
    }

    /// At each `close(2)`: applies a last line written without its newline, and returns its
    /// error, so that `echo -n bad > policy` fails. A refused line is dropped.
    fn flush(open: &OpenPolicy, file: &File) -> Result {
        if is_read_only(file) {
            return Ok(());
        }
        let result = apply_text(&open.layer, &open.pending, &[], true);
        if result.is_err() {
            discard_pending(&open.pending);
        }
        result
    }

    /// The last reference is gone: applies what no `close(2)` did.
    fn release(open: KBox<OpenPolicy>, file: &File) {
        if is_read_only(file) {
            return;
        }
        // Every `close()` flushed; a file never closed by a descriptor (its last reference
        // dropped otherwise) still gets its last line applied, with the error logged.
        let _ = apply_text(&open.layer, &open.pending, &[], true);
    }
}

/// The rules of `layer` in canonical text, ending with `lock` when it is locked.
fn layer_text(layer: &Layer) -> SnapshotText {
    let trailer: &[u8] = if layer.is_locked() { b"lock\n" } else { b"" };
    SnapshotText::new(layer.current(), Rule::render, trailer)
}

/// The `mode` file: `enforcing` (the default) or `permissive`, in which would-be denials are
/// logged and allowed. Same privilege as `policy`; locked with it.
struct ModeFile;

#[vtable]
impl SecurityFile for ModeFile {
    type Ptr = ();

    fn open(file: &File) -> Result {
        may_open(file, &Layer::Initial)
    }

    fn read(
        (): (),
        _file: &File,
        writer: &mut UserSliceWriter,
        offset: &mut Offset,
    ) -> Result<usize> {
        let mode: &[u8] = if policy::is_permissive() {
            b"permissive\n"
        } else {
            b"enforcing\n"
        };
        writer.write_slice_file(mode, offset)
    }

    /// Takes `enforcing` or `permissive`, with or without a newline, in one write.
    fn write(
        (): (),
        file: &File,
        mut reader: UserSliceReader,
        _offset: &mut Offset,
    ) -> Result<usize> {
        if !file.opener_capable(CAP_MAC_ADMIN) {
            return Err(EPERM);
        }
        let count = reader.len();
        let mut buf = [0u8; 16];
        let text = buf.get_mut(..count).ok_or(EINVAL)?;
        reader.read_slice(text)?;
        let word = text.strip_suffix(b"\n").unwrap_or(text);
        let permissive = match word {
            b"enforcing" => false,
            b"permissive" => true,
            _ => {
                pr_warn_ratelimited!("mode rejected: expected enforcing or permissive\n");
                return Err(EINVAL);
            }
        };
        let mut writer = WRITER.lock();
        let old = policy::is_permissive();
        let result = policy::set_permissive(&mut writer, permissive);
        drop(writer);
        if old != permissive || result.is_err() {
            report::mode_changed(permissive, old, result.is_ok());
        }
        result.map(|()| count)
    }
}

/// The `check` file, write-only: each `write(2)` is checked as the policy file would check
/// it, against the policy in force, with the same parser and limits, and nothing is applied:
/// a configuration is validated before it is loaded. The text is complete: a last line
/// without a newline is a line. Same privilege as `policy`, which a check could otherwise
/// probe (a `delete` tells whether a rule is in force); works while the policy is locked.
///
/// Opened in a network namespace other than the initial one, it checks against that
/// namespace's own layer, as `netns` would.
struct CheckFile;

#[vtable]
impl SecurityFile for CheckFile {
    type Ptr = KBox<Layer>;

    fn open(_file: &File) -> Result<KBox<Layer>> {
        if !capability::capable(CAP_MAC_ADMIN) {
            return Err(EPERM);
        }
        Ok(KBox::new(Layer::of_current()?, GFP_KERNEL)?)
    }

    /// Returns the size written if the text would apply, else the error a write of it to
    /// `policy` would return, with its line and reason logged.
    fn write(
        layer: &Layer,
        file: &File,
        reader: UserSliceReader,
        _offset: &mut Offset,
    ) -> Result<usize> {
        if !file.opener_capable(CAP_MAC_ADMIN) {
            return Err(EPERM);
        }
        let count = reader.len();
        if count > MAX_WRITE_LEN {
            return Err(E2BIG);
        }
        let mut data = KVVec::new();
        reader.read_all(&mut data, GFP_KERNEL)?;
        let outcome = grammar::parse(&data, 1).and_then(|lines| layer.check(&lines));
        report::policy_checked(outcome.as_ref().map(|&()| ()));
        outcome.map_err(|rejection| rejection.error)?;
        Ok(count)
    }
}

/// The `counters` file, read-only: each rule in force, as `policy` reads, followed on its
/// line by ` allowed=N denied=N skipped=N`. Same privilege as `policy`.
///
/// Opened in a network namespace other than the initial one, it shows that namespace's
/// layers: its own rules, then the template's, each line ending with ` layer=netns` or
/// ` layer=netns-default`.
struct CountersFile;

/// Renders a rule of a namespace's own layer as a line of `counters`.
fn render_counted_in_netns(rule: &Rule, out: &mut KVVec<u8>) -> Result<(), AllocError> {
    render_counted_in(b" layer=netns\n", rule, out)
}

/// Renders a rule of the template as a line of `counters`.
fn render_counted_in_template(rule: &Rule, out: &mut KVVec<u8>) -> Result<(), AllocError> {
    render_counted_in(b" layer=netns-default\n", rule, out)
}

/// Renders a rule as [`Rule::render_counted`] does, its line ending with `end`.
fn render_counted_in(end: &[u8], rule: &Rule, out: &mut KVVec<u8>) -> Result<(), AllocError> {
    rule.render_counted(out)?;
    out.pop();
    out.extend_from_slice(end, GFP_KERNEL)
}

#[vtable]
impl SecurityFile for CountersFile {
    type Ptr = KBox<SnapshotText>;

    /// Checks the caller's privilege and takes the layers in force for reading.
    fn open(_file: &File) -> Result<KBox<SnapshotText>> {
        if !capability::capable(CAP_MAC_ADMIN) {
            return Err(EPERM);
        }
        let text = match Layer::of_current()? {
            Layer::Initial => SnapshotText::new(policy::current(), Rule::render_counted, b""),
            own => SnapshotText::of_two(
                own.current(),
                render_counted_in_netns,
                Layer::Template.current(),
                render_counted_in_template,
                b"",
            ),
        };
        Ok(KBox::new(text, GFP_KERNEL)?)
    }

    fn records(text: &SnapshotText) -> usize {
        text.lines()
    }

    fn show(text: &SnapshotText, index: usize, seq: &SeqFile) -> Result {
        text.show(index, seq)
    }
}

/// The reserved ports, as ranges merged where rules overlap or touch: `1-3,5`.
///
/// # Invariants
///
/// The ranges are sorted, and neither overlap nor touch.
struct ReservedPorts(KVVec<PortRange>);

impl ReservedPorts {
    /// The ports `snapshot` reserves (none: no port) for `protocol`, or with `None`, for any
    /// protocol.
    fn of(snapshot: Option<&Snapshot>, protocol: Option<Protocol>) -> Result<Self, AllocError> {
        let mut ranges = KVVec::<PortRange>::new();
        let rules = snapshot.map_or(&[][..], Snapshot::rules);
        // The rules are sorted by their ranges, lowest first.
        for rule in rules.iter().filter(|rule| rule.selector.covers(protocol)) {
            match ranges.last_mut() {
                Some(last) if u32::from(rule.ports.low) <= u32::from(last.high) + 1 => {
                    last.high = last.high.max(rule.ports.high);
                }
                // Charged to the opener, who may be any user.
                _ => ranges.push(rule.ports, GFP_KERNEL_ACCOUNT)?,
            }
        }
        // INVARIANT: Sorted, and merged where the next range overlaps or touches the last.
        Ok(Self(ranges))
    }

    /// Writes record `index` of the text: range `index`, after a comma from the second on;
    /// the last record is the newline that ends the text.
    fn show(&self, index: usize, seq: &SeqFile) {
        let Some(range) = self.0.get(index) else {
            seq.write_bytes(b"\n");
            return;
        };
        if index > 0 {
            seq.write_bytes(b",");
        }
        let mut digits = [0u8; 12];
        seq.write_bytes(format_port(range.low, &mut digits));
        if range.high != range.low {
            seq.write_bytes(b"-");
            seq.write_bytes(format_port(range.high, &mut digits));
        }
    }
}

/// The `reserved` files, read-only: the reserved ports in the format of
/// `ip_local_reserved_ports` (`1-3,5`, one line), so that programs that pick ports in user
/// space (container runtimes, test frameworks) can stay off them. World-readable as that
/// sysctl is: they show the port numbers, and not whom they are reserved for.
///
/// `reserved` lists the ports reserved for any protocol, as that sysctl, which knows no
/// protocol, would hold them; `reserved_tcp`, `reserved_udp` and `reserved_sctp` those
/// reserved for one, by a rule with its selector or with none. `PROTOCOL` is 0 for any
/// protocol, else one more than the protocol's index in [`Protocol::ALL`].
struct ReservedFile<const PROTOCOL: usize>;

#[vtable]
impl<const PROTOCOL: usize> SecurityFile for ReservedFile<PROTOCOL> {
    type Ptr = KBox<ReservedPorts>;

    /// Takes the ports of the policy in force; anyone may read them.
    fn open(_file: &File) -> Result<KBox<ReservedPorts>> {
        let protocol = PROTOCOL
            .checked_sub(1)
            .and_then(|i| Protocol::ALL.get(i).copied());
        let ports = ReservedPorts::of(policy::current().as_deref(), protocol)?;
        Ok(KBox::new(ports, GFP_KERNEL_ACCOUNT)?)
    }

    fn records(ports: &ReservedPorts) -> usize {
        ports.0.len() + 1
    }

    fn show(ports: &ReservedPorts, index: usize, seq: &SeqFile) -> Result {
        ports.show(index, seq);
        Ok(())
    }
}

/// Forgets the text written after the last newline.
fn discard_pending(pending: &GlobalLockedBy<Pending, WRITER>) {
    let mut writer = WRITER.lock();
    let pending = pending.as_mut(&mut writer);
    pending.partial = KVVec::new();
}

/// Creates `/sys/kernel/security/kportreserve/policy`; the LSM's `initcall_fs`.
pub(crate) fn init() -> Result {
    let dir = Dentry::create_dir(c"kportreserve", None)
        .inspect_err(|err| pr_err!("cannot create the securityfs directory: {:?}\n", err))?;
    dir.create_file::<PolicyFile<POLICY>>(c"policy", 0o600)
        .inspect_err(|err| pr_err!("cannot create the policy file: {:?}\n", err))?
        .keep();
    dir.create_file::<PolicyFile<TEMPLATE>>(c"netns-default", 0o600)
        .inspect_err(|err| pr_err!("cannot create the netns-default file: {:?}\n", err))?
        .keep();
    dir.create_file::<PolicyFile<NAMESPACE>>(c"netns", 0o600)
        .inspect_err(|err| pr_err!("cannot create the netns file: {:?}\n", err))?
        .keep();
    dir.create_file::<ModeFile>(c"mode", 0o600)
        .inspect_err(|err| pr_err!("cannot create the mode file: {:?}\n", err))?
        .keep();
    dir.create_file::<CheckFile>(c"check", 0o200)
        .inspect_err(|err| pr_err!("cannot create the check file: {:?}\n", err))?
        .keep();
    dir.create_file::<CountersFile>(c"counters", 0o400)
        .inspect_err(|err| pr_err!("cannot create the counters file: {:?}\n", err))?
        .keep();
    dir.create_file::<ReservedFile<0>>(c"reserved", 0o444)
        .inspect_err(|err| pr_err!("cannot create the reserved file: {:?}\n", err))?
        .keep();
    dir.create_file::<ReservedFile<1>>(c"reserved_tcp", 0o444)
        .inspect_err(|err| pr_err!("cannot create the reserved_tcp file: {:?}\n", err))?
        .keep();
    dir.create_file::<ReservedFile<2>>(c"reserved_udp", 0o444)
        .inspect_err(|err| pr_err!("cannot create the reserved_udp file: {:?}\n", err))?
        .keep();
    dir.create_file::<ReservedFile<3>>(c"reserved_sctp", 0o444)
        .inspect_err(|err| pr_err!("cannot create the reserved_sctp file: {:?}\n", err))?
        .keep();
    dir.keep();
    Ok(())
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_securityfs)]
mod tests {
    use super::*;

    /// Writes each chunk as one `write(2)`, then closes; returns the policy rendered. The test
    /// has taken the policy over ([`policy::take_over_for_test`]).
    fn write_chunks(chunks: &[&str]) -> Result<KVVec<u8>> {
        let pending = GlobalLockedBy::new(Pending::new());
        apply_text(&Layer::Initial, &pending, b"clear\n", false)?;
        for chunk in chunks {
            apply_text(&Layer::Initial, &pending, chunk.as_bytes(), false)?;
        }
        apply_text(&Layer::Initial, &pending, &[], true)?;
        let rendered = match policy::current() {
            Some(snapshot) => snapshot.render()?,
            None => KVVec::new(),
        };
        apply_text(&Layer::Initial, &pending, b"clear\n", true)?;
        Ok(rendered)
    }

    #[test]
    fn lines_split_across_writes() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let out = write_chunks(&["100", "00 /bin/", "a\n10001 /b", "in/b\n", "10002 /c"])?;
        assert_eq!(&out[..], b"10000 /bin/a\n10001 /bin/b\n10002 /c\n");
        Ok(())
    }

    #[test]
    fn rejected_write_leaves_policy_and_partial_line() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let pending = GlobalLockedBy::new(Pending::new());
        apply_text(&Layer::Initial, &pending, b"clear\n20000 /a\n200", false)?;
        assert!(apply_text(&Layer::Initial, &pending, b"01 /b\nbad line here\n", false).is_err());
        // The rejected write changed nothing: the partial "200" is still pending.
        apply_text(&Layer::Initial, &pending, b"02 /c\n", false)?;
        let out = policy::current()
            .map(|s| s.render())
            .transpose()?
            .unwrap_or_default();
        assert_eq!(&out[..], b"20000 /a\n20002 /c\n");
        apply_text(&Layer::Initial, &pending, b"clear\n", true)?;
        assert!(policy::current().is_none());
        Ok(())
    }

    #[test]
    fn reserved_ports_follow_each_write() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let pending = GlobalLockedBy::new(Pending::new());
        apply_text(&Layer::Initial, &pending, b"clear\n30000-30002 /a\n", false)?;
        assert!(policy::is_reserved(30001) && !policy::is_reserved(30003));
        apply_text(
            &Layer::Initial,
            &pending,
            b"delete 30000-30002 /a\n30003 /a\n",
            false,
        )?;
        assert!(!policy::is_reserved(30001) && policy::is_reserved(30003));
        // A refused write changes no bit.
        assert!(apply_text(&Layer::Initial, &pending, b"30004 /a\nbad\n", false).is_err());
        assert!(!policy::is_reserved(30004) && policy::is_reserved(30003));
        apply_text(&Layer::Initial, &pending, b"clear\n", true)?;
        assert!(!policy::is_reserved(30003));
        Ok(())
    }

    #[test]
    fn lock_refuses_every_later_change() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let pending = GlobalLockedBy::new(Pending::new());
        // A `lock` in a refused write does not lock.
        assert!(apply_text(
            &Layer::Initial,
            &pending,
            b"clear\n40000 /a\nlock\nbad\n",
            false
        )
        .is_err());
        assert!(!policy::is_locked());
        apply_text(&Layer::Initial, &pending, b"clear\n40000 /a\nlock\n", false)?;
        let locked = policy::is_locked();
        let refused = apply_text(&Layer::Initial, &pending, b"clear\n", false).err();
        let text = read_all(&layer_text(&Layer::Initial))?;
        let mode = policy::set_permissive(&mut WRITER.lock(), true).err();
        assert!(locked);
        assert_eq!(refused, Some(EPERM));
        assert_eq!(&text[..], b"40000 /a\nlock\n");
        assert_eq!(mode, Some(EPERM));
        Ok(())
    }

    /// All of `text`, line after line.
    fn read_all(text: &SnapshotText) -> Result<KVVec<u8>> {
        let mut out = KVVec::new();
        for index in 0..text.lines() {
            text.render_line(index, &mut out)?;
        }
        Ok(out)
    }

    #[test]
    fn text_is_a_line_per_rule_then_the_trailer() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let pending = GlobalLockedBy::new(Pending::new());
        apply_text(
            &Layer::Initial,
            &pending,
            b"clear\n1-2 <kernel>\n300 /a\\040b\n65535 /c\nlock\n",
            false,
        )?;
        let text = layer_text(&Layer::Initial);
        assert_eq!(text.lines(), 4);
        assert_eq!(
            &read_all(&text)?[..],
            b"1-2 <kernel>\n300 /a\\040b\n65535 /c\nlock\n"
        );
        let mut line = KVVec::new();
        text.render_line(1, &mut line)?;
        assert_eq!(&line[..], b"300 /a\\040b\n");
        // No policy: an empty text.
        let empty = SnapshotText::new(None, Rule::render, b"");
        assert_eq!(empty.lines(), 0);
        Ok(())
    }

    #[test]
    fn reserved_ports_are_merged_ranges() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let pending = GlobalLockedBy::new(Pending::new());
        apply_text(
            &Layer::Initial,
            &pending,
            b"clear\n5 /a\n1-3 /a\n2 <kernel>\n4 /b\n10-20 /c\n12-14 /d\n65535 /e\n",
            false,
        )?;
        let ranges = ReservedPorts::of(policy::current().as_deref(), None)?;
        let found: KVec<(u16, u16)> = ranges.0.iter().try_fold(KVec::new(), |mut v, r| {
            v.push((r.low, r.high), GFP_KERNEL)?;
            Ok::<_, AllocError>(v)
        })?;
        assert_eq!(&found[..], &[(1, 5), (10, 20), (65535, 65535)]);
        // Per protocol: a rule with no selector counts for each.
        apply_text(
            &Layer::Initial,
            &pending,
            b"clear\n1/tcp /a\n2/udp /a\n3 /a\n4/tcp /b\n4/sctp /b\n",
            false,
        )?;
        let ranges = |protocol| -> Result<KVec<(u16, u16)>> {
            let ports = ReservedPorts::of(policy::current().as_deref(), protocol)?;
            ports.0.iter().try_fold(KVec::new(), |mut v, r| {
                v.push((r.low, r.high), GFP_KERNEL)?;
                Ok(v)
            })
        };
        assert_eq!(&ranges(None)?[..], &[(1, 4)]);
        assert_eq!(&ranges(Some(Protocol::Tcp))?[..], &[(1, 1), (3, 4)]);
        assert_eq!(&ranges(Some(Protocol::Udp))?[..], &[(2, 3)]);
        assert_eq!(&ranges(Some(Protocol::Sctp))?[..], &[(3, 4)]);
        apply_text(&Layer::Initial, &pending, b"clear\n", true)?;
        let none = ReservedPorts::of(policy::current().as_deref(), None)?;
        assert!(none.0.is_empty());
        Ok(())
    }

    #[test]
    fn overlong_partial_line_is_refused() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let pending = GlobalLockedBy::new(Pending::new());
        let mut long = KVVec::new();
        long.resize(MAX_LINE_LEN + 1, b'1', GFP_KERNEL)?;
        assert!(apply_text(&Layer::Initial, &pending, &long, false).is_err());
        Ok(())
    }
}
