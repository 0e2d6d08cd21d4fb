#!/usr/bin/env python3
"""Adds up the KUnit (KTAP, from the kernel console) and kselftest (TAP, from the
guest's second serial port) results of one test boot.

Fails on a failed or skipped test, on a missing suite or test program, on a
test count that does not match its plan, on a kernel splat (BUG, WARNING,
Oops, lockdep or RCU complaints) and on a boot that did not finish.
Prints the failures, then one line: "N passed, N failed".
"""
import re
import sys

KUNIT_SUITES = {"kportreserve_policy", "kportreserve_net", "kportreserve_sockaddr",
                "kportreserve_securityfs", "kportreserve_boot", "kportreserve_report",
                # The rust/kernel abstractions the LSM is built on.
                "rust_kernel_ratelimit", "rust_kernel_lsm", "rust_kernel_path",
                "rust_kernel_securityfs", "rust_kernel_percpu"}
SELFTESTS = {"bind_test", "policy_test", "identity_test", "autobind_test", "sctp_test",
             "sunrpc_test", "loader_test", "lockdown_test", "boot_test", "audit_test",
             "counters_test"}
SPLATS = re.compile(r"BUG:|WARNING:|Oops|Kernel panic|general protection fault|"
                    r"possible recursive locking|possible circular locking|"
                    r"suspicious RCU usage|UBSAN:|KASAN:|rust_panic|panicked at")
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"^(\s*)(not ok|ok) (\d+) (.*?)(?: # (SKIP|TODO)\b(.*))?$")


def kunit(console, problems):
    """Counts KUnit test cases: the results one level inside each suite."""
    passed = failed = 0
    suite, plan, seen, found = None, None, 0, set()
    for raw in console:
        line = TIMESTAMP.sub("", raw.rstrip("\n"))
        m = re.match(r"^\s*# Subtest: (\S+)", line)
        if m:
            suite, plan, seen = m.group(1), None, 0
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


def kselftest(results, problems):
    """Counts the top-level results of each kselftest harness program."""
    passed = failed = 0
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
        m = re.match(r"^1\.\.(\d+)$", line)
        if m:
            plan = int(m.group(1))
            continue
        m = RESULT.match(line)
        if m and m.group(1) == "":
            _, status, _, name, directive, _ = m.groups()
            seen += 1
            if status == "ok" and directive != "SKIP":
                passed += 1
            else:
                failed += 1
                program_failed += 1
                problems.append(f"{program}.{name}: {status}{' # ' + directive if directive else ''}")
    for missing in sorted(SELFTESTS - found):
        failed += 1
        problems.append(f"kselftest {missing} did not run")
    if not done:
        failed += 1
        problems.append("the guest did not finish its tests (timeout or crash)")
    return passed, failed


def main():
    console_path, results_path = sys.argv[1], sys.argv[2]
    problems = []
    try:
        console = open(console_path, errors="replace").readlines()
    except OSError:
        console = []
    try:
        results = open(results_path, errors="replace").readlines()
    except OSError:
        results = []
    kp, kf = kunit(console, problems)
    sp, sf = kselftest(results, problems)
    splats = [TIMESTAMP.sub("", l).strip() for l in console if SPLATS.search(l)]
    for splat in splats[:20]:
        problems.append(f"kernel: {splat}")
    passed, failed = kp + sp, kf + sf + (1 if splats else 0)
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"KUnit: {kp} passed, {kf} failed; kselftest: {sp} passed, {sf} failed")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
