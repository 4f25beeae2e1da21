package dev.holdfast.agent.postgres;

import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.config.WalMode;
import dev.holdfast.agent.daemon.AgentContext;
import dev.holdfast.agent.daemon.AgentSource;
import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.agent.postgres.stream.StreamSettings;
import dev.holdfast.agent.postgres.stream.WalStreamRunner;
import dev.holdfast.agent.wal.PutOutcome;
import dev.holdfast.agent.wal.WalArchiver;
import dev.holdfast.agent.wal.WalFetcher;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A PostgreSQL source: continuous WAL in stream mode ({@link WalStreamRunner}) or archive mode
 * ({@link WalArchiver} with look-ahead), plus the control-socket endpoints behind
 * {@code holdfast-wal-push} and {@code holdfast-wal-fetch} (docs/protocol.md), which work in either
 * mode: a push to a stream-mode source is stored under PostgreSQL's archive contract too (a
 * segment streamed already answers "already stored").
 *
 * <p>Fetch needs the cluster's system identifier: the one the source streams or archives, or, when
 * the source has not identified its cluster (the server is down, as during a restore), the only one
 * stored under the source's name; with several stored, a request must name one
 * ({@code system_id=}).
 */
public final class PostgresSource implements AgentSource {
    /** How long stop() lets the stream session upload what it received before closing anyway. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);

    private final PostgresSourceConfig config;
    private final AgentContext ctx;
    /** Archive mode's engine; in stream mode created on the first push (its meters must not shadow the stream's). */
    private WalArchiver archiver;
    private final Map<String, WalFetcher> fetchers = new ConcurrentHashMap<>();
    private WalStreamRunner runner;
    private volatile String storedSystemId;

    public PostgresSource(SourceConfig config, AgentContext ctx) {
        this.config = (PostgresSourceConfig) config;
        this.ctx = ctx;
        if (this.config.wal().mode() == WalMode.ARCHIVE) {
            archiver();
        }
    }

    private synchronized WalArchiver archiver() {
        if (archiver == null) {
            int lookAhead = config.wal().mode() == WalMode.ARCHIVE ? config.wal().archiveParallel() : 0;
            archiver = new WalArchiver(ctx.vertx(), config.name(), this::repository, config.dataDir(), lookAhead,
                    WalArchiver.DEFAULT_SCAN_INTERVAL, ctx.clock(), ctx.meters());
        }
        return archiver;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return PostgresSourceConfig.TYPE;
    }

    private WalRepository repository(WalLayout layout) {
        return new WalRepository(ctx.vertx(), ctx.repository(), ctx.pipeline(), layout, ctx.clock());
    }

    @Override
    public Future<Void> start() {
        try {
            ConnInfo conninfo = ConnInfo.parse(config.conninfo());
            WalControlRoutes.on(ctx.control()).register(this);
            if (config.wal().mode() == WalMode.STREAM) {
                runner = new WalStreamRunner(ctx.vertx(), config.name(), conninfo,
                        new StreamSettings(config.wal().slot(), config.wal().partialInterval(), config.wal().synchronous(),
                                config.wal().applicationName()),
                        ctx.repository(), ctx.pipeline(), ctx.meters(), ctx.clock(), ctx.log().with("source", config.name()));
                return runner.start();
            }
            archiver().start();
            ctx.log().with("source", config.name()).info("archive_mode_started", "data_dir", config.dataDir().toString(),
                    "look_ahead", config.wal().archiveParallel());
            return Future.succeededFuture();
        } catch (HoldfastException e) {
            return Future.failedFuture(new HoldfastException(e.code(), "source '" + config.name() + "': " + e.getMessage(), e));
        }
    }

    @Override
    public Future<Void> stop() {
        WalControlRoutes.on(ctx.control()).unregister(this);
        WalArchiver a;
        synchronized (this) {
            a = archiver;
        }
        if (a != null) {
            a.stop();
        }
        return runner == null ? Future.succeededFuture() : runner.stop(STOP_TIMEOUT);
    }

    @Override
    public JsonObject status() {
        JsonObject o = runner != null ? runner.status() : new JsonObject().put("mode", "archive");
        return o.put("type", type());
    }

    /** {@code holdfast-wal-push}: durable, or already stored with the same bytes. */
    Future<PutOutcome> push(String fileName, Buffer bytes) {
        return archiver().push(fileName, bytes);
    }

    /** {@code holdfast-wal-fetch}: the file's bytes, or empty when the repository does not have it. */
    Future<Optional<Buffer>> fetch(String fileName, String systemId) {
        return systemId(systemId).compose(id -> fetchers.computeIfAbsent(id, k -> new WalFetcher(ctx.vertx(),
                repository(new WalLayout(config.name(), k)), config.wal().prefetch(), ctx.clock())).fetch(fileName));
    }

    private Future<String> systemId(String requested) {
        if (requested != null && !requested.isEmpty()) {
            return Future.succeededFuture(requested);
        }
        String known = runner != null ? runner.systemId() : null;
        if (known != null) {
            return Future.succeededFuture(known);
        }
        if (storedSystemId != null) {
            return Future.succeededFuture(storedSystemId);
        }
        return ctx.vertx().<String>executeBlocking(() -> {
            java.util.SortedSet<String> ids = WalRepository.systemIds(ctx.repository().store(), config.name());
            if (ids.isEmpty()) {
                throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "source '" + config.name() + "' has no WAL in the repository");
            }
            if (ids.size() > 1) {
                throw new HoldfastException(ErrorCode.USAGE, "source '" + config.name() + "' has WAL of several clusters (system ids "
                        + ids + "); name one with system_id=");
            }
            return ids.first();
        }).onSuccess(id -> storedSystemId = id);
    }
}
