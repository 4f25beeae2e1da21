#!/usr/bin/env bash
# Pipeline throughput benchmark (bench/README.md).
#
#   bench/run-pipeline.sh [--build] [--corpus-only] [--rebuild-corpus] [-- PipelineBench options]
#
# 1. Builds (once, cached in bench/target/corpus/) a realistic corpus: the heap and index files of
#    a throwaway PostgreSQL 15 cluster after `pgbench -i -s 20`, plus ~25 % less compressible data
#    (an already-compressed slice and a slice of raw binaries).
# 2. Runs dev.holdfast.bench.PipelineBench on it and prints MB/s and ratios. Exits 0; it never
#    asserts a timing.
#
# Never touches the machine's own PostgreSQL: the throwaway cluster lives in a temp directory owned
# by the `postgres` user, on a free loopback port with its socket in that directory, and is stopped
# and removed on exit (also on error or interrupt). Every external step is under `timeout`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="$HERE/target"
CORPUS="$TARGET/corpus"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_SCALE="${PG_SCALE:-20}"
PG_USER="${PG_USER:-postgres}"
# Share of the corpus that is less compressible (percent of the whole).
OTHER_PERCENT="${OTHER_PERCENT:-25}"

build=0
corpus_only=0
rebuild_corpus=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --build) build=1 ;;
        --corpus-only) corpus_only=1 ;;
        --rebuild-corpus) rebuild_corpus=1 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) break ;;
    esac
    shift
done

log() { printf '[run-pipeline] %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------
PG_TMP=""
PG_DATA=""
cleanup_pg() {
    if [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]]; then
        log "stopping the throwaway cluster"
        timeout 60 runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    if [[ -n "$PG_TMP" && -d "$PG_TMP" ]]; then
        rm -rf -- "$PG_TMP"
    fi
}
trap cleanup_pg EXIT
trap 'exit 130' INT TERM

free_port() {
    local p
    for p in $(seq 55400 55499); do
        if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

build_corpus() {
    [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pgbench" ]] || { log "no PostgreSQL 15 binaries in $PG_BIN"; exit 1; }
    id "$PG_USER" >/dev/null 2>&1 || { log "no '$PG_USER' system user"; exit 1; }
    local port
    port="$(free_port)" || { log "no free loopback port in 55400-55499"; exit 1; }

    rm -rf -- "$CORPUS.partial"
    mkdir -p "$CORPUS.partial/pg" "$CORPUS.partial/other"

    PG_TMP="$(mktemp -d /tmp/holdfast-bench-pg.XXXXXX)"
    chown "$PG_USER:" "$PG_TMP"
    chmod 700 "$PG_TMP"
    PG_DATA="$PG_TMP/data"
    local as_pg=(runuser -u "$PG_USER" --)
    local conn=(-h "$PG_TMP" -p "$port" -U postgres)

    log "initdb in $PG_TMP (port $port, loopback only)"
    timeout 120 "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    timeout 120 "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_TMP/server.log" -w -t 60 start \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_TMP -c fsync=off -c synchronous_commit=off -c max_wal_size=4GB" >/dev/null

    log "pgbench -i -s $PG_SCALE (about $((PG_SCALE * 15)) MB)"
    timeout 900 "${as_pg[@]}" "$PG_BIN/pgbench" -i -q -s "$PG_SCALE" "${conn[@]}" postgres >/dev/null 2>"$PG_TMP/pgbench.log" \
        || { cat "$PG_TMP/pgbench.log" >&2; exit 1; }
    timeout 300 "${as_pg[@]}" "$PG_BIN/psql" -X -q "${conn[@]}" -d postgres -c CHECKPOINT

    # Relation files (main fork and its .N segments, plus the FSM and VM forks), as a base backup
    # would copy them.
    local rels
    rels="$(timeout 60 "${as_pg[@]}" "$PG_BIN/psql" -X -At -F ' ' "${conn[@]}" -d postgres -c \
        "SELECT relname, pg_relation_filepath(oid) FROM pg_class
          WHERE relname LIKE 'pgbench\_%' AND relkind IN ('r','i') ORDER BY pg_relation_size(oid) DESC, relname")"
    local relname relpath f n
    while read -r relname relpath; do
        [[ -n "$relname" ]] || continue
        for f in "$PG_DATA/$relpath" "$PG_DATA/$relpath".[0-9]* "$PG_DATA/${relpath}_fsm" "$PG_DATA/${relpath}_vm"; do
            [[ -f "$f" && -s "$f" ]] || continue
            n="$(basename "$f")"
            cp -- "$f" "$CORPUS.partial/pg/${relname}.${n}"
        done
    done <<<"$rels"

    timeout 120 "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
    cleanup_pg
    PG_TMP=""
    PG_DATA=""

    local pg_bytes other_bytes half
    pg_bytes="$(du -cb "$CORPUS.partial/pg" | tail -1 | cut -f1)"
    [[ "$pg_bytes" -gt 0 ]] || { log "no relation files copied"; exit 1; }
    # other / (pg + other) = OTHER_PERCENT
    other_bytes=$(( pg_bytes * OTHER_PERCENT / (100 - OTHER_PERCENT) ))
    half=$(( other_bytes / 2 ))

    # Less compressible data: (a) already-compressed bytes (gzip output of executables and shared
    # libraries; zstd cannot shrink them, so they are sealed as raw segments) and (b) the raw
    # executables themselves (zstd-3 shrinks them ~2-3x, far less than heap pages). Topped up with
    # random bytes if the machine lacks enough input.
    local src=()
    for f in /usr/lib/postgresql /usr/bin /usr/lib/x86_64-linux-gnu; do [[ -d "$f" ]] && src+=("$f"); done
    log "less compressible part: $((half / 1048576)) MiB of gzip output + $((half / 1048576)) MiB of raw executables"
    { timeout 300 tar -cf - --sort=name "${src[@]}" 2>/dev/null | gzip -1 -n | head -c "$half" || true; } >"$CORPUS.partial/other/compressed.tar.gz"
    { timeout 300 tar -cf - --sort=name "${src[@]}" 2>/dev/null | head -c "$half" || true; } >"$CORPUS.partial/other/binaries.tar"
    for f in "$CORPUS.partial/other/compressed.tar.gz" "$CORPUS.partial/other/binaries.tar"; do
        n="$(stat -c %s "$f")"
        if [[ "$n" -lt "$half" ]]; then
            head -c $(( half - n )) /dev/urandom >>"$f"
        fi
    done

    {
        echo "# Holdfast pipeline benchmark corpus (bench/run-pipeline.sh)"
        echo "# built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname): pgbench -i -s $PG_SCALE, PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"
        (cd "$CORPUS.partial" && find . -type f ! -name MANIFEST -printf '%s\t%P\n' | sort -k2)
    } >"$CORPUS.partial/MANIFEST"
    rm -rf -- "$CORPUS"
    mv -- "$CORPUS.partial" "$CORPUS"
    log "corpus ready: $(du -sh "$CORPUS" | cut -f1) in $CORPUS"
}

if [[ "$rebuild_corpus" -eq 1 ]]; then
    rm -rf -- "$CORPUS"
fi
if [[ -f "$CORPUS/MANIFEST" ]]; then
    log "reusing the corpus in $CORPUS ($(du -sh "$CORPUS" | cut -f1); --rebuild-corpus to rebuild)"
else
    build_corpus
fi
[[ "$corpus_only" -eq 1 ]] && exit 0

# ---------------------------------------------------------------------------------------------
# Build and run
# ---------------------------------------------------------------------------------------------
if [[ "$build" -eq 1 ]]; then
    log "building"
    (cd "$ROOT" && mvn -q -B -o install -pl repository,protocol,agent -DskipTests && mvn -q -B -o package -pl bench)
fi
JAR="$(ls "$TARGET"/holdfast-bench-*.jar 2>/dev/null | head -1 || true)"
if [[ -z "$JAR" || ! -d "$TARGET/lib" ]]; then
    log "bench is not built: cd $ROOT && mvn -q -B -o install -pl repository,protocol,agent -DskipTests && mvn -q -B -o package -pl bench"
    log "(or run this script with --build)"
    exit 1
fi

JAVA="${JAVA:-java}"
HEAP="${BENCH_HEAP:-3g}"
# Bounded: the harness itself stops after its fixed number of rounds; the timeout is a backstop.
exec timeout "${BENCH_TIMEOUT:-1800}" "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -XX:+AlwaysPreTouch \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$JAR:$TARGET/lib/*" dev.holdfast.bench.PipelineBench --corpus "$CORPUS" "$@"
