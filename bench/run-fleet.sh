#!/usr/bin/env bash
# Fleet simulation (bench/README.md "Fleet simulation", issue 5 item 7).
#
#   bench/run-fleet.sh [--agents N] [--no-build] [--keep] [-- FleetSimulation options]
#
# Builds the CLI and the bench module (one reactor build, never `mvn install`), starts ONE
# controller (`holdfast controller run`) in a temp data dir on a free loopback port, then runs
# dev.holdfast.bench.FleetSimulation: N simulated agents enrolled through the real path, each with
# its own key, certificate and mutual-TLS HTTP/2 connection holding an AgentLink/Connect stream,
# heartbeating every 10 s. Prints the controller's heartbeat handling quantiles, job dispatch
# latency, RSS and CPU. Exits 0 after printing; it never asserts a timing.
#
# Environment: CONTROLLER_HEAP (default 512m), CONTROLLER_GC (default G1; Serial, Parallel, ...),
# CONTROLLER_JAVA_OPTS (more flags), SIM_HEAP (default 512m per 1000 agents, at least 2g),
# FLEET_TIMEOUT (default 3600 s, a backstop).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
agents=1000
build=1
keep=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --agents) agents="$2"; shift ;;
        --no-build) build=0 ;;
        --keep) keep=1 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[run-fleet] %s\n' "$*" >&2; }

CONTROLLER_HEAP="${CONTROLLER_HEAP:-512m}"
CONTROLLER_GC="${CONTROLLER_GC:-G1}"
sim_mb=$(( agents / 2 ))
(( sim_mb < 2048 )) && sim_mb=2048
SIM_HEAP="${SIM_HEAP:-${sim_mb}m}"
FLEET_TIMEOUT="${FLEET_TIMEOUT:-3600}"

if (( build )); then
    log "building the CLI and bench (mvn -B -q -pl bench,cli -am package -DskipTests)"
    (cd "$ROOT" && mvn -B -q -pl bench,cli -am package -DskipTests)
fi
cli_jar="$(ls "$ROOT"/cli/target/holdfast-cli-*.jar 2>/dev/null | grep -v -e sources -e tests | head -n 1 || true)"
[[ -n "$cli_jar" && -d "$ROOT/cli/target/lib" && -d "$HERE/target/lib" && -d "$HERE/target/classes" ]] \
    || { log "not built: run without --no-build"; exit 1; }

# One process holds N client connections, the other N server sockets: each needs N + some fds.
hard="$(ulimit -Hn)"
need=$(( agents + 2000 ))
if [[ "$hard" != unlimited ]] && (( hard < need )); then
    log "ulimit -Hn is $hard; $agents agents need about $need file descriptors per process"; exit 1
fi
ulimit -n "$hard"

TMP="$(mktemp -d /tmp/holdfast-bench-fleet.XXXXXX)"
CONTROLLER_PID=""
SIM_PID=""
cleanup() {
    if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    if [[ -n "$CONTROLLER_PID" ]] && kill -0 "$CONTROLLER_PID" 2>/dev/null; then
        log "stopping the controller (pid $CONTROLLER_PID)"
        kill -TERM "$CONTROLLER_PID" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$CONTROLLER_PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$CONTROLLER_PID" 2>/dev/null || true
        wait "$CONTROLLER_PID" 2>/dev/null || true
    fi
    if (( keep )); then
        log "kept $TMP (controller.log, gc.log, simulator-gc.log, data/)"
    else
        rm -rf -- "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$TMP/controller.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: $TMP/data
agents:
  heartbeat_interval: 10s
EOF

CONTROLLER_FLAGS="-Xmx${CONTROLLER_HEAP} -XX:+Use${CONTROLLER_GC}GC -Xlog:gc*:file=$TMP/gc.log ${CONTROLLER_JAVA_OPTS:-}"
log "controller JVM flags: $CONTROLLER_FLAGS"
HOLDFAST_CLASSPATH="$cli_jar:$ROOT/cli/target/lib/*" HOLDFAST_JAVA_OPTS="$CONTROLLER_FLAGS" HOLDFAST_LOG_LEVEL=warn \
    "$ROOT/bin/holdfast" controller run --config "$TMP/controller.yaml" > "$TMP/controller.log" 2>&1 &
CONTROLLER_PID=$!

url=""
for _ in $(seq 1 240); do
    if grep -q 'event=controller_started' "$TMP/controller.log" 2>/dev/null; then
        url="$(grep 'event=controller_started' "$TMP/controller.log" | grep -o 'listen=[^ ]*' | head -1 | cut -d= -f2 | tr -d '"')"
        break
    fi
    kill -0 "$CONTROLLER_PID" 2>/dev/null || { log "the controller exited:"; cat "$TMP/controller.log" >&2; exit 1; }
    sleep 0.5
done
[[ -n "$url" ]] || { log "the controller did not start in 120 s:"; tail -20 "$TMP/controller.log" >&2; exit 1; }
log "controller pid $CONTROLLER_PID at $url (data dir $TMP/data); java: $(java -version 2>&1 | head -1)"
log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg)"

timeout "$FLEET_TIMEOUT" java -Xmx"$SIM_HEAP" -Xlog:gc:file="$TMP/simulator-gc.log" -Dclk.tck="$(getconf CLK_TCK)" \
    -cp "$HERE/target/classes:$HERE/target/lib/*" dev.holdfast.bench.FleetSimulation \
    --controller "$url" --ca "$TMP/data/ca/ca.crt" --admin-token-file "$TMP/data/admin.token" \
    --controller-pid "$CONTROLLER_PID" --agents "$agents" "$@" &
SIM_PID=$!
status=0
wait "$SIM_PID" || status=$?
SIM_PID=""
(( status == 124 )) && log "the simulation timed out after $FLEET_TIMEOUT s (FLEET_TIMEOUT)"
log "controller log: $(grep -c . "$TMP/controller.log") lines, $(grep -ci 'level=warn\|level=error\| WARN \| ERROR ' "$TMP/controller.log" || true) warnings/errors"
grep -i 'level=error\| ERROR ' "$TMP/controller.log" | head -5 >&2 || true
exit "$status"
