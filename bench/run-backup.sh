#!/usr/bin/env bash
# Base backup and restore benchmark, Holdfast next to pgBackRest (bench/README.md, "Base backup and
# restore vs pgBackRest").
#
#   bench/run-backup.sh [--quick] [--scale N] [--other-percent P] [--runs N]
#                       [--only pgbackrest|holdfast] [--holdfast-wal stream|archive]
#                       [--drop-caches] [--no-check] [--workdir DIR] [--keep]
#
# One throwaway PostgreSQL 15 cluster: pgbench -i -s N plus a table of less compressible data
# (bench_blob: random bytes and random hex text, P % of the database), loaded with wal_level=minimal
# and then restarted for archiving/streaming. Then, on that one cluster and the same filesystem:
#   pgBackRest (Debian package): backup --type=full, then restore into an empty directory;
#     zst level 3, repo1-cipher-type=aes-256-cbc, process-max=2, start-fast=y, archive-push as
#     archive_command.
#   Holdfast: bin/holdfast backup --config CFG --source main --type full, then
#     bin/holdfast restore --config CFG --source main --backup latest --target DIR;
#     the agent (bin/holdfast agent run) runs in the background shipping WAL (stream mode by
#     default, or archive mode with holdfast-wal-push).
# Each operation runs --runs times (default 2), the tools alternating which goes first. Every timed
# region is the command plus a sync. Prints seconds, MB/s (database bytes / seconds), stored bytes
# and the Holdfast/pgBackRest throughput ratios for backup and restore against the 1.25x target.
# After the last restore of each tool the restored directory is started as a cluster (untimed) and
# its row counts checked, unless --no-check.
#
# Options:
#   --quick            scale 10 instead of 100 (a smoke check, a few minutes)
#   --scale N          pgbench -i -s N (default 100)
#   --other-percent P  share of the database in bench_blob (default 25)
#   --runs N           timed runs of every operation (default 2); best and median are printed,
#                      ratios use the best run of each
#   --only T           run only pgbackrest or only holdfast
#   --holdfast-wal M   how the agent ships WAL during the Holdfast backup: stream (default) or archive
#   --drop-caches      drop the page cache (echo 3 > /proc/sys/vm/drop_caches, untimed) before every
#                      timed operation: cold-cache figures (affects the whole machine)
#   --no-check         do not start the restored clusters to check them
#   --workdir DIR      where the temp directory is created (default /tmp); clusters, both
#                      repositories and restore targets all live there (one filesystem)
#   --keep             keep the temp directory (logs, repositories) instead of removing it
#
# Runs as root; PostgreSQL and pgBackRest run as `postgres` through runuser, on a free loopback port
# with the socket in the temp directory. A trap stops the agent and every cluster and removes the
# temp directory on exit, error or Ctrl-C. Exits 0 when every operation completed (also if the
# target is missed), 1 if one could not be carried out (a tool exited non-zero), 3 if a restored
# cluster failed its check.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER=postgres
HOLDFAST="${HOLDFAST_BIN:-$ROOT/bin/holdfast}"   # HOLDFAST_BIN: another launcher (testing the harness)
HELPER="$HERE/backup_bench.py"
AGENT_HEAP="${AGENT_HEAP:-1g}"

scale=100
other_percent=25
runs=2
only=""
hf_wal=stream
drop_caches=0
check=1
workdir=/tmp
keep=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) scale=10 ;;
        --scale) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || { echo "--scale needs a number >= 1" >&2; exit 2; }; scale="$2"; shift ;;
        --other-percent) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -lt 90 ]] || { echo "--other-percent needs 0-89" >&2; exit 2; }; other_percent="$2"; shift ;;
        --runs) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || { echo "--runs needs a number >= 1" >&2; exit 2; }; runs="$2"; shift ;;
        --only) [[ $# -ge 2 && ( "$2" == pgbackrest || "$2" == holdfast ) ]] || { echo "--only pgbackrest|holdfast" >&2; exit 2; }; only="$2"; shift ;;
        --holdfast-wal) [[ $# -ge 2 && ( "$2" == stream || "$2" == archive ) ]] || { echo "--holdfast-wal stream|archive" >&2; exit 2; }; hf_wal="$2"; shift ;;
        --drop-caches) drop_caches=1 ;;
        --no-check) check=0 ;;
        --workdir) [[ $# -ge 2 && -d "$2" ]] || { echo "--workdir needs an existing directory" >&2; exit 2; }; workdir="$(cd "$2" && pwd)"; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done
TOOLS=()
[[ -z "$only" || "$only" == pgbackrest ]] && TOOLS+=(pgbackrest)
[[ -z "$only" || "$only" == holdfast ]] && TOOLS+=(holdfast)
has_tool() { [[ " ${TOOLS[*]} " == *" $1 "* ]]; }

log() { printf '[run-backup] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for b in initdb pg_ctl psql pgbench postgres; do [[ -x "$PG_BIN/$b" ]] || die "no $PG_BIN/$b (PostgreSQL 15)"; done
command -v python3 >/dev/null || die "python3 is needed"
id "$PG_USER" >/dev/null 2>&1 || die "no '$PG_USER' system user"
[[ "$(id -u)" -eq 0 ]] || die "run as root (PostgreSQL runs as '$PG_USER' through runuser)"
if [[ "$drop_caches" -eq 1 ]]; then
    { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null || die "--drop-caches: cannot write /proc/sys/vm/drop_caches"
fi

# ---------------------------------------------------------------------------------------------
# Temp directory, cleanup
# ---------------------------------------------------------------------------------------------
WORK="$(mktemp -d "$workdir/holdfast-bench-backup.XXXXXX")"
chmod 755 "$WORK"          # postgres must traverse it (its cluster, the repositories, sockets)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
AGENT_PID=""
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
    stop_agent
    local d
    for d in "${CLUSTERS[@]}"; do stop_cluster "$d" immediate; done
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
# Tools
# ---------------------------------------------------------------------------------------------
PGBR_VERSION=""
if has_tool pgbackrest; then
    if ! dpkg -s pgbackrest >/dev/null 2>&1; then
        log "installing pgbackrest"
        DEBIAN_FRONTEND=noninteractive apt-get install -y pgbackrest >"$WORK/apt.log" 2>&1 \
            || { apt-get update >>"$WORK/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y pgbackrest >>"$WORK/apt.log" 2>&1; } \
            || { tail "$WORK/apt.log" >&2; die "could not install pgbackrest"; }
    fi
    PGBR_VERSION="$(pgbackrest version)"
fi
HF_VERSION=""
KEY="$WORK/master.key"
if has_tool holdfast; then
    HF_VERSION="$("$HOLDFAST" --version 2>&1 | head -1)" || die "bin/holdfast --version failed: $HF_VERSION"
    log "CLI: $HF_VERSION"
    "$HOLDFAST" keys init --out "$KEY" >"$WORK/keys-init.log" 2>&1 || { cat "$WORK/keys-init.log" >&2; die "holdfast keys init failed"; }
fi

# ---------------------------------------------------------------------------------------------
# The cluster: load with wal_level=minimal, then restart for archiving/streaming
# ---------------------------------------------------------------------------------------------
PGDIR="$WORK/pg"
mkdir -p "$PGDIR"
chown "$PG_USER:" "$PGDIR"
chmod 700 "$PGDIR"
PGDATA="$PGDIR/data"
PGPORT="$(free_port)"
PGPW="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
timeout 120 runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 || { cat "$PGDIR/initdb.log" >&2; die "initdb failed"; }
cp "$PGDATA/postgresql.conf" "$PGDIR/postgresql.conf.orig"
# write_conf LINES...: postgresql.conf = initdb's + the common lines + LINES
write_conf() {
    {
        cat "$PGDIR/postgresql.conf.orig"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $PGPORT"
        echo "unix_socket_directories = '$PGDIR'"
        echo "max_wal_size = 4GB"
        echo "fsync = on"
        echo "password_encryption = 'scram-sha-256'"
        local l
        for l in "$@"; do echo "$l"; done
    } >"$PGDATA/postgresql.conf"
    chown "$PG_USER:" "$PGDATA/postgresql.conf"
}
write_conf "wal_level = minimal" "max_wal_senders = 0" "archive_mode = off"
cat >"$PGDATA/pg_hba.conf" <<EOF
local   all           all                        trust
local   replication   all                        trust
host    all           holdfast   127.0.0.1/32    scram-sha-256
host    replication   holdfast   127.0.0.1/32    scram-sha-256
EOF
chown "$PG_USER:" "$PGDATA/pg_hba.conf"
CLUSTERS+=("$PGDATA")
pg_start() {
    timeout 180 runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/server.log" -w -t 120 start >/dev/null \
        || { tail -20 "$PGDIR/server.log" >&2; die "PostgreSQL did not start"; }
}
pg_start
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PGPORT" -U postgres -d postgres)
q() { "${PSQL[@]}" -At -c "$1"; }
q "CREATE ROLE holdfast LOGIN REPLICATION SUPERUSER PASSWORD '$PGPW'" >/dev/null
log "cluster: port $PGPORT, data $PGDATA"

t_load0="$(date +%s)"
log "pgbench -i -s $scale (wal_level=minimal)"
timeout 3600 "$PG_BIN/pgbench" -i -q -s "$scale" -h "$PGDIR" -p "$PGPORT" -U postgres postgres \
    >"$PGDIR/pgbench-init.log" 2>&1 || { cat "$PGDIR/pgbench-init.log" >&2; die "pgbench -i failed"; }
pgbench_bytes="$(q "SELECT pg_database_size('postgres')")"
target_other=$(( pgbench_bytes * other_percent / (100 - other_percent) ))
log "bench_blob: random bytes and hex text up to $(( target_other / 1000000 )) MB ($other_percent % of the database)"
q "CREATE TABLE bench_blob (id bigint PRIMARY KEY, b bytea NOT NULL, t text NOT NULL)" >/dev/null
# Per row 256 random bytes (incompressible) and 256 random hex characters (4 bits per character,
# zstd about 2x); the LATERAL subquery refers to g so it is evaluated for every row.
batch=50000
next_id=1
while [[ "$target_other" -gt 0 && "$(q "SELECT pg_total_relation_size('bench_blob')")" -lt "$target_other" ]]; do
    q "INSERT INTO bench_blob
       SELECT g, x.b, x.t FROM generate_series($next_id, $((next_id + batch - 1))) g,
       LATERAL (SELECT decode(string_agg(md5(random()::text), '') FILTER (WHERE i <= 16), 'hex') AS b,
                       string_agg(md5(random()::text), '') FILTER (WHERE i > 16) AS t
                FROM generate_series(1, 24 + 0 * g) i) x" >/dev/null
    next_id=$((next_id + batch))
done
blob_rows=$((next_id - 1))
q "VACUUM ANALYZE" >/dev/null
q "CHECKPOINT" >/dev/null
log "loaded in $(( $(date +%s) - t_load0 )) s: pgbench $(( pgbench_bytes / 1000000 )) MB, bench_blob $blob_rows rows $(( $(q "SELECT pg_total_relation_size('bench_blob')") / 1000000 )) MB"

# Restart for the benchmark: WAL for archiving and streaming.
ARCHIVE_CMDS=()
PGBR_CONF="$WORK/pgbackrest/pgbackrest.conf"
SOCK="$WORK/sock/agent.sock"
if has_tool pgbackrest; then
    ARCHIVE_CMDS+=("pgbackrest --config=$PGBR_CONF --stanza=bench archive-push %p")
fi
if has_tool holdfast && [[ "$hf_wal" == archive ]]; then
    ARCHIVE_CMDS+=("$ROOT/bin/holdfast-wal-push --socket $SOCK %p")
fi
if [[ ${#ARCHIVE_CMDS[@]} -gt 0 ]]; then
    archive_command="$(printf '%s && ' "${ARCHIVE_CMDS[@]}")"
    archive_command="${archive_command% && }"
    ARCHIVE_CONF=("archive_mode = on" "archive_command = '${archive_command//\'/\'\'}'")
else
    ARCHIVE_CONF=("archive_mode = off")
fi
stop_cluster "$PGDATA" fast
write_conf "wal_level = replica" "max_wal_senders = 10" "max_replication_slots = 10" "synchronous_commit = on" "${ARCHIVE_CONF[@]}"
pg_start

# What both tools read: the data directory without pg_wal (neither copies pg_wal's segments).
db_bytes="$(du -sb --exclude=pg_wal "$PGDATA" | cut -f1)"
pgdb_sum="$(q "SELECT sum(pg_database_size(oid)) FROM pg_database")"
log "data directory without pg_wal: $db_bytes bytes; sum of pg_database_size: $pgdb_sum"

# ---------------------------------------------------------------------------------------------
# pgBackRest stanza
# ---------------------------------------------------------------------------------------------
if has_tool pgbackrest; then
    br="$WORK/pgbackrest"
    mkdir -p "$br/repo" "$br/log" "$br/lock" "$br/spool" "$WORK/restore-pgbr"
    cat >"$PGBR_CONF" <<EOF
[global]
repo1-path=$br/repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
repo1-retention-full=100
compress-type=zst
compress-level=3
process-max=2
start-fast=y
archive-async=n
log-path=$br/log
lock-path=$br/lock
spool-path=$br/spool
log-level-console=warn
log-level-file=info

[bench]
pg1-path=$PGDATA
pg1-port=$PGPORT
pg1-socket-path=$PGDIR
pg1-user=postgres
EOF
    chown -R "$PG_USER:" "$br" "$WORK/restore-pgbr"
    chmod 600 "$PGBR_CONF"
    timeout 120 runuser -u "$PG_USER" -- pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create \
        >"$br/stanza-create.log" 2>&1 || { cat "$br/stanza-create.log" >&2; die "pgbackrest stanza-create failed"; }
    log "$PGBR_VERSION: stanza created"
fi

# ---------------------------------------------------------------------------------------------
# Holdfast repository, configuration and agent
# ---------------------------------------------------------------------------------------------
HF_CFG="$WORK/holdfast/agent.yaml"
HF_REPO="$WORK/holdfast/repo"
if has_tool holdfast; then
    mkdir -p "$WORK/holdfast" "$WORK/sock" "$WORK/restore-hf"
    chmod 700 "$WORK/holdfast"
    chgrp "$PG_USER" "$WORK/sock"
    chmod 750 "$WORK/sock"
    metrics_port="$(free_port)"
    cat >"$HF_CFG" <<EOF
host: bench
repository:
  url: file://$HF_REPO
  key_file: $KEY
control_socket: $SOCK
control_socket_group: $PG_USER
metrics:
  listen: 127.0.0.1:$metrics_port
sources:
  - name: main
    type: postgres
    data_dir: $PGDATA
    conninfo: "host=127.0.0.1 port=$PGPORT user=holdfast password=$PGPW dbname=postgres"
    wal:
      mode: $hf_wal
restore:
  allowed_targets: [$WORK/restore-hf]
EOF
    chmod 600 "$HF_CFG"
    "$HOLDFAST" repo init --config "$HF_CFG" >"$WORK/holdfast/repo-init.log" 2>&1 \
        || { cat "$WORK/holdfast/repo-init.log" >&2; die "holdfast repo init failed"; }
    log "starting the agent (wal.mode: $hf_wal, -Xmx$AGENT_HEAP)"
    HOLDFAST_JAVA_OPTS="-Xmx$AGENT_HEAP" "$HOLDFAST" agent run --config "$HF_CFG" \
        >"$WORK/holdfast/agent.log" 2>"$WORK/holdfast/agent.err" </dev/null &
    AGENT_PID=$!
    started=0
    for _ in $(seq 1 600); do
        if grep -q 'event=agent_started' "$WORK/holdfast/agent.log" 2>/dev/null; then started=1; break; fi
        kill -0 "$AGENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ "$started" -eq 1 ]] || { cat "$WORK/holdfast/agent.log" "$WORK/holdfast/agent.err" >&2; die "the agent did not start"; }
    if [[ "$hf_wal" == stream ]]; then
        for _ in $(seq 1 300); do
            [[ "$(q "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'holdfast_main' AND state = 'streaming'")" == 1 ]] && break
            sleep 0.1
        done
        [[ "$(q "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'holdfast_main'")" == 1 ]] \
            || { cat "$WORK/holdfast/agent.log" >&2; die "the agent is not streaming (no holdfast_main in pg_stat_replication)"; }
    else
        # One segment through the whole archive_command before timing anything.
        before="$(q "SELECT archived_count FROM pg_stat_archiver")"
        q "SELECT pg_switch_wal()" >/dev/null
        for _ in $(seq 1 600); do [[ "$(q "SELECT archived_count > $before FROM pg_stat_archiver")" == t ]] && break; sleep 0.1; done
        [[ "$(q "SELECT archived_count > $before FROM pg_stat_archiver")" == t ]] || { q "SELECT * FROM pg_stat_archiver" >&2; die "archive_command does not work"; }
    fi
    log "agent up, WAL shipping ($hf_wal)"
fi

# pgBackRest's own check (archive_command included) once the agent is up, since with
# --holdfast-wal archive the same archive_command also hands every segment to the agent.
if has_tool pgbackrest; then
    timeout 300 runuser -u "$PG_USER" -- pgbackrest --config="$PGBR_CONF" --stanza=bench check \
        >"$WORK/pgbackrest/check.log" 2>&1 || { cat "$WORK/pgbackrest/check.log" >&2; die "pgbackrest check failed (archive_command?)"; }
    log "$PGBR_VERSION: check passed (archive-push works)"
fi

# ---------------------------------------------------------------------------------------------
# Timed operations
# ---------------------------------------------------------------------------------------------
TIME_OPTS=(--sync)
[[ "$drop_caches" -eq 1 ]] && TIME_OPTS+=(--drop-caches)

repo_size() { du -sb "$1" 2>/dev/null | cut -f1; }

# backup TOOL RUN
backup() {
    local tool="$1" run="$2" s0 s1 rc=0
    q "CHECKPOINT" >/dev/null          # untimed: both start from a clean buffer pool
    sync
    case "$tool" in
        pgbackrest)
            s0="$(repo_size "$WORK/pgbackrest/repo")"
            log "pgBackRest backup --type=full (run $run)"
            python3 "$HELPER" time --out "$RESULTS" --tool pgbackrest --op backup --run "$run" "${TIME_OPTS[@]}" -- \
                runuser -u "$PG_USER" -- pgbackrest --config="$PGBR_CONF" --stanza=bench --type=full backup \
                >"$WORK/pgbr-backup-$run.log" 2>&1 || rc=$?
            s1="$(repo_size "$WORK/pgbackrest/repo")"
            ;;
        holdfast)
            s0="$(repo_size "$HF_REPO")"
            log "Holdfast backup --type full (run $run)"
            python3 "$HELPER" time --out "$RESULTS" --tool holdfast --op backup --run "$run" "${TIME_OPTS[@]}" -- \
                "$HOLDFAST" backup --config "$HF_CFG" --source main --type full \
                >"$WORK/hf-backup-$run.log" 2>&1 || rc=$?
            s1="$(repo_size "$HF_REPO")"
            ;;
    esac
    if [[ "$rc" -ne 0 ]]; then
        tail -20 "$WORK/$([[ $tool == pgbackrest ]] && echo pgbr || echo hf)-backup-$run.log" >&2
        die "$tool backup failed (exit $rc)"
    fi
    printf '%s\tstored\t%s\t%s\n' "$tool" "$run" "$((s1 - s0))" >>"$RESULTS"
    log "  $(tail -1 "$RESULTS" | cut -f4) bytes added to the repository; $(grep -P "^$tool\tbackup\t$run\t" "$RESULTS" | cut -f4) s"
}

# restore TOOL RUN: into an empty directory; removed afterwards unless it is the last run
restore() {
    local tool="$1" run="$2" target rc=0
    case "$tool" in
        pgbackrest)
            target="$WORK/restore-pgbr/run$run"
            mkdir -p "$target"; chown "$PG_USER:" "$target"; chmod 700 "$target"
            sync
            log "pgBackRest restore (run $run)"
            python3 "$HELPER" time --out "$RESULTS" --tool pgbackrest --op restore --run "$run" "${TIME_OPTS[@]}" -- \
                runuser -u "$PG_USER" -- pgbackrest --config="$PGBR_CONF" --stanza=bench --pg1-path="$target" restore \
                >"$WORK/pgbr-restore-$run.log" 2>&1 || rc=$?
            ;;
        holdfast)
            target="$WORK/restore-hf/run$run"
            mkdir -p "$target"; chmod 700 "$target"
            sync
            log "Holdfast restore --backup latest (run $run)"
            python3 "$HELPER" time --out "$RESULTS" --tool holdfast --op restore --run "$run" "${TIME_OPTS[@]}" -- \
                "$HOLDFAST" restore --config "$HF_CFG" --source main --backup latest --target "$target" \
                >"$WORK/hf-restore-$run.log" 2>&1 || rc=$?
            ;;
    esac
    if [[ "$rc" -ne 0 ]]; then
        tail -20 "$WORK/$([[ $tool == pgbackrest ]] && echo pgbr || echo hf)-restore-$run.log" >&2
        die "$tool restore failed (exit $rc)"
    fi
    log "  restored $(du -sb --exclude=pg_wal "$target" | cut -f1) bytes (without pg_wal); $(grep -P "^$tool\trestore\t$run\t" "$RESULTS" | cut -f4) s"
    LAST_TARGET="$target"
}

# order RUN: the tools in this run's order (alternating which goes first)
order() {
    if [[ ${#TOOLS[@]} -eq 2 && $(($1 % 2)) -eq 0 ]]; then echo "${TOOLS[1]} ${TOOLS[0]}"; else echo "${TOOLS[*]}"; fi
}

for run in $(seq 1 "$runs"); do
    for tool in $(order "$run"); do backup "$tool" "$run"; done
done
declare -A LAST
for run in $(seq 1 "$runs"); do
    for tool in $(order "$run"); do
        restore "$tool" "$run"
        if [[ "$run" -lt "$runs" ]]; then rm -rf -- "$LAST_TARGET"; else LAST[$tool]="$LAST_TARGET"; fi
    done
done

# ---------------------------------------------------------------------------------------------
# Check the restored directories (untimed): start each as a cluster, recover, count rows
# ---------------------------------------------------------------------------------------------
CHECKS=()
check_restore() {
    local tool="$1" dir="$2" port sockdir n_acc n_blob ok=0
    port="$(free_port)"
    sockdir="$WORK/check-$tool"
    mkdir -p "$sockdir"; chown "$PG_USER:" "$sockdir"
    chown -R "$PG_USER:" "$dir"; chmod 700 "$dir"
    CLUSTERS+=("$dir")
    log "checking the $tool restore: starting it on port $port (recovery through its restore_command)"
    if ! timeout 660 runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$dir" -l "$sockdir/server.log" -w -t 600 \
            -o "-p $port -c listen_addresses='' -c unix_socket_directories='$sockdir' -c archive_mode=off" start >/dev/null 2>&1; then
        CHECKS+=("$tool restore check: FAILED (the restored cluster did not start; $sockdir/server.log: $(tail -1 "$sockdir/server.log" 2>/dev/null))")
        stop_cluster "$dir" immediate
        return
    fi
    local cq=("$PG_BIN/psql" -X -q -At -h "$sockdir" -p "$port" -U postgres -d postgres)
    for _ in $(seq 1 600); do
        [[ "$("${cq[@]}" -c "SELECT pg_is_in_recovery()" 2>/dev/null)" == f ]] && { ok=1; break; }
        sleep 0.5
    done
    n_acc="$("${cq[@]}" -c "SELECT count(*) FROM pgbench_accounts" 2>&1 || true)"
    n_blob="$("${cq[@]}" -c "SELECT count(*) FROM bench_blob" 2>&1 || true)"
    if [[ "$ok" -eq 1 && "$n_acc" == "$((scale * 100000))" && "$n_blob" == "$blob_rows" ]]; then
        CHECKS+=("$tool restore check: OK (recovered and promoted; pgbench_accounts $n_acc rows, bench_blob $n_blob rows)")
    else
        CHECKS+=("$tool restore check: FAILED (promoted: $([[ $ok -eq 1 ]] && echo yes || echo no); pgbench_accounts '$n_acc' of $((scale * 100000)), bench_blob '$n_blob' of $blob_rows)")
    fi
    stop_cluster "$dir" immediate
}
if [[ "$check" -eq 1 ]]; then
    for tool in "${TOOLS[@]}"; do check_restore "$tool" "${LAST[$tool]}"; done
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
SUMMARY="$WORK/summary.txt"
{
    echo "Holdfast base backup/restore benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')${PGBR_VERSION:+, $PGBR_VERSION}${HF_VERSION:+, Holdfast $HF_VERSION}"
    echo "command: bench/run-backup.sh --scale $scale --other-percent $other_percent --runs $runs${only:+ --only $only}$([[ $only != pgbackrest ]] && echo " --holdfast-wal $hf_wal")$([[ $drop_caches -eq 1 ]] && echo ' --drop-caches'); page cache $([[ $drop_caches -eq 1 ]] && echo 'dropped before every timed operation (cold)' || echo 'warm')"
    echo "data: pgbench scale $scale ($(( pgbench_bytes / 1000000 )) MB) + bench_blob $blob_rows rows ($other_percent % target); sum of pg_database_size $pgdb_sum bytes"
    [[ -n "$PGBR_VERSION" ]] && echo "pgBackRest: zst level 3, aes-256-cbc, process-max 2, start-fast, archive-push (sync) as archive_command, posix repository in $WORK"
    [[ -n "$HF_VERSION" ]] && echo "Holdfast: file:// repository in $WORK, agent running with wal.mode: $hf_wal"
    echo
} >"$SUMMARY"
python3 "$HELPER" report --results "$RESULTS" --db-bytes "$db_bytes" >>"$SUMMARY"
if [[ ${#CHECKS[@]} -gt 0 ]]; then
    echo >>"$SUMMARY"
    printf '%s\n' "${CHECKS[@]}" >>"$SUMMARY"
fi
if [[ -n "$PGBR_VERSION" ]] && grep -qE ' (ERROR|WARN): ' "$WORK"/pgbackrest/log/*.log 2>/dev/null; then
    { echo "pgBackRest log: $(cat "$WORK"/pgbackrest/log/*.log | grep -cE ' (ERROR|WARN): ') ERROR/WARN lines, first:";
      grep -hE ' (ERROR|WARN): ' "$WORK"/pgbackrest/log/*.log | head -3 | sed 's/^/  /'; } >>"$SUMMARY"
fi
if [[ -n "$HF_VERSION" ]]; then
    n="$(grep -cE 'level=(warn|error)' "$WORK/holdfast/agent.log" || true)"
    echo "agent log: $n warn/error lines" >>"$SUMMARY"
    grep -E 'level=(warn|error)' "$WORK/holdfast/agent.log" | head -10 | sed 's/^/  /' >>"$SUMMARY" || true
fi
echo
echo "==================================== summary ===================================="
cat "$SUMMARY"
if printf '%s\n' "${CHECKS[@]}" | grep -q FAILED; then
    log "a restored cluster failed its check: the figures above are not valid"
    exit 3
fi
