#!/usr/bin/env python3
"""Sampler and report for bench/run-wal.sh (bench/README.md, "WAL shipping").

    wal_bench.py sample-stream  --out F --stop FILE --psql "..." --metrics URL --app NAME [--interval 0.2]
    wal_bench.py sample-archive --out F --stop FILE --psql "..." --status-dir DIR [--interval 1]
    wal_bench.py report-stream  --samples F --start T0 --end T1 --wal-bytes N --tps X ...
    wal_bench.py report-archive --samples F --start T0 --end T1 ...

Samplers run until the stop file exists. Every timestamp is wall-clock seconds since the epoch:
stream samples carry the PostgreSQL server's clock_timestamp() of the query that read both LSNs, so
the LSN-derived RPO does not depend on how late psql was scheduled. Only the standard library.
"""
import argparse
import math
import os
import shlex
import subprocess
import sys
import time
import urllib.request


def lsn(text):
    if not text:
        return None
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def psql(cmd, query):
    r = subprocess.run(cmd + ["-c", query], capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout.strip()


def sleep_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


# ------------------------------------------------------------------------------------------------
# samplers
# ------------------------------------------------------------------------------------------------
def sample_stream(a):
    cmd = shlex.split(a.psql) + ["-X", "-A", "-t", "-F", "|"]
    q = ("SELECT extract(epoch FROM clock_timestamp()), pg_current_wal_flush_lsn(), r.flush_lsn, "
         "extract(epoch FROM r.flush_lag) FROM (SELECT 1) AS d LEFT JOIN pg_stat_replication r "
         "ON r.application_name = '%s'" % a.app)
    metric = 'holdfast_wal_rpo_seconds{'
    with open(a.out, "w") as out:
        out.write("t_db\tserver_flush\treported_flush\tflush_lag\tt_metrics\trpo_metric\n")
        nxt = time.time()
        while not os.path.exists(a.stop):
            row = ["", "", "", "", "", ""]
            try:
                parts = psql(cmd, q).split("|")
                row[0] = parts[0]
                row[1] = str(lsn(parts[1]))
                row[2] = str(lsn(parts[2])) if parts[2] else ""
                row[3] = parts[3]
            except Exception as e:  # a failed sample is recorded as missing, not fatal
                print("sample-stream: psql: %s" % e, file=sys.stderr)
            try:
                body = urllib.request.urlopen(a.metrics, timeout=5).read().decode()
                row[4] = "%.3f" % time.time()
                for line in body.splitlines():
                    if line.startswith(metric) and ('source="%s"' % a.source) in line:
                        row[5] = line.rsplit(" ", 1)[1]
            except Exception as e:
                print("sample-stream: metrics: %s" % e, file=sys.stderr)
            out.write("\t".join(row) + "\n")
            out.flush()
            nxt += a.interval
            if nxt < time.time():  # fell behind (loaded machine): do not burst to catch up
                nxt = time.time()
            sleep_until(nxt)


def sample_archive(a):
    cmd = shlex.split(a.psql) + ["-X", "-A", "-t", "-F", "|"]
    q = ("SELECT extract(epoch FROM clock_timestamp()), archived_count, failed_count, "
         "coalesce(last_archived_wal, ''), coalesce(last_failed_wal, ''), pg_current_wal_lsn() FROM pg_stat_archiver")
    with open(a.out, "w") as out:
        out.write("t\tready\tarchived\tfailed\tlast_archived\tlast_failed\tcurrent_lsn\n")
        nxt = time.time()
        while not os.path.exists(a.stop):
            t = time.time()
            try:
                ready = sum(1 for n in os.listdir(a.status_dir) if n.endswith(".ready"))
            except OSError:
                ready = ""
            try:
                p = psql(cmd, q).split("|")
                out.write("%.3f\t%s\t%s\t%s\t%s\t%s\t%s\n" % (t, ready, p[1], p[2], p[3], p[4], lsn(p[5])))
            except Exception as e:
                print("sample-archive: psql: %s" % e, file=sys.stderr)
                out.write("%.3f\t%s\t\t\t\t\t\n" % (t, ready))
            out.flush()
            nxt += a.interval
            if nxt < time.time():
                nxt = time.time()
            sleep_until(nxt)


# ------------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------------
def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(v)))
    return v[k - 1]


def dist(values):
    return "p50 %6.3f  p95 %6.3f  p99 %6.3f  max %6.3f  (n=%d)" % (
        pct(values, 50), pct(values, 95), pct(values, 99), max(values) if values else float("nan"), len(values))


def read_tsv(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = []
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def fnum(s):
    try:
        return float(s) if s not in ("", None) else None
    except ValueError:
        return None


def slope(points):
    """Least-squares slope of (t, y) points; 0 if fewer than 2."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mt) ** 2 for p in points)
    return sum((p[0] - mt) * (p[1] - my) for p in points) / den if den else 0.0


def report_stream(a):
    rows = read_tsv(a.samples)
    t0, t1 = a.start, a.end
    db = [(fnum(r["t_db"]), int(r["server_flush"]), int(r["reported_flush"]) if r["reported_flush"] else None,
           fnum(r["flush_lag"])) for r in rows if r["t_db"] and r["server_flush"]]
    db.sort()
    window = [s for s in db if t0 <= s[0] <= t1]
    # pg_stat_replication keeps the last flush_lag while no new reply arrives: until the first reply
    # of the run (the reported flush position moves past its value at the start) the column still
    # holds a measurement from before the load, which is left out.
    first_flush = window[0][2] if window else None
    stale = 0
    for s_ in window:
        if s_[2] is not None and first_flush is not None and s_[2] > first_flush:
            break
        stale += 1
    lag = [s_[3] for s_ in window[stale:] if s_[3] is not None]
    lag_null = sum(1 for s_ in window[stale:] if s_[3] is None)
    not_streaming = sum(1 for s in window if s[2] is None)
    metric = [fnum(r["rpo_metric"]) for r in rows
              if fnum(r["t_metrics"]) is not None and t0 <= fnum(r["t_metrics"]) <= t1 and fnum(r["rpo_metric"]) is not None]
    # Independent RPO from LSNs: for a sample at t with server flush F, the time until a later sample
    # (or this one) shows the reported flush position >= F. An upper bound, to one sample interval.
    # The lower bound: the last sample before that one, where it had not yet been reached.
    lsn_rpo = []
    lsn_low = []
    unresolved = 0
    for i, (t, f, _, _) in enumerate(db):
        if not (t0 <= t <= t1):
            continue
        for j in range(i, len(db)):
            if db[j][2] is not None and db[j][2] >= f:
                lsn_rpo.append(db[j][0] - t)
                lsn_low.append(db[j - 1][0] - t if j > i else 0.0)
                break
        else:
            unresolved += 1
    gaps = [b[0] - a_[0] for a_, b in zip(window, window[1:])]
    dur = t1 - t0
    out = []
    out.append("stream mode (wal.mode: stream, partial_interval: %s), pgbench -c %s -j %s -T %s, scale %s"
               % (a.partial_interval, a.clients, a.jobs, a.duration, a.scale))
    out.append("  pgbench TPS                 %10.1f" % a.tps)
    out.append("  WAL generated               %10.1f MB/s  (%.0f MB in %.1f s, %.1f segments/s)"
               % (a.wal_bytes / 1e6 / dur, a.wal_bytes / 1e6, dur, a.wal_bytes / 16777216 / dur))
    out.append("  samples                     %d in the run, every %.0f ms (median gap %.0f ms, max %.0f ms)"
               % (len(window), a.interval * 1000, pct(gaps, 50) * 1000 if gaps else float("nan"),
                  max(gaps) * 1000 if gaps else float("nan")))
    if not_streaming:
        out.append("  WARNING: %d samples with no holdfast_%s row in pg_stat_replication" % (not_streaming, a.source))
    out.append("  RPO, seconds:")
    notes = []
    if lag_null:
        notes.append("%d NULL" % lag_null)
    if stale:
        notes.append("%d pre-run values left out" % stale)
    out.append("    flush_lag (PostgreSQL)    %s%s" % (dist(lag), (", " + ", ".join(notes)) if notes else ""))
    out.append("    holdfast_wal_rpo_seconds  %s" % dist(metric))
    out.append("    from LSNs, upper bound    %s%s" % (dist(lsn_rpo), ", %d unresolved" % unresolved if unresolved else ""))
    out.append("    from LSNs, lower bound    %s" % dist(lsn_low))
    # The verdict rests on the independent measure: the p99 of the LSN-derived RPO lies between its
    # lower and upper bound. flush_lag times the newest WAL of each acknowledgement, not the oldest
    # WAL still exposed, so it is shown but not used for the verdict.
    if not lsn_rpo:
        verdict = "NO DATA"
    elif pct(lsn_rpo, 99) <= a.target:
        verdict = "MET"
    elif pct(lsn_low, 99) > a.target:
        verdict = "MISSED"
    else:
        verdict = "UNDECIDED (the bounds straddle the target)"
    out.append("  verdict: target p99 RPO <= %.1f s: %s -- p99 from LSNs %.2f-%.2f s, agent's holdfast_wal_rpo_seconds p99 %.2f s"
               % (a.target, verdict, pct(lsn_low, 99) if lsn_low else float("nan"),
                  pct(lsn_rpo, 99) if lsn_rpo else float("nan"), pct(metric, 99) if metric else float("nan")))
    if a.agent_cpu is not None:
        out.append("  agent CPU                   %10.2f cores during the run; machine busy %.2f of %d cores"
                   % (a.agent_cpu, a.machine_busy, os.cpu_count()))
    if a.rss:
        out.append("  agent RSS at the end        %s" % a.rss)
    print("\n".join(out))


def report_archive(a):
    rows = read_tsv(a.samples)
    s = [(fnum(r["t"]), int(r["ready"]) if r["ready"] else None, int(r["archived"]) if r["archived"] else None,
          int(r["failed"]) if r["failed"] else None, r["last_failed"], int(r["current_lsn"]) if r["current_lsn"] else None)
         for r in rows]
    t0, t1 = a.start, a.end
    window = [x for x in s if t0 <= x[0] <= t1 and x[1] is not None]
    arch = [x for x in s if t0 <= x[0] <= t1 and x[2] is not None]
    dur = t1 - t0
    backlog = [x[1] for x in window]
    half = [(x[0], x[1]) for x in window if x[0] >= t0 + dur / 2]
    sl = slope(half)
    growth = sl * (dur / 2)
    grows = growth >= 2.0
    archived = (arch[-1][2] - arch[0][2]) if len(arch) >= 2 else 0
    adur = (arch[-1][0] - arch[0][0]) if len(arch) >= 2 else float("nan")
    failed = (arch[-1][3] - a.failed_before) if arch else None
    segs = archived / adur if adur else float("nan")
    last_failed = next((x[4] for x in reversed(s) if x[4]), "")
    final = backlog[-1] if backlog else None
    print("%s" % a.label)
    print("  pgbench TPS                 %10.1f" % a.tps)
    print("  WAL generated               %10.1f MB/s  (%.1f segments/s)" % (a.wal_bytes / 1e6 / dur, a.wal_bytes / 16777216 / dur))
    print("  archived                    %10.2f segments/s  %.1f MB/s  (%d segments in %.1f s)"
          % (segs, segs * 16777216 / 1e6, archived, adur))
    print("  .ready backlog              max %d, final %s, second-half trend %+.2f segments/min (%s)"
          % (max(backlog) if backlog else -1, final, sl * 60, "GROWS" if grows else "steady"))
    print("  drained after pgbench       %s" % a.drain)
    print("  failed_count                %s%s" % (failed, " (last failed %s)" % last_failed if failed else ""))
    if a.machine_busy is not None:
        print("  machine busy                %10.2f of %d cores" % (a.machine_busy, os.cpu_count()))
    if a.agent_cpu is not None:
        print("  agent CPU                   %10.2f cores" % a.agent_cpu)
    if a.rss:
        print("  agent RSS at the end        %s" % a.rss)
    # machine-readable line for the ratios
    print("#RESULT\t%s\t%.4f\t%.1f\t%s\t%s\t%d\t%s" % (a.key, segs, a.tps, max(backlog) if backlog else -1, final, int(grows), failed))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample-stream")
    s.add_argument("--out", required=True); s.add_argument("--stop", required=True)
    s.add_argument("--psql", required=True); s.add_argument("--metrics", required=True)
    s.add_argument("--app", required=True); s.add_argument("--source", default="main")
    s.add_argument("--interval", type=float, default=0.2)
    s = sub.add_parser("sample-archive")
    s.add_argument("--out", required=True); s.add_argument("--stop", required=True)
    s.add_argument("--psql", required=True); s.add_argument("--status-dir", required=True)
    s.add_argument("--interval", type=float, default=1.0)
    for name in ("report-stream", "report-archive"):
        s = sub.add_parser(name)
        s.add_argument("--samples", required=True)
        s.add_argument("--start", type=float, required=True); s.add_argument("--end", type=float, required=True)
        s.add_argument("--wal-bytes", type=float, required=True); s.add_argument("--tps", type=float, required=True)
        s.add_argument("--agent-cpu", type=float); s.add_argument("--machine-busy", type=float)
        s.add_argument("--rss", default="")
    s = sub.choices["report-stream"]
    s.add_argument("--interval", type=float, default=0.2); s.add_argument("--target", type=float, default=1.0)
    s.add_argument("--source", default="main"); s.add_argument("--partial-interval", default="1s")
    s.add_argument("--clients", default="8"); s.add_argument("--jobs", default="2")
    s.add_argument("--duration", default="?"); s.add_argument("--scale", default="?")
    s = sub.choices["report-archive"]
    s.add_argument("--label", required=True); s.add_argument("--key", required=True)
    s.add_argument("--failed-before", type=int, default=0); s.add_argument("--drain", default="")
    a = p.parse_args()
    {"sample-stream": sample_stream, "sample-archive": sample_archive,
     "report-stream": report_stream, "report-archive": report_archive}[a.cmd](a)


if __name__ == "__main__":
    main()
