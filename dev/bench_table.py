#!/usr/bin/env python3
"""Prints dev/bench's table: bind_bench results of the boot without
kportreserve ("off") and with it ("on"), as ratios against the baseline (a)."""
import sys

off_path, on_path, iterations, repeats, profile = sys.argv[1:6]
results, memory = {}, {}
for path in (off_path, on_path):
    phase = "off" if path == off_path else "on"
    for line in open(path, errors="replace"):
        words = line.split()
        if words[:1] == ["RESULT"] and len(words) == 5:
            _, name, proto, low, median = words
            key = name if name != "exec" else f"exec_{phase}"
            results[(key, proto)] = (int(low), int(median))
        elif words[:1] == ["MEMORY"] and len(words) == 4:
            memory[int(words[1])] = (int(words[2]), int(words[3]))

kernel = "without lockdep/KASAN" if profile == "bench" else "test kernel, with lockdep and KASAN"
print(f"accelerator: QEMU TCG, -icount shift=0,sleep=off (guest ns = instructions), -smp 2; "
      f"{kernel}")
print(f"{iterations} iterations x {repeats} repeats; min and median ns per iteration")
rows = [
    ("a_baseline", "(a) kportreserve not in lsm="),
    ("b_empty", "(b) enabled, empty policy"),
    ("c_rules_1", "(c) 1 rule, port not reserved"),
    ("c_rules_1024", "(c) 1,024 rules, port not reserved"),
    ("c_rules_60000", "(c) 60,000 rules, port not reserved"),
    ("d_owner", "(d) owner binds its reserved port"),
    ("d_owner_uid", "(d') owner, PROGRAM uid:N, binds it"),
    ("e_denied", "(e) denied bind"),
    ("f_landlock", "(f) Landlock ruleset allowing the port"),
    ("h_cgroup", "(h) task of a cgroup rule binds its port"),
]
print(f"{'socket+bind+close':40} {'TCP min':>8} {'median':>8} {'ratio':>6} {'r(med)':>6}  "
      f"{'UDP min':>8} {'median':>8} {'ratio':>6} {'r(med)':>6}")
for key, label in rows:
    cells = []
    for proto in ("tcp", "udp"):
        got, base = results.get((key, proto)), results.get(("a_baseline", proto))
        if not got or got[0] < 0:
            cells.append(f"{'n/a':>8} {'':>8} {'':>6} {'':>6}")
            continue
        ratio = got[0] / base[0] if base and base[0] > 0 else float("nan")
        ratio_med = got[1] / base[1] if base and base[1] > 0 else float("nan")
        cells.append(f"{got[0]:>8} {got[1]:>8} {ratio:>6.3f} {ratio_med:>6.3f}")
    print(f"{label:40} {cells[0]}  {cells[1]}")
print(f"{'socket+connect+close, kernel picks port':40} {'TCP min':>8} {'median':>8} {'ratio':>6} "
      f"{'r(med)':>6}  {'UDP min':>8} {'median':>8} {'ratio':>6} {'r(med)':>6}")
for key, label in (("g_connect_off", "(g) kportreserve not in lsm="),
                   ("g_connect_empty", "(g) enabled, empty policy"),
                   ("g_connect_60000", "(g) 60,000 rules, none in the range")):
    cells = []
    for proto in ("tcp", "udp"):
        got, base = results.get((key, proto)), results.get(("g_connect_off", proto))
        if not got or got[0] < 0 or not base or base[0] <= 0:
            cells.append(f"{'n/a':>8} {'':>8} {'':>6} {'':>6}")
            continue
        cells.append(f"{got[0]:>8} {got[1]:>8} {got[0] / base[0]:>6.3f} {got[1] / base[1]:>6.3f}")
    print(f"{label:40} {cells[0]}  {cells[1]}")
print(f"{'in a new netns, same rows':40} {'TCP min':>8} {'median':>8} {'ratio':>6} "
      f"{'r(med)':>6}  {'UDP min':>8} {'median':>8} {'ratio':>6} {'r(med)':>6}")
for key, base_key, label in (
        ("c_netns_empty", "a_netns", "(c) bind, empty layer"),
        ("c_netns_60000", "a_netns", "(c) bind, 60,000-rule layer, not reserved"),
        ("g_connect_netns_empty", "g_connect_netns_off", "(g) connect, empty layer"),
        ("g_connect_netns_60000", "g_connect_netns_off", "(g) connect, 60,000 rules not in range")):
    cells = []
    for proto in ("tcp", "udp"):
        got, base = results.get((key, proto)), results.get((base_key, proto))
        if not got or got[0] < 0 or not base or base[0] <= 0:
            cells.append(f"{'n/a':>8} {'':>8} {'':>6} {'':>6}")
            continue
        cells.append(f"{got[0]:>8} {got[1]:>8} {got[0] / base[0]:>6.3f} {got[1] / base[1]:>6.3f}")
    print(f"{label:40} {cells[0]}  {cells[1]}")
eo, en = results.get(("exec_off", "-")), results.get(("exec_on", "-"))
if eo and en:
    print(f"{'fork+execve+wait, off / on (min)':40} {eo[0]:>8} {en[0]:>8} {en[0] / eo[0]:>6.3f}")
print("policy load (one write, clear + N rules):")
for n in (1, 1024, 60000):
    load = results.get((f"load_{n}", "-"))
    mem = memory.get(n)
    if not load:
        continue
    line = f"  {n:>6} rules: {load[0] / 1e6:9.3f} ms ({load[0] / n:8.0f} ns/rule)"
    if mem:
        delta, paths = mem
        # All rules of a benchmark policy name one program: its path is stored once.
        line += f", slab+vmalloc {delta / 1024:6.0f} KiB = {delta / n:6.1f} B/rule"
    print(line)
