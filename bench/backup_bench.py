#!/usr/bin/env python3
"""Timing and report for bench/run-backup.sh (bench/README.md, "Base backup and restore vs pgBackRest").

    backup_bench.py time   --out F --tool T --op OP --run N [--sync] [--drop-caches] -- COMMAND...
    backup_bench.py report --results F --db-bytes N [--target 1.25] [--header TEXT]

`time` runs COMMAND, waits for it, optionally runs sync(2) inside the timed region (so a tool that
leaves its output in the page cache gains nothing), and appends one tab-separated line to F:
tool, op, run, wall seconds, CPU seconds of COMMAND and its waited-for descendants (user+sys), the
whole machine's busy cores during the run (/proc/stat), and the exit code. It exits with COMMAND's
exit code. `--drop-caches` (untimed, before the start) writes 3 to /proc/sys/vm/drop_caches.

`report` reads F plus the "stored" lines the shell adds (tool, "stored", run, bytes) and prints the
table, the Holdfast/pgBackRest throughput ratios and a verdict. Only the standard library.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def machine_ticks():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                v = [int(x) for x in line.split()[1:]]
                total = sum(v)
                return total - v[3] - v[4], total  # busy (without idle and iowait), total
    return 0, 0


def cmd_time(a):
    cmd = a.command
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("no command", file=sys.stderr)
        return 2
    if a.drop_caches:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, t0_ticks = machine_ticks()
    t0 = time.monotonic()
    rc = subprocess.call(cmd)
    if rc == 0 and a.sync:
        os.sync()
    t1 = time.monotonic()
    b1, t1_ticks = machine_ticks()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    busy = (b1 - b0) / (t1_ticks - t0_ticks) * os.cpu_count() if t1_ticks > t0_ticks else 0.0
    with open(a.out, "a") as out:
        out.write("%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%d\n" % (a.tool, a.op, a.run, t1 - t0, cpu, busy, rc))
    return rc


NAMES = {"pgbackrest": "pgBackRest", "holdfast": "Holdfast"}


def mb(n):
    return n / 1e6


def cmd_report(a):
    timed = {}    # (tool, op) -> list of (run, secs, cpu, busy, rc)
    stored = {}   # tool -> list of bytes
    for line in open(a.results):
        p = line.rstrip("\n").split("\t")
        if len(p) >= 4 and p[1] == "stored":
            stored.setdefault(p[0], []).append(int(p[3]))
        elif len(p) >= 7:
            timed.setdefault((p[0], p[1]), []).append((int(p[2]), float(p[3]), float(p[4]), float(p[5]), int(p[6])))
    db = a.db_bytes
    if a.header:
        print(a.header)
    print("database bytes: %d (%.1f MB; the data directory without pg_wal, what both tools read)" % (db, mb(db)))
    print()
    fmt = "%-10s %-8s %5s %9s %9s %9s %9s %7s %7s %13s %9s"
    print(fmt % ("tool", "op", "runs", "best s", "median s", "MB/s", "MB/s med", "cpu s", "busy", "stored bytes", "db/stored"))
    best = {}
    for tool in ("pgbackrest", "holdfast"):
        for op in ("backup", "restore"):
            rows = timed.get((tool, op))
            if not rows:
                continue
            ok = [r for r in rows if r[4] == 0]
            failed = len(rows) - len(ok)
            if not ok:
                print(fmt % (NAMES[tool], op, "0/%d" % len(rows), "FAILED", "", "", "", "", "", "", ""))
                continue
            secs = [r[1] for r in ok]
            b = min(secs)
            med = statistics.median(secs)
            best[(tool, op)] = b
            cpu = statistics.median([r[2] for r in ok])
            busy = statistics.median([r[3] for r in ok])
            st = stored.get(tool) if op == "backup" else None
            stxt = "%d" % statistics.median(st) if st else ""
            ratio = "%.2f" % (db / statistics.median(st)) if st else ""
            print(fmt % (NAMES[tool], op, "%d%s" % (len(ok), "/%d" % len(rows) if failed else ""), "%.2f" % b, "%.2f" % med,
                         "%.1f" % (mb(db) / b), "%.1f" % (mb(db) / med), "%.1f" % cpu, "%.2f" % busy, stxt, ratio))
    print()
    print("MB/s = database bytes / wall seconds (10^6 bytes); best = fastest run, med = median over runs;")
    print("cpu s = CPU seconds of the command and its waited-for child processes (median);")
    print("busy = cores the whole machine was busy meanwhile (median); db/stored = database bytes / stored bytes (median).")
    print()
    verdicts = []
    for op in ("backup", "restore"):
        p = best.get(("pgbackrest", op))
        h = best.get(("holdfast", op))
        if p and h:
            r = p / h   # throughput ratio = inverse time ratio
            verdicts.append(r)
            print("Holdfast / pgBackRest %-7s throughput x%.2f  (%.1f vs %.1f MB/s, best runs)" % (op, r, mb(db) / h, mb(db) / p))
    if len(verdicts) == 2:
        ok = all(v >= a.target for v in verdicts)
        print("verdict: target >= %.2fx for backup and restore: %s (backup x%.2f, restore x%.2f)"
              % (a.target, "MET" if ok else "MISSED", verdicts[0], verdicts[1]))
    elif timed:
        print("verdict: not decided (needs a successful backup and restore of both tools; this run has %s)"
              % ", ".join(sorted(NAMES[t] + " " + o for (t, o) in best)))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("--out", required=True)
    t.add_argument("--tool", required=True)
    t.add_argument("--op", required=True)
    t.add_argument("--run", required=True)
    t.add_argument("--sync", action="store_true")
    t.add_argument("--drop-caches", action="store_true")
    t.add_argument("command", nargs=argparse.REMAINDER)
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--db-bytes", type=int, required=True)
    r.add_argument("--target", type=float, default=1.25)
    r.add_argument("--header", default="")
    a = ap.parse_args()
    return cmd_time(a) if a.cmd == "time" else cmd_report(a)


if __name__ == "__main__":
    sys.exit(main())
