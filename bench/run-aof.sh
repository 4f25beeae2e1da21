#!/usr/bin/env bash
# AOF shipping benchmark (bench/README.md, "AOF shipping").
#
#   bench/run-aof.sh [--duration SECONDS] [--clients N] [--aof-interval D] [--keep]
#
# A throwaway redis-server (appendonly yes, aof-timestamp-enabled yes, appendfsync everysec,
# automatic rewrites off so one incr file is followed) on a free loopback port, the agent
# (bin/holdfast agent run) shipping its AOF into a fresh file:// repository, and redis-benchmark
# (SET, LPUSH, SADD, HSET, ZADD; 64-byte values, 100,000 random keys, --clients connections) for
# --duration seconds. Every 200 ms bench/aof_bench.py samples the incr file's size, the end stored in
# the repository and the agent's holdfast_aof_lag_seconds, and prints p50/p95/p99/max of the
# independent lag and of the agent's gauge, the AOF MB/s and a verdict against p99 <= 1 s. At the
# end it waits for the agent to catch up, restores the latest AOF and compares DEBUG DIGEST.
# Never asserts a timing; exits non-zero only when a run could not be carried out.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
HOLDFAST="$ROOT/bin/holdfast"
duration=60
clients=20
interval=1s
keep=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) duration="$2"; shift ;;
        --clients) clients="$2"; shift ;;
        --aof-interval) interval="$2"; shift ;;
        --keep) keep=1 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

tmp="$(mktemp -d /tmp/holdfast-aof-bench.XXXXXX)"
redis_pid=""; agent_pid=""; restored_pid=""
cleanup() {
    for p in $restored_pid $agent_pid $redis_pid; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ $keep == 1 ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
log() { echo "[run-aof] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

port=$(free_port); mport=$(free_port)
mkdir -p "$tmp/redis" "$tmp/run" "$tmp/restore"
redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes --appenddirname appendonlydir \
    --aof-timestamp-enabled yes --appendfsync everysec --auto-aof-rewrite-percentage 0 --save "" \
    --enable-debug-command local --logfile "$tmp/redis.log" &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

log "building/checking the CLI: $("$HOLDFAST" --version 2>&1 | head -1)"
"$HOLDFAST" keys init --out "$tmp/master.key" >/dev/null
cat > "$tmp/agent.yaml" <<YAML
host: aof-bench
repository:
  url: file://$tmp/repo
  key_file: $tmp/master.key
control_socket: $tmp/run/agent.sock
metrics:
  listen: 127.0.0.1:$mport
sources:
  - name: bench
    type: redis
    uri: redis://127.0.0.1:$port
    dir: $tmp/redis
    aof_interval: $interval
restore:
  allowed_targets: [$tmp/restore]
YAML
"$HOLDFAST" repo init --config "$tmp/agent.yaml" >/dev/null
HOLDFAST_JAVA_OPTS="-Xmx512m" "$HOLDFAST" agent run --config "$tmp/agent.yaml" > "$tmp/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 600); do
    curl -s "http://127.0.0.1:$mport/metrics" 2>/dev/null | grep -q '^holdfast_aof_lag_seconds{source="bench"} [0-9]' && break
    sleep 0.1
done

log "redis-benchmark -c $clients for ${duration}s"
timeout "$duration" redis-benchmark -p "$port" -q -c "$clients" -r 100000 -d 64 -n 1000000000 -t set,lpush,sadd,hset,zadd \
    > "$tmp/benchmark.out" 2>&1 &
bench_pid=$!
ops_before=$(redis-cli -p "$port" info stats | awk -F: '/^total_commands_processed/ {print $2}' | tr -d '\r')
result=$(python3 "$HERE/aof_bench.py" "$tmp/redis/appendonlydir" "$tmp/repo" bench "$mport" "$((duration - 2))" 0.2)
wait "$bench_pid" || true
ops_after=$(redis-cli -p "$port" info stats | awk -F: '/^total_commands_processed/ {print $2}' | tr -d '\r')

digest=$(redis-cli -p "$port" debug digest)
written=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
for _ in $(seq 600); do  # until a pass that started after the last write has stored everything
    durable=$(curl -s --unix-socket "$tmp/run/agent.sock" http://localhost/v1/status \
        | python3 -c 'import json,sys; print([s["status"].get("last_durable_at") or "" for s in json.load(sys.stdin)["sources"]][0])')
    [[ "$durable" > "$written" ]] && break
    sleep 0.1
done
"$HOLDFAST" restore --config "$tmp/agent.yaml" --source bench --target "$tmp/restore/latest" --json > "$tmp/restore.json"
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp/restore/latest" --appendonly yes --appenddirname appendonlydir \
    --save "" --enable-debug-command local --logfile "$tmp/restored.log" &
restored_pid=$!
for _ in $(seq 600); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && \
    redis-cli -p "$rport" info persistence | grep -q 'loading:0' && break; sleep 0.1; done
rdigest=$(redis-cli -p "$rport" debug digest)
rss=$(ps -o rss= -p "$agent_pid" | tr -d ' ')
echo "{\"duration_s\": $duration, \"clients\": $clients, \"aof_interval\": \"$interval\", \"ops_per_s\": $(( (ops_after - ops_before) / duration )), \"agent_rss_mb\": $((rss / 1024)), \"restored_digest_equal\": $([[ "$digest" == "$rdigest" ]] && echo true || echo false), \"lag\": $result}"
