#!/usr/bin/env python3
"""Accounting for one fault scenario (tests/faults/run.sh); python3 standard library only.

Reads the listener logs (format in tests/faults/listener.rs), the dead-letter topic's keys and
the group's offsets, prints exactly one line on stdout

    fault <name>: produced=N handled_unique=U lost=L duplicates=D committed_at_log_end=yes|no

and the reasons for a failure on stderr; exits 0 when the scenario passed, 1 when it failed.
"""

import argparse
import collections
import glob
import os
import sys


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--produced", type=int, required=True)
    p.add_argument("--logs", required=True, help="directory of <member>.log files")
    p.add_argument("--offsets", required=True, help="output of `fault-listener offsets`")
    p.add_argument("--dlt", help="output of `fault-listener dump` on <topic>-dlt")
    p.add_argument("--poison-every", type=int, default=0)
    p.add_argument("--max-duplicates", type=int, default=0)
    p.add_argument("--no-overlap", action="store_true",
                   help="fail if two members handled one record at overlapping times "
                        "(the deliberately slow record itself excepted, see below)")
    p.add_argument("--split", help="expected partition counts per member at the end, e.g. 2,2,2")
    p.add_argument("--assignments", help="file of the members' assignments when consumption ended")
    p.add_argument("--max-gap-ms", type=int, default=0,
                   help="fail if handling paused longer than this between the first and the "
                        "last handled record")
    p.add_argument("--committed-while-running", choices=("yes", "no"), default="yes",
                   help="whether the committed offsets reached the log end while the members "
                        "still ran (run.sh); the offsets file is read after they left")
    p.add_argument("--note", action="append", default=[], help="a failure found by run.sh")
    return p.parse_args()


def main():
    a = parse_args()
    problems = list(a.note)
    handled = collections.defaultdict(list)  # key index -> [(member, partition, offset, start, end, kind)]
    failed = collections.Counter()
    cancelled = collections.defaultdict(list)  # key index -> handlings cut short (C lines)
    for path in sorted(glob.glob(os.path.join(a.logs, "*.log"))):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if parts[0] in ("H", "S", "F", "C"):
                    if len(parts) != 7:
                        # A line cut by SIGKILL cannot happen (one write per line), but say so.
                        problems.append(f"{path}:{n}: malformed line {line.strip()!r}")
                        continue
                    kind, member, p, off, idx, start, end = parts
                    entry = (member, int(p), int(off), int(start), int(end), kind)
                    if kind == "F":
                        failed[int(idx)] += 1
                    elif kind == "C":
                        cancelled[int(idx)].append(entry)
                    else:
                        handled[int(idx)].append(entry)

    n = a.produced
    outside = [k for k in handled if not 0 <= k < n]
    if outside:
        problems.append(f"{len(outside)} handled keys outside 0..{n}: {sorted(outside)[:5]}")

    dlt = collections.Counter()
    if a.dlt:
        with open(a.dlt) as f:
            for line in f:
                line = line.strip()
                if line.startswith("k-"):
                    dlt[int(line[2:])] += 1

    if a.poison_every:
        poison = {k for k in range(n) if k % a.poison_every == a.poison_every - 1}
        wrongly_handled = sorted(poison & handled.keys())
        if wrongly_handled:
            problems.append(f"poison records reported handled: {wrongly_handled[:5]}")
        missing_dlt = sorted(poison - dlt.keys())
        if missing_dlt:
            problems.append(f"{len(missing_dlt)} poison records not in the dead-letter topic, "
                            f"e.g. {missing_dlt[:5]}")
        not_poison = sorted(dlt.keys() - poison)
        if not_poison:
            problems.append(f"{len(not_poison)} good records dead-lettered, e.g. {not_poison[:5]}")
    elif dlt:
        problems.append(f"{sum(dlt.values())} records dead-lettered in a scenario without poison")

    covered = handled.keys() | dlt.keys()
    lost_keys = sorted(set(range(n)) - covered)
    lost = len(lost_keys)
    if lost:
        problems.append(f"lost {lost} records, e.g. keys {lost_keys[:10]}")

    total_handled = sum(len(v) for v in handled.values())
    duplicates = (total_handled - len(handled)) + (sum(dlt.values()) - len(dlt))
    if duplicates > a.max_duplicates:
        dup_keys = sorted(k for k, v in handled.items() if len(v) > 1)
        detail = "; ".join(
            f"key {k}: " + ", ".join(f"{m} p{p}@{o} [{s}..{e}]" for m, p, o, s, e, _ in handled[k])
            for k in dup_keys[:5])
        problems.append(f"{duplicates} duplicates, at most {a.max_duplicates} allowed "
                        f"with MANUAL ack here; {detail}")

    if a.no_overlap:
        # Every interval in which a member ran the handler for a key, finished or cut short.
        overlaps = []
        for k in handled.keys() | cancelled.keys():
            v = sorted(handled.get(k, []) + cancelled.get(k, []), key=lambda e: e[3])
            for i, x in enumerate(v):
                for y in v[i + 1:]:
                    if x[0] != y[0] and y[3] < x[4]:
                        overlaps.append((k, x, y))
        if overlaps:
            detail = "; ".join(
                f"key {k} p{x[1]}@{x[2]}: {x[0]} {x[5]} [{x[3]}..{x[4]}] and "
                f"{y[0]} {y[5]} [{y[3]}..{y[4]}]"
                for k, x, y in overlaps[:5])
            problems.append(f"{len(overlaps)} records handled by two members at once: {detail}")
        for k in sorted(k for k, v in (handled | cancelled).items() if any(e[5] in "SC" for e in v)):
            runs = ", ".join(f"{m} {kind} p{p}@{o} [{s}..{e}]"
                             for m, p, o, s, e, kind in handled.get(k, []) + cancelled.get(k, []))
            print(f"fault {a.name}: key {k}: {runs}", file=sys.stderr)

    if a.split:
        want = sorted(int(x) for x in a.split.split(","))
        got = []
        with open(a.assignments) as f:
            for line in f:
                member, _, parts = line.strip().partition(" ")
                got.append(0 if parts in ("", "-") else len(parts.split(",")))
        if sorted(got) != want:
            problems.append(f"final assignment {open(a.assignments).read().strip()!r}, "
                            f"expected partition counts {want}")

    if a.max_gap_ms:
        ends = sorted(e[4] for v in handled.values() for e in v)
        gaps = [(y - x, x) for x, y in zip(ends, ends[1:])]
        if gaps:
            gap, at = max(gaps)
            print(f"fault {a.name}: longest pause in handling {gap // 1000} ms (after {at})",
                  file=sys.stderr)
            if gap > a.max_gap_ms * 1000:
                problems.append(f"handling paused {gap // 1000} ms, more than one rebalance "
                                f"({a.max_gap_ms} ms)")

    # Both: the members committed everything while running (a failed commit that is never
    # retried shows here), and after they left (a graceful shutdown commits what was handled).
    with open(a.offsets) as f:
        text = f.read()
    at_end = "yes" if a.committed_while_running == "yes" and "at_log_end=yes" in text else "no"
    if "at_log_end=yes" not in text:
        problems.append("committed offsets not at the log end after the members left: "
                        + " ".join(text.split()))
    if a.committed_while_running != "yes":
        problems.append("the committed offsets did not reach the log end while the members ran")

    print(f"fault {a.name}: produced={n} handled_unique={len(handled)} lost={lost} "
          f"duplicates={duplicates} committed_at_log_end={at_end}")
    for problem in problems:
        print(f"fault {a.name}: FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
