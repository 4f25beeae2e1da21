#!/usr/bin/env python3
"""Samples AOF shipping lag for bench/run-aof.sh (bench/README.md, "AOF shipping").

Every --interval seconds it records: the size of the incr file Redis appends to (from the
manifest), the end of what the repository (a file:// directory) holds of that file, and the
agent's own holdfast_aof_lag_seconds. The independent lag at a sample is the time since the
newest earlier sample whose local size the stored end covers (so its resolution is the interval).
Prints p50/p95/p99/max of both lags, MB/s of AOF written and the verdict against p99 <= 1 s.
"""
import json, os, re, sys, time, urllib.request

def manifest(aofdir):
    files = []
    for line in open(os.path.join(aofdir, "appendonly.aof.manifest")):
        w = line.split()
        if len(w) >= 6 and w[5] == "i":
            files.append((int(w[3]), w[1]))
    return files

def stored_end(repo, source, seq):
    root = os.path.join(repo, "redis", source, "aof")
    if not os.path.isdir(root):
        return 0
    best = 0
    for epoch in sorted(os.listdir(root), reverse=True):
        d = os.path.join(root, epoch)
        if not os.path.exists(os.path.join(d, "epoch.json")):
            continue
        pat = re.compile(r"incr-%010d-(\d{16})-(\d{16})$" % seq)
        for n in os.listdir(d):
            m = pat.match(n)
            if m:
                best = max(best, int(m.group(2)))
        return best
    return 0

def agent_lag(port, source):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2).read().decode()
    except Exception:
        return None
    for line in body.splitlines():
        if line.startswith('holdfast_aof_lag_seconds{source="%s"}' % source):
            return float(line.split()[-1])
    return None

def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]

def main():
    aofdir, repo, source, port, duration, interval = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    samples = []  # (t, seq, local size)
    lags, agent = [], []
    start = time.time()
    first_size = None
    while time.time() - start < duration:
        t = time.time()
        files = manifest(aofdir)
        seq, name = files[-1]
        size = os.path.getsize(os.path.join(aofdir, name))
        if first_size is None:
            first_size = (t, seq, size)
        samples.append((t, seq, size))
        end = stored_end(repo, source, seq)
        covered = [s for s in samples if s[1] == seq and s[2] <= end]
        if covered:
            lags.append(t - covered[-1][0])
        a = agent_lag(port, source)
        if a is not None and a == a:
            agent.append(a)
        time.sleep(max(0, interval - (time.time() - t)))
    last = samples[-1]
    mb = (last[2] - first_size[2]) / 1e6 if last[1] == first_size[1] else float("nan")
    secs = last[0] - first_size[0]
    out = {
        "samples": len(samples), "seconds": round(secs, 1), "aof_mb_per_s": round(mb / secs, 2) if secs > 0 else None,
        "independent_lag": {k: round(pct(lags, p), 3) for k, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        "agent_lag_seconds": {k: round(pct(agent, p), 3) for k, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
    }
    out["verdict_p99_le_1s"] = out["independent_lag"]["p99"] <= 1.0
    print(json.dumps(out))

if __name__ == "__main__":
    main()
