#!/usr/bin/env python3
"""Adds up the KUnit (KTAP, from the kernel console) and kselftest (TAP, from the
guest's second serial port) results of the test boot, and compares it with the
peer boot, the same kernel without KPortReserve:

- the differential test: the calls of socket_calls, under an empty policy and
  under one that covers none of their ports, must give what they gave without
  KPortReserve, call for call (one result each);
- the kernel's own suites: every test that passed without KPortReserve must
  pass with it and a policy loaded (one result per suite);

and counts the TAP results of the systemd guest's checks (dev/guest/systemd)
and of the stacking boots (bind_test and stacking_test beside other LSMs,
where stacking_test must have checked every LSM the boot's lsm= names that
it has checks for).

Fails on a failed or skipped test, on a missing suite or test program, on a
test count that does not match its plan, on a kernel splat (BUG, WARNING,
Oops, lockdep or RCU complaints) in either boot and on a boot that did not
finish.
Prints the failures, then one line: "N passed, N failed".
"""
import re
import sys

KUNIT_SUITES = {"kportreserve_policy", "kportreserve_net", "kportreserve_sockaddr",
                "kportreserve_securityfs", "kportreserve_boot", "kportreserve_report",
                "kportreserve_counters",
                # The rust/kernel abstractions the LSM is built on.
                "rust_kernel_ratelimit", "rust_kernel_lsm", "rust_kernel_path",
                "rust_kernel_securityfs", "rust_kernel_cgroup"}
SELFTESTS = {"bind_test", "policy_test", "identity_test", "autobind_test", "sctp_test",
             "sunrpc_test", "loader_test", "lockdown_test", "boot_test", "audit_test",
             "counters_test", "fuzz_test", "cgroup_test", "stacking_test", "stress_test",
             "failed_bind_test", "kernel_service_test", "netns_test"}
# What a stacking boot runs, and the LSMs stacking_test has checks for (its
# fixtures, named after them).
STACKING_SELFTESTS = {"bind_test", "stacking_test"}
STACKING_CHECKS = {"landlock", "yama", "selinux", "apparmor", "smack", "tomoyo", "safesetid",
                   "lockdown"}
SPLATS = re.compile(r"BUG:|WARNING:|Oops|Kernel panic|general protection fault|"
                    r"possible recursive locking|possible circular locking|"
                    r"suspicious RCU usage|UBSAN:|KASAN:|rust_panic|panicked at")
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"^(\s*)(not ok|ok) (\d+) (.*?)(?: # (SKIP|TODO)\b(.*))?$")


def tap_plan(line):
    """The count of a top-level TAP plan line ("1..N"), else None."""
    m = re.match(r"^1\.\.(\d+)$", line)
    return int(m.group(1)) if m else None


def tap_result(line):
    """A top-level TAP result line as (name, passed, outcome), else None; a
    SKIP does not pass."""
    m = RESULT.match(line)
    if not m or m.group(1) != "":
        return None
    _, status, _, name, directive, _ = m.groups()
    return (name, status == "ok" and directive != "SKIP",
            f"{status}{' # ' + directive if directive else ''}")


def kunit(console, problems):
    """Counts KUnit test cases: the results one level inside each suite, as
    the kernel ran them at boot. A suite's later runs, through KUnit's debugfs
    "run" file (lockdown_test re-runs some and checks them itself), are not
    counted again."""
    passed = failed = 0
    suite, plan, seen, found = None, None, 0, set()
    for raw in console:
        line = TIMESTAMP.sub("", raw.rstrip("\n"))
        m = re.match(r"^\s*# Subtest: (\S+)", line)
        if m:
            suite, plan, seen = m.group(1), None, 0
            if suite in found:
                suite = None
            continue
        if suite is None:
            continue
        m = re.match(r"^    1\.\.(\d+)$", line)
        if m:
            plan = int(m.group(1))
            continue
        m = RESULT.match(line)
        if not m:
            continue
        indent, status, _, name, directive, _ = m.groups()
        if len(indent) == 4:
            seen += 1
            if status == "ok" and directive != "SKIP":
                passed += 1
            else:
                failed += 1
                problems.append(f"KUnit {suite}.{name}: {status}{' # ' + directive if directive else ''}")
        elif indent == "":
            if suite in KUNIT_SUITES:
                found.add(suite)
            if plan is not None and seen != plan:
                failed += 1
                problems.append(f"KUnit {suite}: {seen} results for a plan of {plan}")
            suite = None
    for missing in sorted(KUNIT_SUITES - found):
        failed += 1
        problems.append(f"KUnit suite {missing} did not run")
    return passed, failed


def kselftest(results, problems, required=SELFTESTS, label="", passed_names=None):
    """Counts the top-level results of each kselftest harness program; each
    program in @required must have run. Problems are prefixed with @label;
    the names of the passed results go into @passed_names[program]."""
    passed = failed = 0
    problems_before = len(problems)
    program, plan, seen, program_failed, found, done = None, None, 0, 0, set(), False
    for raw in results:
        line = raw.rstrip("\r\n")
        if line.startswith("KPR-BEGIN "):
            program, plan, seen, program_failed = line.split()[1], None, 0, 0
            continue
        if line.startswith("KPR-END "):
            found.add(program)
            rc = line.rsplit("rc=", 1)[-1]
            if plan is None or seen != plan:
                failed += 1
                problems.append(f"{program}: {seen} results for a plan of {plan}")
            elif rc != "0" and program_failed == 0:
                failed += 1
                problems.append(f"{program}: exit status {rc} with every test passing")
            program = None
            continue
        if line == "KPR-DONE":
            done = True
            continue
        if program is None:
            continue
        if tap_plan(line) is not None:
            plan = tap_plan(line)
            continue
        result = tap_result(line)
        if result:
            name, ok, outcome = result
            seen += 1
            if ok:
                passed += 1
                if passed_names is not None:
                    passed_names.setdefault(program, set()).add(name)
            else:
                failed += 1
                program_failed += 1
                problems.append(f"{program}.{name}: {outcome}")
    for missing in sorted(required - found):
        failed += 1
        problems.append(f"kselftest {missing} did not run")
    if not done:
        failed += 1
        problems.append("the guest did not finish its tests (timeout or crash)")
    problems[problems_before:] = [label + p for p in problems[problems_before:]]
    return passed, failed


CALL_LABELS = ("empty", "uncovered")
# The programs dev/peer/run runs, each required in both boots.
PEER_SUITES = {"bind_bhash", "bind_timewait", "bind_wildcard", "ip_local_port_range",
               "reuseaddr_conflict", "reuseaddr_ports_exhausted", "reuseport_addr_any",
               "reuseport_dualstack", "reuseport_bpf_cpu", "sk_bind_sendto_listen",
               "sk_connect_zero_addr", "landlock/base_test", "landlock/net_test",
               "landlock/ptrace_test", "landlock/scoped_abstract_unix_test",
               "landlock/scoped_signal_test", "landlock/scoped_test", "landlock/tsync_test"}


def blocks(lines, kind):
    """The lines between "KPR-<kind>-BEGIN name" and "KPR-<kind>-END name rc=N",
    and the exit status, by name; and whether the boot finished."""
    found, name, done = {}, None, False
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line.startswith(f"KPR-{kind}-BEGIN "):
            name = line.split()[1]
            found[name] = ([], None)
        elif line.startswith(f"KPR-{kind}-END ") and name is not None:
            found[name] = (found[name][0], line.rsplit("rc=", 1)[-1])
            name = None
        elif line == "KPR-DONE":
            done = True
        elif name is not None:
            found[name][0].append(line)
    return found, done


def differential(on, off, problems):
    """One result per policy of the test boot: its calls gave, call for call,
    what they gave without KPortReserve."""
    passed = failed = 0
    on_calls, _ = blocks(on, "CALLS")
    off_calls, _ = blocks(off, "CALLS")
    reference = off_calls.get("off", ([], None))[0]
    if not any(l.startswith("CALLS-DONE ") for l in reference):
        failed += 1
        problems.append("differential: the peer boot did not make its calls")
    if any(l.startswith("KPR-POLICY-FAILED") for l in on):
        failed += 1
        problems.append("differential: the uncovered policy could not be loaded")
    for label in CALL_LABELS:
        calls = on_calls.get(label, ([], None))[0]
        diffs = [(a, b) for a, b in zip(reference, calls) if a != b]
        if not any(l.startswith("CALLS-DONE ") for l in calls):
            diffs.append(("(all calls)", "(missing)"))
        elif len(calls) != len(reference):
            diffs.append((f"{len(reference)} lines", f"{len(calls)} lines"))
        if reference and not diffs:
            passed += 1
            print(f"differential, {label} policy: {len(calls) - 1} calls, "
                  "every result as without KPortReserve")
        else:
            failed += 1
            for without, with_ in diffs[:5]:
                problems.append(f"differential, {label} policy: without KPortReserve "
                                f"{without!r}, with it {with_!r}")
    return passed, failed


def passing(block):
    """What a test program passed: the names of its top-level TAP results that
    passed, and "exit status 0" if it exited 0 (the only result of a program
    that prints no TAP); and how many results it had."""
    tap, rc = block
    names, ran = set(), 1
    if rc == "0":
        names.add("exit status 0")
    for line in tap:
        result = tap_result(line)
        if result:
            ran += 1
            if result[1]:
                names.add(result[0])
    return names, ran


def peers(on, off, problems):
    """One result per suite: every test that passed without KPortReserve
    passed with it; the net suites also each in a new network namespace
    ("netns/name"), against the same suite without KPortReserve."""
    passed = failed = 0
    on_suites, _ = blocks(on, "PEER")
    off_suites, _ = blocks(off, "PEER")
    netns = {"netns/" + s for s in PEER_SUITES if not s.startswith("landlock/")}
    for suite in sorted(set(on_suites) | set(off_suites) | PEER_SUITES | netns):
        off_suite = suite.removeprefix("netns/")
        off_pass, off_ran = passing(off_suites.get(off_suite, ([], None)))
        on_pass, on_ran = passing(on_suites.get(suite, ([], None)))
        lost = sorted(off_pass - on_pass)
        print(f"peer suite {suite}: passed {len(off_pass)} of {off_ran} without "
              f"KPortReserve, {len(on_pass)} of {on_ran} with it")
        if suite in on_suites and off_suite in off_suites and off_pass and not lost:
            passed += 1
        else:
            failed += 1
            if not off_pass:
                problems.append(f"peer suite {suite}: nothing passed without KPortReserve")
            for name in lost[:10]:
                problems.append(f"peer suite {suite}: {name} passed without KPortReserve only")
    return passed, failed


def systemd_guest(results, problems):
    """The systemd guest's checks: its TAP results, all of its plan, and the
    guest finished."""
    passed = failed = 0
    plan, seen, done = None, 0, False
    for raw in results:
        line = raw.rstrip("\r\n")
        if line.startswith("KPR-SYSTEMD-DONE"):
            done = True
            continue
        if tap_plan(line) is not None:
            plan = tap_plan(line)
            continue
        result = tap_result(line)
        if result:
            name, ok, outcome = result
            seen += 1
            if ok:
                passed += 1
            else:
                failed += 1
                problems.append(f"systemd guest: {name}: {outcome}")
    if plan is None or seen != plan:
        failed += 1
        problems.append(f"systemd guest: {seen} results for a plan of {plan}")
    if not done:
        failed += 1
        problems.append("the systemd guest did not finish its checks (timeout or crash)")
    return passed, failed


def stacking_boot(name, console, results, problems):
    """A stacking boot: bind_test and stacking_test passed, and stacking_test
    checked each LSM of the boot's lsm= that it has checks for."""
    label = f"stacking boot {name}: "
    names = {}
    passed, failed = kselftest(results, problems, STACKING_SELFTESTS, label, names)
    cmdline = next((l for l in console if "Kernel command line:" in l), "")
    m = re.search(r"\blsm=(\S+)", cmdline)
    lsms = m.group(1).split(",") if m else []
    if not lsms:
        failed += 1
        problems.append(label + "no lsm= on the kernel command line")
    checked = {n.split(".")[0] for n in names.get("stacking_test", set())}
    for lsm in lsms:
        if lsm in STACKING_CHECKS and lsm not in checked:
            failed += 1
            problems.append(label + f"stacking_test did not pass a check of {lsm}")
    print(f"stacking boot {name}: lsm={','.join(lsms)}, {passed} passed, {failed} failed")
    return passed, failed


def lockdep_off(console, label, problems):
    """1 if the guest's init did not print, at the end of the boot, that
    lockdep was still on (it turns itself off after its first report, and
    some of those, such as a non-static key, are not splats), else 0."""
    if any("kpr: lockdep debug_locks=1" in l for l in console):
        return 0
    problems.append(label + "lockdep was not on at the end of the boot")
    return 1


def read_lines(path):
    """The lines of the file at @path; none if it cannot be read."""
    try:
        with open(path, errors="replace") as f:
            return f.readlines()
    except OSError:
        return []


def main():
    console_path, results_path = sys.argv[1], sys.argv[2]
    problems = []
    console = read_lines(console_path)
    results = read_lines(results_path)
    peer_console = read_lines(sys.argv[3]) if len(sys.argv) > 3 else []
    peer_results = read_lines(sys.argv[4]) if len(sys.argv) > 4 else []
    systemd_console = read_lines(sys.argv[5]) if len(sys.argv) > 5 else []
    systemd_results = read_lines(sys.argv[6]) if len(sys.argv) > 6 else []
    kp, kf = kunit(console, problems)
    sp, sf = kselftest(results, problems)
    dp, df = differential(results, peer_results, problems)
    pp, pf = peers(results, peer_results, problems)
    gp, gf = systemd_guest(systemd_results, problems) if len(sys.argv) > 5 else (0, 0)
    # Then NAME CONSOLE RESULTS of each stacking boot.
    stack_splats = []
    for i in range(7, len(sys.argv) - 2, 3):
        name = sys.argv[i]
        stack_console = read_lines(sys.argv[i + 1])
        p, f = stacking_boot(name, stack_console, read_lines(sys.argv[i + 2]), problems)
        f += lockdep_off(stack_console, f"stacking boot {name}: ", problems)
        gp, gf = gp + p, gf + f
        stack_splats += [f"stacking boot {name}: " + TIMESTAMP.sub("", l).strip()
                         for l in stack_console if SPLATS.search(l)]
    if not blocks(peer_results, "PEER")[1]:
        pf += 1
        problems.append("the peer boot did not finish (timeout or crash)")
    sf += lockdep_off(console, "test boot: ", problems)
    pf += lockdep_off(peer_console, "peer boot: ", problems)
    splats = [TIMESTAMP.sub("", l).strip() for l in console if SPLATS.search(l)]
    splats += ["peer boot: " + TIMESTAMP.sub("", l).strip()
               for l in peer_console if SPLATS.search(l)]
    splats += ["systemd guest: " + TIMESTAMP.sub("", l).strip()
               for l in systemd_console if SPLATS.search(l)]
    splats += stack_splats
    for splat in splats[:20]:
        problems.append(f"kernel: {splat}")
    sp, sf = sp + dp + pp + gp, sf + df + pf + gf
    passed, failed = kp + sp, kf + sf + (1 if splats else 0)
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"KUnit: {kp} passed, {kf} failed; kselftest: {sp} passed, {sf} failed")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
