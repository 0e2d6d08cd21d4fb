// SPDX-License-Identifier: GPL-2.0-only

//! The layers of the network namespaces other than the initial one: the template, whose
//! rules apply in every such namespace, and each namespace's own; and [`Layer`], which names
//! any layer (the initial namespace's policy too) for the files that write them.
//!
//! A bind of a reserved port in such a namespace must be admitted by every layer that
//! reserves the port; automatic choice skips a port any of them reserves. The initial
//! namespace's policy (see [`crate::policy`]) is not one of its layers. A namespace's own
//! layer starts empty, as `ip_local_reserved_ports` does, and is freed when it dies.
//!
//! The hooks first ask [`in_use()`], one load: until some layer here holds a rule, binds in
//! the initial namespace pay nothing more, and binds elsewhere nothing at all.

use kernel::{
    net::namespace::{
        Net,
        Pernet,
        PernetData, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        rcu,
        Arc,
        ArcBorrow,
        GlobalGuard, //
    },
};

use crate::{
    grammar::{
        Line,
        Rejection, //
    },
    policy::{
        self,
        Retired,
        Slot,
        WRITER, //
    },
    rule::{
        Protocol,
        Subject, //
    },
    ruleset::{
        apply,
        Snapshot, //
    },
};

/// What every network namespace holds: its own layer.
///
/// All zeroes is an empty, unlocked layer, as a new namespace's is.
struct NetLayer {
    slot: Slot,
    /// Whether a `lock` line in the namespace's own file applied: the layer is fixed until
    /// the namespace dies. Set only under [`WRITER`].
    locked: Atomic<bool>,
}

// SAFETY: An empty slot is all zeroes, and so is `false`.
unsafe impl pin_init::Zeroable for NetLayer {}

/// The registration of every namespace's [`NetLayer`].
static LAYERS: Pernet<NetLayer> = Pernet::new();

impl PernetData for NetLayer {
    fn registration() -> &'static Pernet<Self> {
        &LAYERS
    }

    /// Frees the dying namespace's rules, after a grace period: its own kernel sockets may
    /// still choose ports until then.
    fn exit(_net: &Net, layer: &Self) {
        // No writer can be at work: each holds a reference to the namespace, through its file.
        if layer.slot.is_empty() {
            return;
        }
        let mut writer = WRITER.lock();
        let retired = layer.slot.replace(&mut writer, None);
        set_layers_with_rules(&writer, layers_with_rules(&writer) - 1);
        drop(writer);
        drop(retired);
    }
}

/// The template: rules in force in every network namespace but the initial one.
static TEMPLATE: Slot = Slot::new();

/// Number of namespaces whose own layer holds a rule. Written only under [`WRITER`].
static LAYERS_WITH_RULES: Atomic<usize> = Atomic::new(0);

/// Whether the template or some namespace's own layer holds a rule.
///
/// # Invariants
///
/// Written only under [`WRITER`]. Set before the first rule of a layer is published, and
/// cleared only after the last one is gone, so that no hook that reads it false misses a
/// rule in force.
static IN_USE: Atomic<bool> = Atomic::new(false);

fn layers_with_rules(_writer: &GlobalGuard<WRITER>) -> usize {
    // ORDERING: Written only under `WRITER`, which the caller holds.
    LAYERS_WITH_RULES.load(Relaxed)
}

fn set_layers_with_rules(_writer: &GlobalGuard<WRITER>, count: usize) {
    // ORDERING: As above.
    LAYERS_WITH_RULES.store(count, Relaxed);
    // INVARIANT: Called after the layers changed: clears it once none holds a rule.
    IN_USE.store(count != 0 || !TEMPLATE.is_empty(), Relaxed);
}

/// Registers the layers of every namespace; the LSM's `initcall_fs` calls it, before the
/// files that write them exist.
pub(crate) fn init() -> Result {
    // SAFETY: The initcall runs once, before anything else registers `LAYERS`.
    unsafe { LAYERS.register() }
        .inspect_err(|err| pr_err!("cannot register the namespaces' layers: {:?}\n", err))
}

/// Returns whether some layer of a namespace other than the initial one holds a rule: one
/// load with no lock, for the hooks to ask before anything else.
#[inline]
pub(crate) fn in_use() -> bool {
    // ORDERING: A bind racing with the first write to a layer may see either state, as it may
    // see either policy.
    //
    // A `READ_ONCE()`, written out, for the reason `policy::is_reserved()` gives.
    // SAFETY: `IN_USE` is a static, valid and aligned; every store to it is atomic, and a
    // volatile load of it is the `READ_ONCE()` the LKMM allows to race with them.
    unsafe { IN_USE.as_ptr().read_volatile() }
}

/// The layers of `net` that reserve `port`, with references of their own: the template's,
/// then the namespace's own.
fn reserving(net: &Net, port: u16) -> [Option<Arc<Snapshot>>; 2] {
    let guard = rcu::read_lock();
    layers(net, &guard).map(|layer| {
        layer
            .filter(|snapshot| snapshot.is_reserved(port))
            .map(Arc::from)
    })
}

/// Decides a bind of `port` of `protocol` in `net`, not the initial namespace: every layer
/// that reserves the port must admit the task `is_task` recognises. May sleep in `is_task`,
/// which runs with no RCU read lock held.
pub(crate) fn may_bind(
    net: &Net,
    port: u16,
    protocol: Protocol,
    mut is_task: impl FnMut(&Arc<Subject>) -> bool,
) -> bool {
    if !in_use() {
        return true;
    }
    reserving(net, port)
        .iter()
        .flatten()
        .all(|snapshot| snapshot.may_bind(port, protocol, &mut is_task))
}

/// Borrows the layers of `net` for as long as `guard` holds the RCU read lock: the
/// template's, then the namespace's own.
fn layers<'a>(net: &Net, guard: &'a rcu::Guard) -> [Option<ArcBorrow<'a, Snapshot>>; 2] {
    [
        TEMPLATE.borrow(guard),
        LAYERS.get(net).and_then(|layer| layer.slot.borrow(guard)),
    ]
}

/// Returns whether some layer of `net`, not the initial namespace, reserves `port` for some
/// protocol: the bitmaps only, for the bind hook to ask before anything else.
pub(crate) fn is_reserved(net: &Net, port: u16) -> bool {
    if !in_use() {
        return false;
    }
    let guard = rcu::read_lock();
    layers(net, &guard)
        .iter()
        .flatten()
        .any(|snapshot| snapshot.is_reserved(port))
}

/// Returns whether automatic port choice in `net`, not the initial namespace, skips `port`:
/// whether any of its layers reserves it for the socket's protocol, which `protocol` gives
/// (`None`: one the LSM does not know) and is asked only for a reserved port. No lock but the
/// RCU read lock, and no allocation: safe in atomic context.
pub(crate) fn skips(net: &Net, port: u16, protocol: impl Fn() -> Option<Protocol>) -> bool {
    if !in_use() {
        return false;
    }
    let guard = rcu::read_lock();
    let mut skipped = false;
    // Each layer counts its own skips.
    for snapshot in layers(net, &guard).iter().flatten() {
        if snapshot.is_reserved(port) {
            skipped |= snapshot.skips(port, protocol());
        }
    }
    skipped
}

/// A layer of policy, as the files that read and write it name it.
pub(crate) enum Layer {
    /// The initial network namespace's: the `policy` file.
    Initial,
    /// The template for every other namespace: the `netns-default` file.
    Template,
    /// The own layer of a namespace other than the initial one, held while the file is
    /// open: the `netns` file.
    Namespace(ARef<Net>),
}

impl Layer {
    /// The layer of the current task's network namespace: its own, or the initial one's.
    pub(crate) fn of_current() -> Result<Self> {
        let net = Net::current().ok_or(ESRCH)?;
        Ok(if net.is_initial() {
            Self::Initial
        } else {
            Self::Namespace(net)
        })
    }

    /// The name of the file that writes the layer, as log lines and audit records say it.
    pub(crate) fn file_name(&self) -> &'static str {
        match self {
            Self::Initial => "policy",
            Self::Template => "netns-default",
            Self::Namespace(_) => "netns",
        }
    }

    /// The id of the namespace whose own layer this is (`NS_GET_ID`).
    pub(crate) fn net_id(&self) -> Option<u64> {
        match self {
            Self::Namespace(net) => Some(net.id()),
            _ => None,
        }
    }

    /// The own layer of the namespace, or `None` for another layer.
    fn net_layer(&self) -> Option<&NetLayer> {
        match self {
            // Registered before the files that make a `Layer` exist.
            Self::Namespace(net) => LAYERS.get(net),
            _ => None,
        }
    }

    /// The slot of the layer; `None` for the initial namespace's, which the policy publishes
    /// with its bitmap, and for a namespace before the layers are registered.
    fn slot(&self) -> Option<&Slot> {
        match self {
            Self::Initial => None,
            Self::Template => Some(&TEMPLATE),
            Self::Namespace(_) => self.net_layer().map(|layer| &layer.slot),
        }
    }

    /// Returns a reference to the layer's snapshot, or `None` when it holds no rule.
    pub(crate) fn current(&self) -> Option<Arc<Snapshot>> {
        match self {
            Self::Initial => policy::current(),
            _ => self.slot()?.current(),
        }
    }

    /// Returns whether no write may change the layer: everything is locked, or the
    /// namespace's own layer is.
    pub(crate) fn is_locked(&self) -> bool {
        // ORDERING: Writers check it again under `WRITER`; readers only report it.
        policy::is_locked()
            || self
                .net_layer()
                .is_some_and(|layer| layer.locked.load(Relaxed))
    }

    /// Applies a batch of parsed lines to the layer, all or nothing, as
    /// [`policy::update()`] does for the initial namespace's. A `lock` line locks
    /// everything from the template, the namespace's own layer from its file.
    ///
    /// The caller holds [`WRITER`]; the replaced snapshot is released after an RCU grace
    /// period, once the caller has dropped the lock.
    pub(crate) fn update(
        &self,
        writer: &mut GlobalGuard<WRITER>,
        lines: &[Line],
    ) -> Result<Retired, Rejection> {
        let slot = match self {
            Self::Initial => return policy::update(writer, lines),
            _ => self.slot().ok_or(Rejection {
                line: 0,
                reason: "the namespaces' layers are not registered",
                error: ENODEV,
            })?,
        };
        if self.is_locked() {
            return Err(Rejection {
                line: 0,
                reason: "the layer is locked",
                error: EPERM,
            });
        }
        let snapshot = policy::next_snapshot(writer, slot, lines)?;
        let (had_rules, has_rules) = (!slot.is_empty(), snapshot.is_some());
        if has_rules {
            // INVARIANT: Set before the rules are published.
            IN_USE.store(true, Relaxed);
        }
        let retired = slot.replace(writer, snapshot);
        if let Self::Namespace(_) = self {
            let count = layers_with_rules(writer) + usize::from(has_rules);
            set_layers_with_rules(writer, count - usize::from(had_rules));
        } else {
            set_layers_with_rules(writer, layers_with_rules(writer));
        }
        if policy::has_lock(lines) {
            match self.net_layer() {
                Some(layer) => layer.locked.store(true, Relaxed),
                None => policy::lock(writer),
            }
        }
        Ok(retired)
    }

    /// Checks that `lines` would apply to the layer as it is now, changing nothing.
    pub(crate) fn check(&self, lines: &[Line]) -> Result<(), Rejection> {
        let snapshot = self.current();
        let rules = snapshot.as_deref().map_or(&[][..], Snapshot::rules);
        apply(rules, lines).map(drop)
    }
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_netns)]
mod tests {
    use super::*;
    use crate::grammar;

    /// Applies policy text to `layer`.
    fn write(layer: &Layer, text: &str) -> Result {
        let lines = grammar::parse(text.as_bytes(), 1).map_err(|r| r.error)?;
        let mut writer = WRITER.lock();
        let retired = layer.update(&mut writer, &lines).map_err(|r| r.error)?;
        drop(writer);
        drop(retired);
        Ok(())
    }

    /// The current task's namespace, the initial one, stands in for another: it has its own
    /// layer as every namespace has, and `may_bind()` and `skips()` look at the layers only.
    /// `None` where KPortReserve is built but not enabled, and the layers are not registered.
    fn namespace() -> Option<(ARef<Net>, Layer)> {
        let net = Net::current()?;
        LAYERS.get(&net)?;
        Some((net.clone(), Layer::Namespace(net)))
    }

    #[test]
    fn every_layer_that_reserves_a_port_must_admit() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let Some((net, own)) = namespace() else {
            return Ok(());
        };
        write(
            &Layer::Template,
            "clear\n41000 /a\n41000 /b\n41001 <kernel>\n",
        )?;
        write(&own, "clear\n41000 /b\n41002/udp /c\n")?;
        let may = |port, protocol, path: &'static [u8]| {
            may_bind(&net, port, protocol, |s| s.is_program_alone(path))
        };
        // Both layers reserve 41000: only /b is in both.
        assert!(may(41000, Protocol::Tcp, b"/b"));
        assert!(!may(41000, Protocol::Tcp, b"/a"));
        assert!(!may(41000, Protocol::Tcp, b"/c"));
        // Only the template reserves 41001, only the namespace 41002, for UDP.
        assert!(!may(41001, Protocol::Tcp, b"/b"));
        assert!(may(41002, Protocol::Udp, b"/c"));
        assert!(!may(41002, Protocol::Udp, b"/b"));
        assert!(may(41002, Protocol::Tcp, b"/b"));
        assert!(may(41003, Protocol::Tcp, b"/x"));
        // Automatic choice skips what either layer reserves.
        for port in [41000, 41001] {
            assert!(skips(&net, port, || Some(Protocol::Tcp)));
        }
        assert!(skips(&net, 41002, || Some(Protocol::Udp)));
        assert!(!skips(&net, 41002, || Some(Protocol::Tcp)));
        assert!(!skips(&net, 41003, || None));
        // The policy of the initial namespace is no layer of another.
        write(&Layer::Initial, "clear\n41003 <kernel>\n")?;
        assert!(may(41003, Protocol::Tcp, b"/x"));
        assert!(!skips(&net, 41003, || None));
        write(&Layer::Initial, "clear\n")?;
        // Deleting the template's rule frees the port of the namespace's own rules only.
        write(&Layer::Template, "delete 41000 /a\ndelete 41000 /b\n")?;
        assert!(may(41000, Protocol::Tcp, b"/b"));
        assert!(!may(41000, Protocol::Tcp, b"/a"));
        write(&own, "clear\n")?;
        assert!(in_use());
        write(&Layer::Template, "clear\n")?;
        assert!(!in_use());
        assert!(may(41000, Protocol::Tcp, b"/a"));
        assert!(!skips(&net, 41001, || None));
        Ok(())
    }

    #[test]
    fn a_namespace_lock_fixes_its_layer_only() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let Some((net, own)) = namespace() else {
            return Ok(());
        };
        write(&own, "clear\n41010 /a\nlock\n")?;
        assert!(own.is_locked());
        assert!(!Layer::Template.is_locked());
        assert_eq!(write(&own, "clear\n"), Err(EPERM));
        write(&Layer::Template, "41011 /a\n")?;
        write(&Layer::Template, "clear\n")?;
        // Only the namespace's death unlocks and frees its layer: do what its exit does.
        NetLayer::exit(&net, LAYERS.get(&net).ok_or(ENODEV)?);
        LAYERS.get(&net).ok_or(ENODEV)?.locked.store(false, Relaxed);
        assert!(!own.is_locked());
        assert!(own.current().is_none());
        assert!(!in_use());
        Ok(())
    }

    #[test]
    fn a_template_lock_locks_everything() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let Some((_net, own)) = namespace() else {
            return Ok(());
        };
        write(&Layer::Template, "clear\n41020 /a\nlock\n")?;
        assert!(policy::is_locked());
        assert!(own.is_locked());
        assert_eq!(write(&own, "41021 /a\n"), Err(EPERM));
        assert_eq!(write(&Layer::Initial, "41021 /a\n"), Err(EPERM));
        // The lock ends with the test; the template's rule does not.
        let mut writer = WRITER.lock();
        let retired = TEMPLATE.replace(&mut writer, None);
        set_layers_with_rules(&writer, layers_with_rules(&writer));
        drop(writer);
        drop(retired);
        Ok(())
    }
}
