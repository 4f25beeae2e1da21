package dev.holdfast.controller.metrics;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.Page;
import dev.holdfast.controller.catalog.PageRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The controller's metrics. Prometheus names (docs/controller.md "Metrics"):
 *
 * <pre>
 * holdfast_backups_total{status}              counter   backup jobs finished, by status (succeeded | failed)
 * holdfast_restores_total{status}             counter   restores finished, by status
 * holdfast_verify_failures_total{source}      counter   backups a verify run found a problem in, by source
 * holdfast_verify_last_success_timestamp_seconds{source}  gauge  when a verify run last found a source's backups sound
 * holdfast_snapshots                          gauge     complete backups in the catalog
 * holdfast_stored_bytes                       gauge     bytes in the store of every backup in the catalog
 * holdfast_backup_duration_seconds{status}    histogram backup job durations
 * holdfast_restore_duration_seconds{status}   histogram restore durations
 * holdfast_source_rpo_seconds{host,source}    gauge     live RPO from the last heartbeat
 * holdfast_agents_connected                   gauge     agents with an open link
 * holdfast_agents_silent                      gauge     agents not heard from for longer than agents.silent_after
 * holdfast_controller_info{version}           gauge     1
 * </pre>
 *
 * <p>Thread-safe: event methods may be called from any thread. Gauges read in-memory state only;
 * what needs the catalog is refreshed by {@link #refresh(Catalog)} (periodically after
 * {@link #start}), never on the scrape path.
 */
public final class ControllerMetrics implements AutoCloseable {
    /** Histogram buckets for job durations: seconds to a day. */
    private static final Duration[] DURATION_BUCKETS = {Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofMinutes(1),
            Duration.ofMinutes(5), Duration.ofMinutes(15), Duration.ofMinutes(30), Duration.ofHours(1), Duration.ofHours(2),
            Duration.ofHours(4), Duration.ofHours(8), Duration.ofHours(24)};

    private final PrometheusMeterRegistry registry;
    private final Map<String, DrillGauges> drills = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, long[]> lastDrill = new java.util.concurrent.ConcurrentHashMap<>();
    private final Clock clock;
    private final Duration silentAfter;
    private final AtomicLong snapshots = new AtomicLong();
    private final AtomicLong storedBytes = new AtomicLong();
    private final Map<String, Boolean> connected = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
    /** Holders of the per-source gauges' values; the map keeps them strongly reachable (Micrometer holds gauges' objects weakly). */
    private final Map<String, AtomicLong> rpoBits = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> certExpiry = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> verifySuccess = new ConcurrentHashMap<>();
    private final AtomicBoolean refreshing = new AtomicBoolean();
    private volatile Vertx vertx;
    private volatile long timerId = -1;
    private final io.micrometer.core.instrument.Timer heartbeats;

    /**
     * @param clock       for the silent-agent gauge
     * @param version     the controller's version, for {@code holdfast_controller_info}
     * @param silentAfter {@code agents.silent_after}
     */
    public ControllerMetrics(Clock clock, String version, Duration silentAfter) {
        this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), clock, version, silentAfter);
    }

    public ControllerMetrics(PrometheusMeterRegistry registry, Clock clock, String version, Duration silentAfter) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.silentAfter = Objects.requireNonNull(silentAfter, "silentAfter");
        Gauge.builder("holdfast.controller.info", () -> 1).description("the controller's version").tag("version", version)
                .register(registry);
        Gauge.builder("holdfast.snapshots", snapshots, AtomicLong::get).description("complete backups in the catalog").register(registry);
        Gauge.builder("holdfast.stored.bytes", storedBytes, AtomicLong::get)
                .description("bytes in the store of every backup in the catalog").register(registry);
        Gauge.builder("holdfast.agents.connected", connected, m -> m.values().stream().filter(Boolean::booleanValue).count())
                .description("agents with an open link").register(registry);
        Gauge.builder("holdfast.agents.silent", this, ControllerMetrics::silentCount)
                .description("agents not heard from for longer than agents.silent_after").register(registry);
        // Registered at zero so that the series exist (and rate() works) before the first event.
        for (String status : new String[] {"succeeded", "failed"}) {
            backupCounter(status);
            restoreCounter(status);
        }
        heartbeats = io.micrometer.core.instrument.Timer.builder("holdfast.link.heartbeat")
                .description("time the controller spent handling one agent heartbeat").publishPercentiles(0.5, 0.99)
                .publishPercentileHistogram(false).register(registry);
    }

    /** The registry (also for vertx-micrometer-metrics, and for the scrape). */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition; walks every meter, so call it off the event loop. */
    public String scrape() {
        return registry.scrape();
    }

    /** A backup job ended. @param status succeeded | failed @param duration from start to end */
    public void backupFinished(String status, Duration duration) {
        backupCounter(status).increment();
        timer("holdfast.backup.duration", "backup job durations", status).record(duration);
    }

    /** A restore ended. @param status succeeded | failed */
    public void restoreFinished(String status, Duration duration) {
        restoreCounter(status).increment();
        timer("holdfast.restore.duration", "restore durations", status).record(duration);
    }

    /**
     * How long the controller took to handle one heartbeat (in memory: live state and gauges);
     * {@code holdfast_link_heartbeat_seconds}, with percentiles for the fleet benchmark.
     */
    public void heartbeatHandled(Duration took) {
        heartbeats.record(took);
    }

    /**
     * When an agent's current client certificate expires ({@code
     * holdfast_agent_certificate_expiry_timestamp_seconds{host}}, Unix time): agents renew after two
     * thirds of the lifetime, so one close to its expiry means renewal is failing (docs/alerts.yml).
     */
    public void certificateExpiry(String host, Instant notAfter) {
        certExpiry.computeIfAbsent(host, h -> {
            AtomicLong v = new AtomicLong();
            Gauge.builder("holdfast.agent.certificate.expiry.timestamp.seconds", v, AtomicLong::get)
                    .description("when the agent's current client certificate expires (Unix time)").tag("host", h).register(registry);
            return v;
        }).set(notAfter.getEpochSecond());
    }

    /**
     * A restore drill of {@code host/source} ended. A passed drill sets
     * {@code holdfast_drill_last_success_timestamp_seconds} (the "drill overdue" alert reads it) and the
     * measured {@code holdfast_drill_rto_seconds} / {@code holdfast_drill_rpo_seconds} (NaN when not
     * measured); every drill counts in {@code holdfast_drills_total{status}}.
     */
    public void drillFinished(String host, String source, boolean ok, Instant finishedAt, double rto, double rpo) {
        Counter.builder("holdfast.drills").description("restore drills finished, by status").tag("status", ok ? "succeeded" : "failed")
                .register(registry).increment();
        if (ok) {
            drillSucceeded(host, source, finishedAt, rto, rpo);
        }
    }

    private void drillSucceeded(String host, String source, Instant finishedAt, double rto, double rpo) {
        String key = host + "\u0000" + source;
        long[] prev = lastDrill.get(key);
        if (prev != null && prev[0] > finishedAt.toEpochMilli()) {
            return; // an older drill, seen by a refresh after a newer event
        }
        DrillGauges g = drills.computeIfAbsent(key, k -> new DrillGauges(host, source));
        lastDrill.put(key, new long[] {finishedAt.toEpochMilli()});
        g.last.set(Double.doubleToLongBits(finishedAt.toEpochMilli() / 1000.0));
        g.rto.set(Double.doubleToLongBits(rto < 0 ? Double.NaN : rto));
        g.rpo.set(Double.doubleToLongBits(rpo < 0 ? Double.NaN : rpo));
    }

    /** The three gauges of one source's last successful drill. */
    private final class DrillGauges {
        final AtomicLong last = new AtomicLong(Double.doubleToLongBits(Double.NaN));
        final AtomicLong rto = new AtomicLong(Double.doubleToLongBits(Double.NaN));
        final AtomicLong rpo = new AtomicLong(Double.doubleToLongBits(Double.NaN));

        DrillGauges(String host, String source) {
            Gauge.builder("holdfast.drill.last.success.timestamp.seconds", last, a -> Double.longBitsToDouble(a.get()))
                    .description("when the last successful restore drill of the source finished (Unix time)").tag("host", host)
                    .tag("source", source).register(registry);
            Gauge.builder("holdfast.drill.rto.seconds", rto, a -> Double.longBitsToDouble(a.get()))
                    .description("RTO measured by the last successful drill: its start until the copy accepted writes").tag("host", host)
                    .tag("source", source).register(registry);
            Gauge.builder("holdfast.drill.rpo.seconds", rpo, a -> Double.longBitsToDouble(a.get()))
                    .description("RPO measured by the last successful drill: its start minus the newest recovered commit")
                    .tag("host", host).tag("source", source).register(registry);
        }
    }

    /**
     * A verify run found {@code backups} backups of {@code source} with a problem
     * ({@code holdfast_verify_failures_total{source}}; docs/alerts.yml alerts on its increase).
     */
    public void verifyFailed(String source, int backups) {
        verifyCounter(source).increment(backups);
    }

    /** Makes the source's failure series exist at zero, so that {@code increase()} sees its first failure. */
    public void verifySource(String source) {
        verifyCounter(source);
    }

    /**
     * A verify run found every checked backup of {@code source} sound at {@code at}
     * ({@code holdfast_verify_last_success_timestamp_seconds{source}}, Unix time).
     */
    public void verifySucceeded(String source, Instant at) {
        verifySource(source);
        verifySuccess.computeIfAbsent(source, s -> {
            AtomicLong v = new AtomicLong();
            Gauge.builder("holdfast.verify.last.success.timestamp.seconds", v, AtomicLong::get)
                    .description("when a verify run last found every checked backup of the source sound (Unix time)").tag("source", s)
                    .register(registry);
            return v;
        }).accumulateAndGet(at.getEpochSecond(), Math::max);
    }

    /** The live RPO of a source from a heartbeat; a negative value (unknown) is exported as NaN. */
    public void sourceRpo(String host, String source, double seconds) {
        String key = host + "\u0000" + source;
        AtomicLong holder = rpoBits.computeIfAbsent(key, k -> {
            AtomicLong h = new AtomicLong(Double.doubleToLongBits(Double.NaN));
            Gauge.builder("holdfast.source.rpo.seconds", h, a -> Double.longBitsToDouble(a.get()))
                    .description("seconds since the source's last durable WAL/AOF, from the last heartbeat").tag("host", host)
                    .tag("source", source).register(registry);
            return h;
        });
        holder.set(Double.doubleToLongBits(seconds < 0 ? Double.NaN : seconds));
    }

    /** Drops a source's RPO series (the source left the agent's inventory). */
    public void sourceRemoved(String host, String source) {
        if (rpoBits.remove(host + "\u0000" + source) != null) {
            Gauge g = registry.find("holdfast.source.rpo.seconds").tag("host", host).tag("source", source).gauge();
            if (g != null) {
                registry.remove(g);
            }
        }
    }

    /** An agent's link opened ({@code true}) or closed. */
    public void agentConnected(String host, boolean isConnected) {
        connected.put(host, isConnected);
    }

    /** An agent was heard from at {@code at} (Hello, heartbeat, any message). */
    public void agentSeen(String host, Instant at) {
        lastSeen.merge(host, at, (a, b) -> a.isAfter(b) ? a : b);
    }

    private double silentCount() {
        Instant limit = clock.instant().minus(silentAfter);
        return lastSeen.values().stream().filter(t -> t.isBefore(limit)).count();
    }

    private Counter backupCounter(String status) {
        return Counter.builder("holdfast.backups").description("backup jobs finished, by status").tag("status", status).register(registry);
    }

    private Counter restoreCounter(String status) {
        return Counter.builder("holdfast.restores").description("restores finished, by status").tag("status", status).register(registry);
    }

    private Counter verifyCounter(String source) {
        return Counter.builder("holdfast.verify.failures").description("backups a verify run found a problem in, by source")
                .tag("source", source).register(registry);
    }

    private Timer timer(String name, String description, String status) {
        return Timer.builder(name).description(description).tag("status", status).serviceLevelObjectives(DURATION_BUCKETS)
                .register(registry);
    }

    /**
     * Recomputes the catalog-backed gauges: walks every backup (snapshot count, stored bytes) and
     * every agent (last-seen times, so agents that never reconnect after a controller restart count
     * as silent; an agent never seen counts from its enrolment). Non-blocking; the gauges change only
     * when a walk completes. A refresh while another runs returns at once.
     */
    public Future<Void> refresh(Catalog catalog) {
        if (!refreshing.compareAndSet(false, true)) {
            return Future.succeededFuture();
        }
        long[] sums = new long[2];
        return walk(p -> catalog.backups(Optional.empty(), p), (BackupRecord b) -> {
            if ("complete".equals(b.state())) {
                sums[0]++;
            }
            verifySource(b.source());
            sums[1] += b.storedBytes();
        }, Optional.empty()).compose(v -> {
            snapshots.set(sums[0]);
            storedBytes.set(sums[1]);
            return walk(catalog::agents, (AgentRecord a) -> {
                agentSeen(a.host(), a.lastSeen().orElse(a.enrolledAt()));
                certificateExpiry(a.host(), a.certNotAfter());
            }, Optional.empty());
        }).compose(v -> catalog.lastSucceeded("drill")).map(jobs -> {
            // After a restart the drill gauges come back from the catalog: the "drill overdue" alert
            // must see a source's last good drill, however long ago it was.
            for (JobRecord j : jobs) {
                j.finishedAt().ifPresent(at -> drillSucceeded(j.host(), j.source(), at, number(j.result().get("rto_seconds")),
                        number(j.result().get("rpo_seconds"))));
            }
            return (Void) null;
        }).onComplete(ar -> refreshing.set(false));
    }

    private static double number(String s) {
        try {
            return s == null || s.isEmpty() ? -1 : Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static <T> Future<Void> walk(Function<PageRequest, Future<Page<T>>> fetch, Consumer<T> each,
                                         Optional<String> cursor) {
        return fetch.apply(new PageRequest(cursor, PageRequest.MAX_LIMIT)).compose(p -> {
            p.items().forEach(each);
            return p.next().isEmpty() ? Future.succeededFuture() : walk(fetch, each, p.next());
        });
    }

    /** Refreshes from the catalog now and then every {@code every}; failures are retried at the next tick. */
    public void start(Vertx vx, Catalog catalog, Duration every) {
        this.vertx = vx;
        refresh(catalog);
        timerId = vx.setPeriodic(every.toMillis(), id -> refresh(catalog));
    }

    /** The hosts whose link is open (for tests and the dashboard). */
    public Set<String> connectedHosts() {
        return Set.copyOf(connected.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList());
    }

    /** Stops the periodic refresh. */
    @Override
    public void close() {
        Vertx vx = vertx;
        if (vx != null && timerId >= 0) {
            vx.cancelTimer(timerId);
        }
    }
}
