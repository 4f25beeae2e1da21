#!/usr/bin/env bash
# WAL shipping benchmark (bench/README.md, "WAL shipping").
#
#   bench/run-wal.sh [--duration SECONDS] [--quick] [--scale N] [--only stream|archive]
#                    [--partial-interval D] [--no-pgbackrest] [--no-async] [--s3] [--keep]
#
# 1. Stream mode: a throwaway PostgreSQL 15 cluster, the agent streaming its WAL (wal.mode: stream,
#    partial_interval: 1s) into a fresh repository, pgbench -c 8 -j 2 for --duration seconds. Every
#    200 ms: pg_stat_replication.flush_lag, the agent's holdfast_wal_rpo_seconds, and both LSNs, from
#    which an independent RPO is computed. Prints p50/p95/p99/max of the three, WAL MB/s, TPS, the
#    agent's RSS and a verdict against p99 RPO <= 1 s.
# 2. Archive mode: a fresh cluster with archive_command = holdfast-wal-push (agent in wal.mode:
#    archive), then the same with pgBackRest archive-push (archive-async=n, then =y with
#    process-max=4). Every second: the .ready backlog and pg_stat_archiver. Prints segments/s,
#    MB/s, backlog max/final/trend, TPS, failed_count and Holdfast/pgBackRest ratios.
#
# Options:
#   --duration S   pgbench -T for every run (default 120; quoted figures need >= 120)
#   --quick        20 s runs, a smoke check (same as --duration 20)
#   --scale N      pgbench -i -s N (default 20)
#   --only X       run only the stream or the archive part
#   --partial-interval D   stream mode's wal.partial_interval (default 1s, the product default)
#   --no-pgbackrest / --no-async   skip pgBackRest entirely / its archive-async=y line
#   --s3           (untested so far) repository on a real S3 API server (S3Proxy via the repository's test jar,
#                  dev.holdfast.testkit.S3TestServer, run as a separate JVM) instead of file://
#   --keep         keep the temp directory (logs, samples) instead of removing it
#
# Everything lives in one mktemp directory; PostgreSQL runs as the `postgres` user on a free
# loopback port with its socket in that directory; agent, clusters and S3 server are stopped and the
# directory removed on exit, error or Ctrl-C. Prints figures; never asserts a timing. Exits 0 when
# every run completed (also if a target is missed), non-zero if a run could not be carried out.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER=postgres
HOLDFAST="$ROOT/bin/holdfast"
HELPER="$HERE/wal_bench.py"
AGENT_HEAP="${AGENT_HEAP:-1g}"

duration=120
scale=20
only=""
pgbackrest=1
async=1
s3=0
keep=0
partial_interval=1s
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 5 ]] || { echo "--duration needs seconds >= 5" >&2; exit 2; }; duration="$2"; shift ;;
        --duration=*) duration="${1#--duration=}"; [[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 5 ]] || { echo "--duration needs seconds >= 5" >&2; exit 2; } ;;
        --quick) duration=20 ;;
        --scale) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { echo "--scale needs a number" >&2; exit 2; }; scale="$2"; shift ;;
        --only) [[ $# -ge 2 && ( "$2" == stream || "$2" == archive ) ]] || { echo "--only stream|archive" >&2; exit 2; }; only="$2"; shift ;;
        --partial-interval) [[ $# -ge 2 && "$2" =~ ^[0-9]+(ms|s)$ ]] || { echo "--partial-interval needs e.g. 500ms or 1s" >&2; exit 2; }; partial_interval="$2"; shift ;;
        --no-pgbackrest) pgbackrest=0 ;;
        --no-async) async=0 ;;
        --s3) s3=1 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[run-wal] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for b in initdb pg_ctl; do [[ -x "$PG_BIN/$b" ]] || die "no $PG_BIN/$b (PostgreSQL 15)"; done
for b in psql pgbench; do [[ -x "$PG_BIN/$b" ]] || die "no $PG_BIN/$b"; done
command -v python3 >/dev/null || die "python3 is needed for sampling and statistics"
command -v curl >/dev/null || die "curl is needed (the wal-push hook uses it)"
id "$PG_USER" >/dev/null 2>&1 || die "no '$PG_USER' system user"
[[ "$(id -u)" -eq 0 ]] || die "run as root (PostgreSQL runs as '$PG_USER' through runuser)"

# ---------------------------------------------------------------------------------------------
# Temp directory, cleanup
# ---------------------------------------------------------------------------------------------
WORK="$(mktemp -d /tmp/holdfast-bench-wal.XXXXXX)"
chmod 755 "$WORK"          # postgres must traverse it to reach the control socket's directory
SUMMARY="$WORK/summary.txt"
: >"$SUMMARY"
AGENT_PID=""
S3_PID=""
SAMPLER_PID=""
PGBENCH_PID=""
CLUSTERS=()                # data directories of clusters that may be running

stop_agent() {
    if [[ -n "$AGENT_PID" ]] && kill -0 "$AGENT_PID" 2>/dev/null; then
        kill -TERM "$AGENT_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 400); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$AGENT_PID" 2>/dev/null; then
            log "agent did not stop in 40 s: SIGKILL"
            kill -KILL "$AGENT_PID" 2>/dev/null || true
        fi
        wait "$AGENT_PID" 2>/dev/null || true
    fi
    AGENT_PID=""
}

stop_cluster() {
    local data="$1" mode="${2:-fast}"
    if [[ -f "$data/postmaster.pid" ]]; then
        timeout 90 runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 \
            || timeout 60 runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n "$PGBENCH_PID" ]] && kill -TERM "$PGBENCH_PID" 2>/dev/null || true
    [[ -n "$SAMPLER_PID" ]] && kill -TERM "$SAMPLER_PID" 2>/dev/null || true
    stop_agent
    local d
    for d in "${CLUSTERS[@]}"; do stop_cluster "$d" immediate; done
    if [[ -n "$S3_PID" ]] && kill -0 "$S3_PID" 2>/dev/null; then
        kill -TERM "$S3_PID" 2>/dev/null || true
        sleep 0.5
        kill -KILL "$S3_PID" 2>/dev/null || true
    fi
    if [[ "$keep" -eq 1 ]]; then
        log "kept $WORK"
    else
        rm -rf -- "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------------------------------------
# Build, key, optional S3 server
# ---------------------------------------------------------------------------------------------
log "building/checking the CLI: $("$HOLDFAST" --version 2>&1 | head -1)"
KEY="$WORK/master.key"
"$HOLDFAST" keys init --out "$KEY" >"$WORK/keys-init.log" 2>&1 || { cat "$WORK/keys-init.log" >&2; die "holdfast keys init failed"; }

S3_ENDPOINT=""
if [[ "$s3" -eq 1 ]]; then
    # The repository's test classes plus its test class path; built without installing anything.
    tcp="$ROOT/repository/target/test-classes"
    cpfile="$ROOT/repository/target/bench-test-classpath.txt"
    if [[ ! -f "$tcp/dev/holdfast/testkit/S3TestServer.class" || ! -s "$cpfile" ]]; then
        log "compiling the repository's test classes for S3TestServer (mvn -o, no install)"
        (cd "$ROOT" && mvn -q -B -o -pl repository test-compile dependency:build-classpath \
            -Dmdep.includeScope=test -Dmdep.outputFile="$cpfile" >&2) || die "could not build the S3 test server"
    fi
    s3port="$(free_port)"
    mkdir -p "$WORK/s3/data"
    # The child exits when its standard input closes: keep a pipe open from a sleeping writer.
    mkfifo "$WORK/s3/stdin"
    (sleep 100000 >"$WORK/s3/stdin") &
    S3_HOLD=$!
    java -Xmx512m -cp "$tcp:$ROOT/repository/target/classes:$(cat "$cpfile")" dev.holdfast.testkit.S3TestServer "$WORK/s3/data" "$s3port" \
        <"$WORK/s3/stdin" >"$WORK/s3/server.log" 2>&1 &
    S3_PID=$!
    for _ in $(seq 1 300); do grep -q 'listening on port' "$WORK/s3/server.log" 2>/dev/null && break; sleep 0.1; done
    grep -q 'listening on port' "$WORK/s3/server.log" || { cat "$WORK/s3/server.log" >&2; die "S3 test server did not start"; }
    S3_ENDPOINT="http://127.0.0.1:$s3port"
    export AWS_ACCESS_KEY_ID="$(sed -n 's/.*ACCESS_KEY = "\(.*\)";/\1/p' "$ROOT/repository/src/test/java/dev/holdfast/testkit/S3TestServer.java")"
    export AWS_SECRET_ACCESS_KEY="$(sed -n 's/.*SECRET_KEY = "\(.*\)";/\1/p' "$ROOT/repository/src/test/java/dev/holdfast/testkit/S3TestServer.java")"
    export AWS_REGION=us-east-1
    log "S3 API server (S3Proxy) on $S3_ENDPOINT"
fi

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
PGDIR=""; PGDATA=""; PGPORT=""; PGPW=""
PSQL=()
# start_cluster NAME [extra postgresql.conf lines...]
start_cluster() {
    local name="$1"; shift
    PGDIR="$WORK/pg-$name"
    mkdir -p "$PGDIR"
    chown "$PG_USER:" "$PGDIR"
    chmod 700 "$PGDIR"
    PGDATA="$PGDIR/data"
    PGPORT="$(free_port)"
    PGPW="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    timeout 120 runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 || { cat "$PGDIR/initdb.log" >&2; die "initdb failed"; }
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $PGPORT"
        echo "unix_socket_directories = '$PGDIR'"
        echo "wal_level = replica"
        echo "max_wal_senders = 10"
        echo "max_replication_slots = 10"
        echo "synchronous_commit = on"
        echo "fsync = on"
        echo "password_encryption = 'scram-sha-256'"
        local l
        for l in "$@"; do echo "$l"; done
    } >>"$PGDATA/postgresql.conf"
    cat >"$PGDATA/pg_hba.conf" <<EOF
local   all           all                        trust
local   replication   all                        trust
host    all           holdfast   127.0.0.1/32    scram-sha-256
host    replication   holdfast   127.0.0.1/32    scram-sha-256
EOF
    chown "$PG_USER:" "$PGDATA/pg_hba.conf"
    CLUSTERS+=("$PGDATA")
    timeout 120 runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/server.log" -w -t 60 start >/dev/null \
        || { tail -20 "$PGDIR/server.log" >&2; die "PostgreSQL did not start"; }
    PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PGPORT" -U postgres -d postgres)
    "${PSQL[@]}" -c "CREATE ROLE holdfast LOGIN REPLICATION PASSWORD '$PGPW'"
    log "cluster $name: port $PGPORT, data $PGDATA"
}

q() { "${PSQL[@]}" -At -c "$1"; }

pgbench_init() {
    log "pgbench -i -s $scale"
    timeout 1200 "$PG_BIN/pgbench" -i -q -s "$scale" -h "$PGDIR" -p "$PGPORT" -U postgres postgres \
        >"$PGDIR/pgbench-init.log" 2>&1 || { cat "$PGDIR/pgbench-init.log" >&2; die "pgbench -i failed"; }
    q "CHECKPOINT" >/dev/null
}

# cpu_snapshot: prints "<machine busy ticks> <machine total ticks> <agent ticks>"
cpu_snapshot() {
    local busy total agent=0
    read -r busy total < <(awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6, t}' /proc/stat)
    if [[ -n "$AGENT_PID" && -r "/proc/$AGENT_PID/stat" ]]; then
        agent="$(sed 's/^.*) //' "/proc/$AGENT_PID/stat" | awk '{print $12+$13}')"
    fi
    echo "$busy $total $agent"
}
# cpu_delta "<before>" "<after>" seconds -> "<agent cores> <machine busy cores>"
cpu_delta() {
    local hz; hz="$(getconf CLK_TCK)"
    python3 - "$1" "$2" "$3" "$hz" "$(nproc)" <<'EOF'
import sys
b = list(map(float, sys.argv[1].split())); a = list(map(float, sys.argv[2].split()))
secs, hz, n = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
busy = (a[0] - b[0]) / (a[1] - b[1]) * n if a[1] > b[1] else 0
print("%.3f %.3f" % ((a[2] - b[2]) / hz / secs, busy))
EOF
}

# run_pgbench LOGFILE: pgbench -c 8 -j 2 -T duration; sets RUN_T0 RUN_T1 RUN_TPS RUN_WAL_BYTES RUN_CPU
run_pgbench() {
    local logf="$1" lsn0 lsn1 c0 c1
    lsn0="$(q "SELECT pg_current_wal_lsn()")"
    c0="$(cpu_snapshot)"
    RUN_T0="$(date +%s.%N)"
    log "pgbench -c 8 -j 2 -T $duration"
    timeout $((duration + 300)) "$PG_BIN/pgbench" -c 8 -j 2 -T "$duration" -n -h "$PGDIR" -p "$PGPORT" -U postgres postgres \
        >"$logf" 2>&1 &
    PGBENCH_PID=$!
    local rc=0
    wait "$PGBENCH_PID" || rc=$?
    PGBENCH_PID=""
    RUN_T1="$(date +%s.%N)"
    c1="$(cpu_snapshot)"
    [[ "$rc" -eq 0 ]] || { tail -20 "$logf" >&2; die "pgbench failed (exit $rc)"; }
    lsn1="$(q "SELECT pg_current_wal_lsn()")"
    RUN_WAL_BYTES="$(q "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')")"
    RUN_TPS="$(sed -n 's/^tps = \([0-9.]*\) .*without initial connection time.*/\1/p' "$logf" | head -1)"
    [[ -n "$RUN_TPS" ]] || RUN_TPS="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$logf" | head -1)"
    RUN_CPU="$(cpu_delta "$c0" "$c1" "$(awk "BEGIN{print $RUN_T1 - $RUN_T0}")")"
}

# ---------------------------------------------------------------------------------------------
# Holdfast repository and agent
# ---------------------------------------------------------------------------------------------
# write_config NAME MODE -> $WORK/NAME/agent.yaml; fresh repository
AGENT_DIR=""; AGENT_CFG=""; METRICS_PORT=""; SOCK=""
write_config() {
    local name="$1" mode="$2" repo_yaml
    AGENT_DIR="$WORK/agent-$name"
    mkdir -p "$AGENT_DIR"
    chmod 700 "$AGENT_DIR"
    # The socket's directory: traversable by postgres (the archive hook runs as postgres).
    mkdir -p "$WORK/sock-$name"
    chgrp "$PG_USER" "$WORK/sock-$name"
    chmod 750 "$WORK/sock-$name"
    SOCK="$WORK/sock-$name/agent.sock"
    METRICS_PORT="$(free_port)"
    if [[ -n "$S3_ENDPOINT" ]]; then
        repo_yaml="  url: s3://holdfast-test/$name
  endpoint: $S3_ENDPOINT
  region: us-east-1
  path_style: true"
    else
        repo_yaml="  url: file://$AGENT_DIR/repo"
    fi
    AGENT_CFG="$AGENT_DIR/agent.yaml"
    cat >"$AGENT_CFG" <<EOF
host: bench
repository:
$repo_yaml
  key_file: $KEY
control_socket: $SOCK
control_socket_group: $PG_USER
metrics:
  listen: 127.0.0.1:$METRICS_PORT
sources:
  - name: main
    type: postgres
    data_dir: $PGDATA
    conninfo: "host=127.0.0.1 port=$PGPORT user=holdfast password=$PGPW dbname=postgres"
    wal:
      mode: $mode
EOF
    if [[ "$mode" == stream ]]; then
        echo "      partial_interval: $partial_interval" >>"$AGENT_CFG"
    fi
    chmod 600 "$AGENT_CFG"
    "$HOLDFAST" repo init --config "$AGENT_CFG" >"$AGENT_DIR/repo-init.log" 2>&1 \
        || { cat "$AGENT_DIR/repo-init.log" >&2; die "holdfast repo init failed"; }
}

start_agent() {
    log "starting the agent (-Xmx$AGENT_HEAP, metrics 127.0.0.1:$METRICS_PORT)"
    HOLDFAST_JAVA_OPTS="-Xmx$AGENT_HEAP" "$HOLDFAST" agent run --config "$AGENT_CFG" \
        >"$AGENT_DIR/agent.log" 2>"$AGENT_DIR/agent.err" </dev/null &
    AGENT_PID=$!
    local i
    for i in $(seq 1 600); do
        grep -q 'event=agent_started' "$AGENT_DIR/agent.log" 2>/dev/null && return 0
        kill -0 "$AGENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$AGENT_DIR/agent.log" "$AGENT_DIR/agent.err" >&2
    die "the agent did not start"
}

agent_rss() {
    [[ -n "$AGENT_PID" && -r "/proc/$AGENT_PID/status" ]] || { echo "?"; return; }
    awk '/^VmRSS/{r=$2} /^VmHWM/{h=$2} END{printf "%.0f MiB (peak %.0f MiB, -Xmx'"$AGENT_HEAP"')", r/1024, h/1024}' "/proc/$AGENT_PID/status"
}

# agent_problems NAME: copies the agent's warn/error lines (and its stderr) into the summary
agent_problems() {
    local name="$1" n
    n="$(grep -cE 'level=(warn|error)' "$AGENT_DIR/agent.log" || true)"
    {
        echo "  agent log ($name): $n warn/error lines"
        grep -E 'level=(warn|error)' "$AGENT_DIR/agent.log" | head -20 | sed 's/^/    /' || true
        if [[ -s "$AGENT_DIR/agent.err" ]]; then
            echo "  agent stderr ($name): $(wc -l <"$AGENT_DIR/agent.err") lines"
            head -20 "$AGENT_DIR/agent.err" | cut -c1-400 | sed 's/^/    /' || true
        fi
    } | tee -a "$SUMMARY"
}

finish_phase() {
    stop_agent
    stop_cluster "$PGDATA" fast
    if [[ "$keep" -eq 0 ]]; then rm -rf -- "$PGDIR"; fi
}

{
    echo "Holdfast WAL shipping benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)"
    echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), $(java -version 2>&1 | head -1), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "command: bench/run-wal.sh --duration $duration --scale $scale --partial-interval $partial_interval${only:+ --only $only}$([[ $s3 -eq 1 ]] && echo ' --s3'); repository: $([[ -n "$S3_ENDPOINT" ]] && echo "S3 (S3Proxy on loopback)" || echo "file:// in $WORK")"
    echo
} >>"$SUMMARY"

# ---------------------------------------------------------------------------------------------
# 1. Stream mode
# ---------------------------------------------------------------------------------------------
if [[ -z "$only" || "$only" == stream ]]; then
    log "=== stream mode ==="
    start_cluster stream
    pgbench_init
    write_config stream stream
    start_agent
    log "waiting for the replication connection"
    for _ in $(seq 1 300); do
        [[ "$(q "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'holdfast_main' AND state = 'streaming'")" == 1 ]] && break
        sleep 0.1
    done
    [[ "$(q "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'holdfast_main'")" == 1 ]] \
        || { cat "$AGENT_DIR/agent.log" >&2; die "the agent is not streaming (no holdfast_main in pg_stat_replication)"; }
    STOP="$WORK/stream.stop"
    python3 "$HELPER" sample-stream --out "$WORK/stream-samples.tsv" --stop "$STOP" \
        --psql "${PSQL[*]}" --metrics "http://127.0.0.1:$METRICS_PORT/metrics" --app holdfast_main \
        --interval 0.2 2>"$WORK/stream-sampler.err" &
    SAMPLER_PID=$!
    sleep 2
    run_pgbench "$WORK/pgbench-stream.log"
    sleep 5                                  # let the last WAL of the run become durable
    touch "$STOP"; wait "$SAMPLER_PID" || true; SAMPLER_PID=""
    rss="$(agent_rss)"
    # Cross-check of the durable-time gauge against the durable LSN (both from the agent).
    ldt="$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | sed -n 's/^holdfast_wal_last_durable_timestamp_seconds{.*source="main".*} //p' | head -1)"
    ldl="$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | sed -n 's/^holdfast_wal_last_durable_lsn{.*source="main".*} //p' | head -1)"
    read -r agent_cpu machine_busy <<<"$RUN_CPU"
    python3 "$HELPER" report-stream --samples "$WORK/stream-samples.tsv" --start "$RUN_T0" --end "$RUN_T1" \
        --wal-bytes "$RUN_WAL_BYTES" --tps "$RUN_TPS" --agent-cpu "$agent_cpu" --machine-busy "$machine_busy" \
        --rss "$rss" --duration "$duration" --scale "$scale" --partial-interval "$partial_interval" | tee -a "$SUMMARY"
    echo "  agent gauges at the end      holdfast_wal_last_durable_lsn $ldl, holdfast_wal_last_durable_timestamp_seconds $ldt" | tee -a "$SUMMARY"
    [[ ! -s "$WORK/stream-sampler.err" ]] || { echo "  sampler errors: $(wc -l <"$WORK/stream-sampler.err") (first: $(head -1 "$WORK/stream-sampler.err"))" | tee -a "$SUMMARY"; }
    agent_problems stream
    echo >>"$SUMMARY"
    finish_phase
fi

# ---------------------------------------------------------------------------------------------
# 2. Archive mode: Holdfast, then pgBackRest
# ---------------------------------------------------------------------------------------------
# archive_run KEY LABEL ARCHIVE_COMMAND: the cluster is up and initialised, archiving through
# paused so far (empty archive_command); switches to ARCHIVE_COMMAND, times the drain of the
# backlog, checks one more push, runs pgbench while sampling.
archive_run() {
    local key="$1" label="$2" cmd="$3" failed0 before
    # Cold drain: pgbench -i left its WAL waiting (archive_command was empty, so archiving paused and
    # the .ready files piled up). Set the real command and time how fast that backlog drains with no
    # other load, independent of how much WAL pgbench makes. For Holdfast the agent has just started
    # (its look-ahead begins at once), so this includes the JVM's warm-up.
    local n0 td0 td1 nleft drained=0 a0 a1 f0
    n0="$(find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l)"
    a0="$(q "SELECT archived_count FROM pg_stat_archiver")"
    f0="$(q "SELECT failed_count FROM pg_stat_archiver")"
    td0="$(date +%s.%N)"
    "${PSQL[@]}" -c "ALTER SYSTEM SET archive_command = '${cmd//\'/\'\'}'" -c "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 6000); do
        nleft="$(find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l)"
        if [[ "$nleft" -eq 0 ]]; then drained=1; break; fi
        sleep 0.05
    done
    td1="$(date +%s.%N)"
    a1="$(q "SELECT archived_count FROM pg_stat_archiver")"
    if [[ "$drained" -eq 1 ]]; then
        DRAIN_LINE="$(awk -v n="$((a1 - a0))" -v b="$n0" -v t0="$td0" -v t1="$td1" -v f="$(( $(q "SELECT failed_count FROM pg_stat_archiver") - f0 ))" \
            'BEGIN{printf "%d segments (pgbench -i backlog of %d) in %.1f s: %.2f segments/s, %.1f MB/s; failed %d", n, b, t1-t0, n/(t1-t0), n*16.777216/(t1-t0), f}')"
    else
        DRAIN_LINE="backlog of $n0 not drained in 300 s ($nleft left)"
    fi
    [[ "$drained" -eq 1 ]] && printf '%s\t%s\n' "$key" "$(awk -v n="$((a1 - a0))" -v t0="$td0" -v t1="$td1" 'BEGIN{printf "%.4f", n/(t1-t0)}')" >>"$WORK/capacity.tsv"
    log "$label: drain: $DRAIN_LINE"
    sleep 1
    # One push through the real command before the load.
    before="$(q "SELECT archived_count FROM pg_stat_archiver")"
    failed0="$(q "SELECT failed_count FROM pg_stat_archiver")"
    q "CREATE TABLE IF NOT EXISTS bench_probe(x int); INSERT INTO bench_probe VALUES (1)" >/dev/null
    local seg; seg="$(q "SELECT pg_walfile_name(pg_current_wal_lsn())")"
    q "SELECT pg_switch_wal()" >/dev/null
    local ok=0
    for _ in $(seq 1 600); do
        if [[ "$(q "SELECT archived_count > $before AND last_archived_wal >= '$seg' FROM pg_stat_archiver")" == t ]]; then ok=1; break; fi
        sleep 0.1
    done
    if [[ "$ok" -ne 1 ]]; then
        q "SELECT * FROM pg_stat_archiver" >&2
        tail -20 "$PGDIR/server.log" >&2
        [[ -n "$AGENT_DIR" && -f "$AGENT_DIR/agent.log" ]] && tail -20 "$AGENT_DIR/agent.log" >&2
        die "$label: the first archive_command push ($seg) did not succeed in 60 s"
    fi
    failed0="$(q "SELECT failed_count FROM pg_stat_archiver")"
    log "$label: $seg archived through the real archive_command"
    local stop="$WORK/$key.stop"
    python3 "$HELPER" sample-archive --out "$WORK/$key-samples.tsv" --stop "$stop" \
        --psql "${PSQL[*]}" --status-dir "$PGDATA/pg_wal/archive_status" --interval 1 2>"$WORK/$key-sampler.err" &
    SAMPLER_PID=$!
    sleep 2
    run_pgbench "$WORK/pgbench-$key.log"
    # How long the backlog takes to drain after the load (bounded).
    local t_end drain="not within 300 s" n
    t_end="$(date +%s.%N)"
    q "SELECT pg_switch_wal()" >/dev/null
    for _ in $(seq 1 3000); do
        n="$(find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l)"
        if [[ "$n" -eq 0 ]]; then drain="$(printf '%.1f s' "$(awk "BEGIN{print $(date +%s.%N) - $t_end}")")"; break; fi
        sleep 0.1
    done
    sleep 1
    touch "$stop"; wait "$SAMPLER_PID" || true; SAMPLER_PID=""
    local rss="" agent_cpu machine_busy cpu_args=()
    read -r agent_cpu machine_busy <<<"$RUN_CPU"
    if [[ -n "$AGENT_PID" ]]; then rss="$(agent_rss)"; cpu_args=(--agent-cpu "$agent_cpu"); fi
    python3 "$HELPER" report-archive --samples "$WORK/$key-samples.tsv" --start "$RUN_T0" --end "$RUN_T1" \
        --wal-bytes "$RUN_WAL_BYTES" --tps "$RUN_TPS" --machine-busy "$machine_busy" "${cpu_args[@]}" --rss "$rss" \
        --label "$label" --key "$key" --failed-before "$failed0" --drain "$drain" >"$WORK/$key-report.txt"
    { grep -v '^#RESULT' "$WORK/$key-report.txt"; echo "  cold drain (no load)        $DRAIN_LINE"; } | tee -a "$SUMMARY"
    grep '^#RESULT' "$WORK/$key-report.txt" >>"$WORK/results.tsv"
    if grep -q 'archive command failed' "$PGDIR/server.log"; then
        { echo "  server log: $(grep -c 'archive command failed' "$PGDIR/server.log") 'archive command failed' lines, first:";
          grep -m3 -B2 'archive command failed' "$PGDIR/server.log" | sed 's/^/    /'; } | tee -a "$SUMMARY"
    fi
}

# archive_command is empty at first: archiving paused, so pgbench -i's WAL waits as .ready files
# for the capacity measurement in archive_run.
ARCHIVE_CONF=("archive_mode = on" "archive_command = ''")
if [[ -z "$only" || "$only" == archive ]]; then
    log "=== archive mode: Holdfast ==="
    start_cluster hf-archive "${ARCHIVE_CONF[@]}"
    pgbench_init
    write_config hf-archive archive
    start_agent
    [[ -S "$SOCK" ]] || die "no control socket at $SOCK"
    runuser -u "$PG_USER" -- test -r "$ROOT/bin/holdfast-wal-push" -a -x "$ROOT/bin/holdfast-wal-push" \
        || die "$ROOT/bin/holdfast-wal-push is not readable/executable by $PG_USER"
    runuser -u "$PG_USER" -- test -w "$SOCK" || die "$SOCK is not writable by $PG_USER"
    archive_run holdfast "Holdfast archive mode (holdfast-wal-push, archive_parallel 4), pgbench -c 8 -j 2 -T $duration" \
        "$ROOT/bin/holdfast-wal-push --socket $SOCK %p"
    agent_problems hf-archive
    echo >>"$SUMMARY"
    finish_phase
    AGENT_DIR=""

    if [[ "$pgbackrest" -eq 1 ]]; then
        if ! dpkg -s pgbackrest >/dev/null 2>&1; then
            log "installing pgbackrest"
            DEBIAN_FRONTEND=noninteractive apt-get install -y pgbackrest >"$WORK/apt.log" 2>&1 \
                || { apt-get update >>"$WORK/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y pgbackrest >>"$WORK/apt.log" 2>&1; } \
                || { tail "$WORK/apt.log" >&2; die "could not install pgbackrest"; }
        fi
        PGBR_VERSION="$(pgbackrest version)"
        lines=(sync)
        [[ "$async" -eq 1 ]] && lines+=(async)
        for kind in "${lines[@]}"; do
            log "=== archive mode: $PGBR_VERSION archive-async=$([[ $kind == async ]] && echo y || echo n) ==="
            start_cluster "pgbr-$kind" "${ARCHIVE_CONF[@]}"
            pgbench_init
            br="$PGDIR/pgbackrest"
            mkdir -p "$br/repo" "$br/log" "$br/lock" "$br/spool"
            cat >"$br/pgbackrest.conf" <<EOF
[global]
repo1-path=$br/repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
compress-type=zst
compress-level=3
log-path=$br/log
lock-path=$br/lock
spool-path=$br/spool
log-level-console=warn
archive-async=$([[ $kind == async ]] && echo y || echo n)
process-max=$([[ $kind == async ]] && echo 4 || echo 1)

[bench]
pg1-path=$PGDATA
pg1-port=$PGPORT
pg1-socket-path=$PGDIR
pg1-user=postgres
EOF
            chown -R "$PG_USER:" "$br"
            chmod 600 "$br/pgbackrest.conf"
            timeout 120 runuser -u "$PG_USER" -- pgbackrest --config="$br/pgbackrest.conf" --stanza=bench stanza-create \
                >"$br/stanza-create.log" 2>&1 || { cat "$br/stanza-create.log" >&2; die "pgbackrest stanza-create failed"; }
            archive_run "pgbackrest-$kind" \
                "$PGBR_VERSION archive-push, archive-async=$([[ $kind == async ]] && echo "y process-max=4" || echo n), zst-3, aes-256-cbc, pgbench -c 8 -j 2 -T $duration" \
                "pgbackrest --config=$br/pgbackrest.conf --stanza=bench archive-push %p"
            if grep -qE ' (ERROR|WARN): ' "$br"/log/*.log 2>/dev/null; then
                { echo "  pgBackRest log: $(cat "$br"/log/*.log | grep -cE ' (ERROR|WARN): ') ERROR/WARN lines, first:";
                  grep -hE ' (ERROR|WARN): ' "$br"/log/*.log | head -3 | sed 's/^/    /'; } | tee -a "$SUMMARY"
            fi
            echo >>"$SUMMARY"
            finish_phase
        done
    fi

    if [[ -s "$WORK/results.tsv" ]]; then
        python3 - "$WORK/results.tsv" "$WORK/capacity.tsv" <<'EOF' | tee -a "$SUMMARY"
import sys
r = {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    r[p[1]] = {"segs": float(p[2]), "tps": float(p[3]), "max": p[4], "final": p[5], "grows": p[6] == "1", "failed": p[7]}
cap = {}
try:
    for line in open(sys.argv[2]):
        k, v = line.split()
        cap[k] = float(v)
except OSError:
    pass
h = r.get("holdfast")
if h:
    ok = (not h["grows"]) and h["failed"] in ("0", "None")
    print("archive-mode target (keeps up with pgbench -c 8, no growing backlog): %s (backlog max %s, final %s, %s; failed %s)"
          % ("MET" if ok else "MISSED", h["max"], h["final"], "grows" if h["grows"] else "steady", h["failed"]))
    for k in ("pgbackrest-sync", "pgbackrest-async"):
        if k in r:
            o = r[k]
            print("Holdfast / pgBackRest %-5s  archived segments/s x%.2f   pgbench TPS x%.2f   (pgBackRest backlog %s, max %s)"
                  % (k.split("-")[1], h["segs"] / o["segs"] if o["segs"] else float("nan"),
                     h["tps"] / o["tps"] if o["tps"] else float("nan"), "grows" if o["grows"] else "steady", o["max"]))
            if "holdfast" in cap and k in cap:
                print("Holdfast / pgBackRest %-5s  cold drain of the pgbench -i backlog x%.2f  (%.2f vs %.2f segments/s)"
                      % (k.split("-")[1], cap["holdfast"] / cap[k], cap["holdfast"], cap[k]))
    print("(under pgbench every archiver ships only what pgbench writes: segments/s there follows the TPS of the run)")
EOF
    fi
fi

echo
echo "==================================== summary ===================================="
cat "$SUMMARY"
