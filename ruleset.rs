// SPDX-License-Identifier: GPL-2.0-only

//! The ruleset: an immutable snapshot of the rules in force with the index the bind hooks
//! look ports up in, and the one transaction that builds the next snapshot from a batch of
//! operations.

use core::cmp::Ordering;
use kernel::{alloc::AllocError, prelude::*, sync::Arc};

use crate::{
    counters::{
        Event,
        NewCounters, //
    },
    grammar::{
        Line,
        Op,
        Rejection, //
    },
    limits::{
        MAX_PORT_ENTRIES,
        MAX_RULES, //
    },
    rule::{
        Protocol,
        Rule,
        Subject, //
    },
};

/// One entry of the port index: `rule` is an index into [`Snapshot::rules`].
#[derive(Clone, Copy)]
struct PortEntry {
    port: u16,
    rule: u32,
}

/// Number of 64-bit words in a bitmap with one bit per port.
pub(crate) const BITMAP_WORDS: usize = 65536 / 64;

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
        check_limits(&rules)?;
        let entries = rules.iter().map(|rule| rule.ports.len()).sum::<usize>();
        let mut reserved = KVec::from_elem(0u64, BITMAP_WORDS, GFP_KERNEL_ACCOUNT)?;
        let mut index = KVVec::with_capacity(entries, GFP_KERNEL_ACCOUNT)?;
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
                    GFP_KERNEL_ACCOUNT,
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

    /// The reserved-port bitmap: bit `port % 64` of word `port / 64`, [`BITMAP_WORDS`] words.
    pub(crate) fn reserved_words(&self) -> &[u64] {
        &self.reserved
    }

    /// The rules that reserve `port`, in rule order; none when it is not reserved.
    pub(crate) fn rules_for(&self, port: u16) -> impl Iterator<Item = &Rule> {
        let start = self.index.partition_point(|entry| entry.port < port);
        self.index
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |entry| entry.port == port)
            .filter_map(|entry| self.rules.get(entry.rule as usize))
    }

    /// Decides a bind of `port` of `protocol` by a task that `is_task` recognises, and counts
    /// it: as allowed on the first rule of the port and protocol naming the task, or as
    /// denied on every one of them. A port reserved for other protocols only is free.
    ///
    /// `is_task` is called only for a reserved port, once per subject of its rules until one
    /// matches. `<kernel>` matches no task: in-kernel sockets never get here.
    pub(crate) fn may_bind(
        &self,
        port: u16,
        protocol: Protocol,
        mut is_task: impl FnMut(&Arc<Subject>) -> bool,
    ) -> bool {
        if !self.is_reserved(port) {
            return true;
        }
        let mut rules = self
            .rules_for(port)
            .filter(|rule| rule.selector.covers(Some(protocol)))
            .peekable();
        if rules.peek().is_none() {
            return true;
        }
        let allowing =
            rules.find(|rule| *rule.subject != Subject::Kernel && is_task(&rule.subject));
        match allowing {
            Some(rule) => rule.count(Event::Allowed),
            None => self
                .rules_for(port)
                .filter(|rule| rule.selector.covers(Some(protocol)))
                .for_each(|rule| rule.count(Event::Denied)),
        }
        allowing.is_some()
    }

    /// Returns whether automatic port choice for `protocol` (`None`: one the LSM does not
    /// know, taken as every one) skips `port`, and if so counts it on the rules that reserve
    /// it. No lock and no allocation: safe in atomic context.
    pub(crate) fn skips(&self, port: u16, protocol: Option<Protocol>) -> bool {
        let mut skipped = false;
        self.rules_for(port)
            .filter(|rule| rule.selector.covers(protocol))
            .for_each(|rule| {
                rule.count(Event::Skipped);
                skipped = true;
            });
        skipped
    }

    /// The rules in force, sorted.
    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Renders the policy in the grammar [`parse`] accepts, one sorted rule per line.
    ///
    /// For the tests, which compare whole policies; the policy file renders a line at a time.
    #[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
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
            // Not a change of the rules: the policy in force acts on it.
            Op::Lock => {}
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
            // A rule in force comes first in its group (`seq` 0): it keeps its counters.
            result.push(head.rule.clone(), GFP_KERNEL_ACCOUNT)?;
        }
    }
    if let Some(line) = first_error {
        return Err(Rejection::invalid(
            line,
            "delete of a rule that is not in force",
        ));
    }
    // Refused before the counters of a policy that cannot be in force are allocated.
    check_limits(&result)?;
    share_subjects(&mut result)?;
    give_counters(&mut result)?;
    Snapshot::new(result)
}

/// Checks that `rules` stay within [`MAX_RULES`] and [`MAX_PORT_ENTRIES`].
fn check_limits(rules: &[Rule]) -> Result<(), Rejection> {
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
    Ok(())
}

/// Gives new counters to the rules without any, those this write adds; they share
/// allocations ([`NewCounters`]).
fn give_counters(rules: &mut [Rule]) -> Result<(), AllocError> {
    let new = rules.iter().filter(|rule| rule.counters.is_none()).count();
    let mut counters = NewCounters::for_rules(new);
    for rule in rules.iter_mut().filter(|rule| rule.counters.is_none()) {
        rule.counters = Some(counters.take()?);
    }
    Ok(())
}

/// Makes rules that name the same subject share one allocation of it.
///
/// Each parsed line allocates its own subject; a policy reserving many ports for one
/// program or cgroup then keeps a single copy of its path.
fn share_subjects(rules: &mut [Rule]) -> Result<(), AllocError> {
    let mut order = KVVec::with_capacity(rules.len(), GFP_KERNEL)?;
    for i in 0..rules.len() {
        order.push(i, GFP_KERNEL)?;
    }
    order.sort_unstable_by(|&a, &b| rules[a].subject.cmp(&rules[b].subject));
    let mut first: Option<usize> = None;
    for &i in order.iter() {
        match first {
            Some(f) if rules[f].subject.cmp(&rules[i].subject) == Ordering::Equal => {
                let shared = rules[f].subject.clone();
                rules[i].subject = shared;
            }
            _ => first = Some(i),
        }
    }
    Ok(())
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_policy)]
mod tests {
    use super::*;
    use crate::{
        grammar::parse,
        limits::MAX_PATH_LEN,
        rule::{
            format_port,
            Atoms,
            PortRange, //
        },
    };
    use kernel::sync::Arc;

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

    /// Whether `subject` is the program at `path`, with no other atom.
    fn is_program(subject: &Subject, path: &[u8]) -> bool {
        subject.is_program_alone(path)
    }

    /// Whether `subject` is the cgroup at `path`, with no other atom.
    fn is_cgroup(subject: &Subject, path: &[u8]) -> bool {
        matches!(subject, Subject::Tasks(Atoms {
            program: None,
            cgroup: Some(c),
            uid: None,
            gid: None,
        }) if c.path.as_bytes() == path)
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
        assert!(s.may_bind(0, Protocol::Tcp, |_| false));
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
        let mut paths = s.rules_for(80).filter_map(|rule| match &*rule.subject {
            Subject::Tasks(atoms) => atoms.program.as_ref().map(|path| path.as_bytes()),
            Subject::Kernel => None,
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
    fn lock_line_changes_no_rule() -> Result {
        let s = load(&[], "10000 /a\nlock\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&s)[..], b"10000 /a\n");
        assert_eq!(rejected_line(&[], "lock\nlock now\n"), Some(2));
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
        assert!(!s.may_bind(53, Protocol::Tcp, |_| true));
        assert_eq!(&rendered(&s)[..], b"53 <kernel>\n");
        Ok(())
    }

    #[test]
    fn several_programs_share_a_port() -> Result {
        let s = load(&[], "443 /b\n443 /a\n443-444 /c\n").map_err(|r| r.error)?;
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/a")));
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/b")));
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/c")));
        assert!(!s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/d")));
        assert!(s.may_bind(444, Protocol::Tcp, |s| is_program(s, b"/c")));
        assert!(!s.may_bind(444, Protocol::Tcp, |s| is_program(s, b"/a")));
        assert!(s.may_bind(445, Protocol::Tcp, |_| false));
        assert_eq!(&rendered(&s)[..], b"443 /a\n443 /b\n443-444 /c\n");
        Ok(())
    }

    #[test]
    fn matcher_runs_only_for_reserved_ports() -> Result {
        let s = load(&[], "80 /a\n").map_err(|r| r.error)?;
        let mut calls = 0;
        assert!(s.may_bind(81, Protocol::Tcp, |_| {
            calls += 1;
            false
        }));
        assert_eq!(calls, 0);
        assert!(!s.may_bind(80, Protocol::Tcp, |_| {
            calls += 1;
            false
        }));
        assert_eq!(calls, 1);
        Ok(())
    }

    #[test]
    fn cgroups_follow_the_path_rules() {
        assert!(load(&[], "80 cgroup:/system.slice/a.socket\n").is_ok());
        assert!(load(&[], "80 cgroup:/system.slice/a\\\\x2db.slice\n").is_ok());
        assert_eq!(rejected_line(&[], "80 cgroup:\n"), Some(1));
        assert_eq!(rejected_line(&[], "80 cgroup:/\n"), Some(1));
        assert_eq!(rejected_line(&[], "80 cgroup:system.slice\n"), Some(1));
        assert_eq!(rejected_line(&[], "80 cgroup:/a/../b\n"), Some(1));
        assert_eq!(rejected_line(&[], "80 cgroup:/a/\n"), Some(1));
        assert_eq!(rejected_line(&[], "80 cgroup:/a\\040b\n"), None);
        assert_eq!(rejected_line(&[], "80 cgroup:/a\\141\n"), Some(1));
        // A backslash has one spelling, a doubled backslash, not its octal escape.
        assert_eq!(rejected_line(&[], "80 cgroup:/a\\134\n"), Some(1));
        assert_eq!(rejected_line(&[], "80 Cgroup:/a\n"), Some(1));
        assert_eq!(rejected_line(&[], "80 cgroup:/a b\n"), Some(1));
    }

    #[test]
    fn cgroups_and_programs_share_a_port() -> Result {
        let text = "443 cgroup:/b\n443 /b\n443 <kernel>\n443 cgroup:/a\\\\x2d\n";
        let s = load(&[], text).map_err(|r| r.error)?;
        assert_eq!(
            &rendered(&s)[..],
            &b"443 <kernel>\n443 /b\n443 cgroup:/a\\\\x2d\n443 cgroup:/b\n"[..]
        );
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_cgroup(s, b"/b")));
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_cgroup(s, b"/a\\x2d")));
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/b")));
        // A program and a cgroup at the same path are different subjects.
        assert!(!s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/a\\x2d")));
        assert!(!s.may_bind(443, Protocol::Tcp, |s| is_cgroup(s, b"/c")));
        let s = load(s.rules(), "delete 443 cgroup:/b\n").map_err(|r| r.error)?;
        assert!(!s.may_bind(443, Protocol::Tcp, |s| is_cgroup(s, b"/b")));
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/b")));
        assert_eq!(rejected_line(s.rules(), "delete 443 cgroup:/b\n"), Some(1));
        Ok(())
    }

    #[test]
    fn atoms_have_one_spelling() -> Result {
        for good in [
            "8080 /usr/sbin/nginx uid:33\n",
            "10000 /usr/local/bin/api cgroup:/system.slice/api.service\n",
            "53 cgroup:/system.slice/named.service uid:101\n",
            "15000-15090 uid:1337\n",
            "80 gid:0\n",
            "80 /a cgroup:/b uid:0 gid:4294967294\n",
        ] {
            let s = load(&[], good).map_err(|r| r.error)?;
            assert_eq!(&rendered(&s)[..], good.as_bytes());
        }
        for bad in [
            // Out of order, repeated.
            "80 uid:33 /a",
            "80 cgroup:/b /a",
            "80 gid:1 uid:1",
            "80 uid:1 uid:2",
            "80 uid:1 uid:1",
            "80 /a /b",
            "80 cgroup:/a cgroup:/b",
            // `<kernel>` alone.
            "80 <kernel> uid:1",
            "80 uid:1 <kernel>",
            // Ids in canonical decimal, and never (uid_t)-1.
            "80 uid:",
            "80 uid:01",
            "80 uid:+1",
            "80 uid:-1",
            "80 uid:0x1",
            "80 uid:4294967295",
            "80 uid:99999999999",
            "80 gid:1a",
            // Atoms the grammar does not know, or names (the loader translates them).
            "80 user:1",
            "80 UID:1",
            "80 uid:root",
            "80 /a b",
        ] {
            assert_eq!(rejected_line(&[], bad), Some(1));
        }
        Ok(())
    }

    #[test]
    fn every_atom_must_match() -> Result {
        let s = load(&[], "80 /a uid:33\n").map_err(|r| r.error)?;
        let program_and_uid = |atoms: &Atoms| {
            atoms.program.as_ref().map(|p| p.as_bytes()) == Some(&b"/a"[..])
                && atoms.uid == Some(33)
                && atoms.cgroup.is_none()
                && atoms.gid.is_none()
        };
        assert!(s.may_bind(80, Protocol::Tcp, |s| matches!(
            &**s,
            Subject::Tasks(atoms) if program_and_uid(atoms)
        )));
        // The identity module matches each atom; here only the rule's shape is checked, and
        // a task that is not the subject is denied.
        assert!(!s.may_bind(80, Protocol::Tcp, |_| false));
        // Several rules for a port are alternatives.
        let s = load(s.rules(), "80 uid:1337\n").map_err(|r| r.error)?;
        assert_eq!(&rendered(&s)[..], b"80 /a uid:33\n80 uid:1337\n");
        let mut seen = 0;
        assert!(s.may_bind(80, Protocol::Tcp, |_| {
            seen += 1;
            seen == 2
        }));
        Ok(())
    }

    #[test]
    fn atoms_sort_in_their_order() -> Result {
        let text = "80 uid:1\n80 /a\n80 /a uid:1\n80 gid:1\n80 cgroup:/c\n80 /a gid:1\n\
                    80 <kernel>\n80 uid:1 gid:1\n80 uid:2\n80 /a cgroup:/c\n";
        let s = load(&[], text).map_err(|r| r.error)?;
        let out = rendered(&s);
        assert_eq!(
            &out[..],
            &b"80 <kernel>\n80 /a cgroup:/c\n80 /a uid:1\n80 /a gid:1\n80 /a\n\
               80 cgroup:/c\n80 uid:1 gid:1\n80 uid:1\n80 uid:2\n80 gid:1\n"[..]
        );
        let again = load(&[], core::str::from_utf8(&out)?).map_err(|r| r.error)?;
        assert_eq!(&rendered(&again)[..], &out[..]);
        // Delete names the rule with all its atoms.
        let deleted = load(s.rules(), "delete 80 /a uid:1\n").map_err(|r| r.error)?;
        assert_eq!(deleted.rules().len(), 9);
        assert_eq!(rejected_line(s.rules(), "delete 80 /a uid:3\n"), Some(1));
        assert_eq!(rejected_line(s.rules(), "delete 80 uid:1 /a\n"), Some(1));
        Ok(())
    }

    #[test]
    fn selectors_reserve_one_protocol() -> Result {
        for bad in [
            "80/ /a",
            "80/TCP /a",
            "80/tcp/udp /a",
            "80/dccp /a",
            "80/mptcp /a",
            "/tcp /a",
            "80-/tcp /a",
            "80 /tcp",
        ] {
            // `80 /tcp` is the program /tcp: a valid rule.
            let expected = if bad == "80 /tcp" { None } else { Some(1) };
            assert_eq!(rejected_line(&[], bad), expected);
        }
        let text = "443/udp /quic\n443/tcp /web\n443 <kernel>\n132/sctp /s\n5000-5001/tcp /web\n";
        let s = load(&[], text).map_err(|r| r.error)?;
        let out = rendered(&s);
        assert_eq!(
            &out[..],
            &b"132/sctp /s\n443 <kernel>\n443/tcp /web\n443/udp /quic\n5000-5001/tcp /web\n"[..]
        );
        // 132: SCTP only; TCP and UDP binds and choices are free.
        assert!(!s.may_bind(132, Protocol::Sctp, |_| false));
        assert!(s.may_bind(132, Protocol::Tcp, |_| false));
        assert!(s.may_bind(132, Protocol::Udp, |_| false));
        assert!(s.skips(132, Some(Protocol::Sctp)));
        assert!(!s.skips(132, Some(Protocol::Tcp)));
        assert!(!s.skips(132, Some(Protocol::Udp)));
        // A protocol the LSM does not know is taken as every one.
        assert!(s.skips(132, None));
        // 443: the rule without a selector covers every protocol, each other rule its own.
        assert!(s.may_bind(443, Protocol::Udp, |s| is_program(s, b"/quic")));
        assert!(!s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/quic")));
        assert!(s.may_bind(443, Protocol::Tcp, |s| is_program(s, b"/web")));
        assert!(!s.may_bind(443, Protocol::Sctp, |s| is_program(s, b"/web")));
        assert!(s.skips(443, Some(Protocol::Sctp)));
        assert!(s.may_bind(5001, Protocol::Udp, |_| false));
        // Delete names the selector too.
        assert_eq!(rejected_line(s.rules(), "delete 443 /quic\n"), Some(1));
        let deleted = load(s.rules(), "delete 443/udp /quic\n").map_err(|r| r.error)?;
        assert!(!deleted.may_bind(443, Protocol::Udp, |s| is_program(s, b"/quic")));
        Ok(())
    }

    #[test]
    fn rules_share_their_program() -> Result {
        let s = load(&[], "1 /a\n2 /b\n3 /a\n4 <kernel>\n5 /a\n").map_err(|r| r.error)?;
        let rules = s.rules();
        assert_eq!(rules.len(), 5);
        assert!(Arc::ptr_eq(&rules[0].subject, &rules[2].subject));
        assert!(Arc::ptr_eq(&rules[0].subject, &rules[4].subject));
        assert!(!Arc::ptr_eq(&rules[0].subject, &rules[1].subject));
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

    // Builds tens of thousands of rules: seconds in the QEMU test kernel, minutes under UML,
    // so `kunit.py run` (UML) leaves it to the full run.
    #[cfg(not(CONFIG_UML))]
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
        assert!(s.may_bind(4242, Protocol::Tcp, |s| is_program(s, b"/a")));
        assert!(!s.may_bind(4242, Protocol::Tcp, |s| is_program(s, b"/b")));
        let more = load(s.rules(), "1 /b\n2 /b\n").err();
        assert_eq!(more.map(|r| r.error.to_errno()), Some(E2BIG.to_errno()));
        Ok(())
    }

    // Builds tens of thousands of rules: seconds in the QEMU test kernel, minutes under UML,
    // so `kunit.py run` (UML) leaves it to the full run.
    #[cfg(not(CONFIG_UML))]
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
