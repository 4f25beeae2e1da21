package dev.holdfast.agent.redis;

import dev.holdfast.agent.config.Redact;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.daemon.AgentContext;
import dev.holdfast.agent.daemon.AgentSource;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;

/**
 * A {@code type: redis} source: ships the AOF continuously ({@link AofShipper}) every
 * {@code aof_interval} (1 s by default) on its own single worker thread; passes never overlap (the
 * next starts an interval after the previous ended). The repository is the only state: a restarted
 * agent resumes where the stored objects end.
 *
 * <p>Live RPO ({@code rpo_seconds} in the status, the gauge {@code holdfast_aof_lag_seconds{source}}):
 * the seconds since the start of the last pass that stored everything it observed, i.e. the age of
 * the newest moment up to which the AOF is known to be in the repository. Bytes stored:
 * {@code holdfast_aof_shipped_bytes_total}; gaps: {@code holdfast_aof_gaps_total}.
 */
public final class RedisSource implements AgentSource {
    private final RedisSourceConfig config;
    private final AgentContext ctx;
    private final EventLog log;
    private final Duration interval;
    private AofShipper shipper;
    private WorkerExecutor worker;
    private volatile Instant durableAsOf;
    private volatile String state = "starting";
    private volatile String lastError;
    private volatile String waiting;
    private volatile long gaps;
    private volatile Instant lastGapAt;
    private Counter bytes;
    private Counter gapCounter;
    private long timer = -1;
    private boolean stopped;
    private Future<Void> running = Future.succeededFuture();

    public RedisSource(SourceConfig config, AgentContext ctx) {
        this(config, ctx, ((RedisSourceConfig) config).aofInterval());
    }

    /** With a shipping interval (tests). */
    public RedisSource(SourceConfig config, AgentContext ctx, Duration interval) {
        this.config = (RedisSourceConfig) config;
        this.ctx = ctx;
        this.log = ctx.log().with("source", config.name());
        this.interval = interval;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return RedisSourceConfig.TYPE;
    }

    @Override
    public Future<Void> start() {
        if (!Files.isDirectory(config.dir())) {
            return Future.failedFuture(new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "redis source " + name() + ": dir "
                    + config.dir() + " is not a readable directory"));
        }
        Tags tags = Tags.of("source", name());
        bytes = Counter.builder("holdfast.aof.shipped").baseUnit("bytes").description("AOF bytes stored in the repository")
                .tags(tags).register(ctx.meters());
        gapCounter = Counter.builder("holdfast.aof.gaps").description("AOF gaps detected (agent down across a rewrite)")
                .tags(tags).register(ctx.meters());
        Gauge.builder("holdfast.aof.lag", this, s -> s.rpoSeconds()).baseUnit("seconds")
                .description("Seconds since the AOF was last known stored in full").tags(tags).register(ctx.meters());
        worker = ctx.vertx().createSharedWorkerExecutor("holdfast-redis-" + name(), 1);
        shipper = new AofShipper(ctx.repository(), name(), config.dir(), ctx.clock(), log);
        return worker.executeBlocking(() -> {
            shipper.resume();
            return null;
        }, true).<Void>mapEmpty().onSuccess(v -> {
            state = "streaming";
            log.info("redis_aof_start", "dir", config.dir(), "uri", Redact.uri(config.uri()),
                    "epoch", shipper.epoch().map(e -> AofLayout.epochName(e.epoch())).orElse("none"));
            schedule(0);
        });
    }

    private synchronized void schedule(long delayMs) {
        if (stopped) {
            return;
        }
        if (delayMs <= 0) {
            runTick();
        } else {
            timer = ctx.vertx().setTimer(delayMs, id -> runTick());
        }
    }

    private synchronized void runTick() {
        if (stopped) {
            return;
        }
        Promise<Void> done = Promise.promise();
        running = done.future();
        worker.executeBlocking(() -> shipper.tick(), true).onComplete(ar -> {
            if (ar.succeeded()) {
                AofShipper.Tick t = ar.result();
                waiting = t.waiting().orElse(null);
                if (t.waiting().isEmpty()) {
                    durableAsOf = t.observedAt();
                    state = "streaming";
                } else {
                    state = "waiting";
                }
                bytes.increment(t.bytes());
                if (t.gap()) {
                    gaps++;
                    lastGapAt = t.observedAt();
                    gapCounter.increment();
                }
                lastError = null;
            } else {
                state = "error";
                lastError = ar.cause().getMessage();
                log.warn("redis_aof_error", "error", lastError);
            }
            done.complete();
            schedule(interval.toMillis());
        });
    }

    double rpoSeconds() {
        Instant d = durableAsOf;
        return d == null ? Double.NaN : Math.max(0, Duration.between(d, ctx.clock().instant()).toMillis() / 1000.0);
    }

    @Override
    public synchronized Future<Void> stop() {
        stopped = true;
        if (timer >= 0) {
            ctx.vertx().cancelTimer(timer);
        }
        Future<Void> last = running;
        if (worker == null) {
            return Future.succeededFuture();
        }
        return last.eventually(() -> worker.executeBlocking(() -> {
            shipper.closeAll();
            return null;
        }, true)).eventually(() -> worker.close());
    }

    @Override
    public JsonObject status() {
        double rpo = rpoSeconds();
        JsonObject s = new JsonObject().put("state", state).put("dir", config.dir().toString())
                .put("lag_seconds", Double.isNaN(rpo) ? null : rpo).put("rpo_seconds", Double.isNaN(rpo) ? null : rpo)
                .put("last_durable_at", durableAsOf == null ? null : durableAsOf.toString()).put("gaps", gaps)
                .put("last_gap_at", lastGapAt == null ? null : lastGapAt.toString());
        AofShipper sh = shipper;
        if (sh != null) {
            // read on the event loop while the worker may change it: copy-on-read of small fields only
            sh.epoch().ifPresent(e -> s.put("epoch", AofLayout.epochName(e.epoch())).put("base", e.baseFile()));
        }
        if (waiting != null) {
            s.put("waiting", waiting);
        }
        if (lastError != null) {
            s.put("last_error", lastError);
        }
        return s;
    }
}
