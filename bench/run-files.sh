#!/usr/bin/env bash
# Files snapshot benchmark (bench/README.md, "Files snapshots").
#
#   bench/run-files.sh [--files N] [--avg-kib K] [--change-percent P] [--workdir DIR] [--keep]
#
# Builds a tree of N files (default 10,000: 100 directories of N/100 files, sizes 0.2 to 2*K KiB,
# default K=10, half text-like (compressible), half random), a file:// repository and an agent
# configuration with one files source, then times `holdfast backup --source tree --json`
# three times: the first snapshot (everything new), the second of the unchanged tree, and a third
# after P % of the files (default 1) were rewritten. Prints per run: seconds (the whole command,
# JVM start included), MB/s (tree bytes / seconds), files read, files and bytes uploaded, and the
# repository's growth on disk. Runs with bin/holdfast (built on first use).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
HOLDFAST="${HOLDFAST_BIN:-$ROOT/bin/holdfast}"
files=10000
avg_kib=10
change_percent=1
workdir=/tmp
keep=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --files) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 100 ]] || { echo "--files needs a number >= 100" >&2; exit 2; }; files="$2"; shift ;;
        --avg-kib) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || { echo "--avg-kib needs a number >= 1" >&2; exit 2; }; avg_kib="$2"; shift ;;
        --change-percent) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -le 100 ]] || { echo "--change-percent needs 0-100" >&2; exit 2; }; change_percent="$2"; shift ;;
        --workdir) [[ $# -ge 2 && -d "$2" ]] || { echo "--workdir needs an existing directory" >&2; exit 2; }; workdir="$(cd "$2" && pwd)"; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done

tmp="$(mktemp -d "$workdir/holdfast-files-bench.XXXXXX")"
cleanup() { if [[ $keep == 1 ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

python3 - "$tmp/tree" "$files" "$avg_kib" <<'PY'
import os, random, sys, base64
root, n, avg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
dirs = 100
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % dirs))
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(200, 2 * avg * 1024)
    raw = os.urandom(size)
    data = raw if i % 2 else base64.b64encode(raw[: size * 3 // 8])[:size] + b"\n"
    with open(os.path.join(d, "f%05d.conf" % i), "wb") as f:
        f.write(data)
PY
tree_bytes=$(du -sb --apparent-size "$tmp/tree" | cut -f1)

"$HOLDFAST" keys init --out "$tmp/master.key" >/dev/null 2>&1
cat >"$tmp/agent.yaml" <<YAML
host: bench
repository:
  url: file://$tmp/repo
  key_file: $tmp/master.key
sources:
  - name: tree
    type: files
    paths: ["$tmp/tree/**"]
restore:
  allowed_targets: [$tmp/restore]
YAML
"$HOLDFAST" repo init --config "$tmp/agent.yaml" >/dev/null

run() { # label
    local before after t0 t1 out
    sync
    before=$(du -sb "$tmp/repo" | cut -f1)
    t0=$(date +%s.%N)
    out=$("$HOLDFAST" backup --config "$tmp/agent.yaml" --source tree --json 2>/dev/null)
    t1=$(date +%s.%N)
    sync
    after=$(du -sb "$tmp/repo" | cut -f1)
    python3 - "$1" "$out" "$t0" "$t1" "$before" "$after" "$tree_bytes" <<'PY'
import json, sys
label, out, t0, t1, before, after, tree = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
s = t1 - t0
print("%-22s %7.2f s %8.1f MB/s  files %6d  read %6d  uploaded %6d files %10d bytes  repo +%d bytes  stored=%s" % (
    label, s, tree / s / 1e6, out["files"], out["files_read"], out["files_uploaded"], out["bytes_uploaded"], after - before, out["stored"]))
PY
}

echo "tree: $files files, $tree_bytes bytes ($(nproc) cores)"
run "first snapshot"
run "second (unchanged)"
python3 - "$tmp/tree" "$change_percent" <<'PY'
import os, sys, random
root, pct = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
for p in rnd.sample(paths, len(paths) * pct // 100):
    with open(p, "ab") as f:
        f.write(b"changed\n")
PY
run "third (${change_percent}% changed)"
