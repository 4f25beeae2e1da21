package dev.holdfast.controller.server;

import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.api.AgentRevoker;
import dev.holdfast.controller.api.Actor;
import dev.holdfast.controller.api.ApiRouter;
import dev.holdfast.controller.api.BackupRequests;
import dev.holdfast.controller.api.BootstrapAdmin;
import dev.holdfast.controller.audit.AuditExporter;
import dev.holdfast.controller.audit.AuditSettings;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.link.AgentLinkEndpoint;
import dev.holdfast.controller.link.AgentSessions;
import dev.holdfast.controller.link.Jobs;
import dev.holdfast.controller.link.LinkListener;
import dev.holdfast.controller.link.LiveStates;
import dev.holdfast.controller.metrics.ControllerMetrics;
import dev.holdfast.controller.pki.Pki;
import dev.holdfast.controller.retention.RetentionService;
import dev.holdfast.controller.retention.SlotLocks;
import dev.holdfast.controller.schedule.Scheduler;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.PolicyUpdate;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The controller (DESIGN.md section 5): one Vert.x instance, one HTTPS listener serving the HTTP
 * API, {@code GET /metrics} and gRPC (the agent link and enrolment), the catalog, the CA, the
 * scheduler.
 *
 * <h2>Start</h2>
 * {@link #start()} creates the data directory (0700), opens the catalog, loads or creates the CA
 * and the listener's certificate, loads the revocation list, makes sure the bootstrap admin token
 * exists, then listens and starts the scheduler. Any failure stops what had started and fails the
 * future with what went wrong.
 *
 * <h2>Stop</h2>
 * {@link #stop()} stops the scheduler, ends every agent link (agents reconnect to the next
 * controller), flushes the live state, closes the listener and the catalog, then Vert.x. It never
 * fails.
 */
public final class ControllerServer {
    /** How often heartbeats' live state is written to the catalog. */
    static final Duration LIVE_FLUSH = Duration.ofSeconds(5);
    /** How often the catalog-derived gauges (snapshots, stored bytes) are refreshed. */
    static final Duration METRICS_REFRESH = Duration.ofSeconds(15);

    private final ControllerConfig config;
    private final Clock clock;
    private final SecureRandom random;
    private final EventLog log;
    private final String version;

    private Vertx vertx;
    private ControllerMetrics metrics;
    private Catalog catalog;
    private AgentSessions sessions;
    private LiveStates live;
    private Scheduler scheduler;
    private dev.holdfast.controller.restore.RestoreService restores;
    private RetentionService retention;
    private HttpServer http;
    private Pki pki;
    private Jobs jobs;
    private AuditExporter auditExporter;
    private Future<Void> stopped;
    /** Open when a repository is configured: verification reads it. */
    private dev.holdfast.repository.Repository repository;
    private dev.holdfast.controller.verify.VerificationService verification;
    private dev.holdfast.controller.verify.VerifySchedule verifySchedule;

    public ControllerServer(ControllerConfig config, Clock clock, SecureRandom random, EventLog log, String version) {
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.log = Objects.requireNonNull(log, "log");
        this.version = Objects.requireNonNull(version, "version");
    }

    /** Starts everything (see the class comment). */
    public synchronized Future<Void> start() {
        if (vertx != null) {
            return Future.failedFuture(new IllegalStateException("the controller was started already"));
        }
        log.info("controller_starting", "version", version, "config", config.file(), "data_dir", config.dataDir(),
                "catalog", config.catalog().toString(), "listen", config.listenHost() + ":" + config.listenPort());
        metrics = new ControllerMetrics(clock, version, config.agents().silentAfter());
        vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)
                        .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)))
                .withMetrics(new MicrometerMetricsFactory(metrics.registry())).build();
        Promise<Void> result = Promise.promise();
        vertx.runOnContext(v -> startSequence().onComplete(ar -> {
            if (ar.succeeded()) {
                log.info("controller_started", "listen", "https://" + hostForUrl(config.listenHost()) + ":" + http.actualPort(),
                        "bootstrap_admin_file", config.auth().bootstrapAdminTokenFile(), "msg", "controller running");
                result.complete();
            } else {
                Throwable cause = ar.cause();
                stop().onComplete(x -> result.fail(cause));
            }
        }));
        return result.future();
    }

    private Future<Void> startSequence() {
        return vertx.executeBlocking(() -> {
            createPrivateDirectory(config.dataDir());
            return AuditSettings.of(config);
        }).compose(audit -> CatalogFactory.open(vertx, config.catalog(), config.dataDir(), clock, random).map(c -> {
            if (config.repository().isPresent()) {
                auditExporter = new AuditExporter(vertx, c, () -> AuditExporter.openRepository(config.repository().get(), clock, random),
                        audit, clock, log);
            }
            return c;
        })).compose(c -> {
            catalog = c;
            // No agent has a link to a controller that is only starting, whatever a crash left recorded.
            return catalog.disconnectAll();
        }).compose(v -> Pki.open(vertx, config, catalog, clock, random)).compose(p -> {
            pki = p;
            return BootstrapAdmin.ensure(catalog, config.auth().bootstrapAdminTokenFile(), vertx, clock, random);
        }).compose(outcome -> openRepository().map(outcome)).compose(outcome -> {
            log.info("admin_token", "file", config.auth().bootstrapAdminTokenFile(), "outcome", outcome.toString().toLowerCase(Locale.ROOT));
            sessions = new AgentSessions();
            live = new LiveStates(vertx, catalog, sessions::connected);
            LinkListener listener = new MetricsListener(metrics);
            jobs = new Jobs(catalog, sessions, clock, random, listener);
            jobs.locks(new SlotLocks(config, clock));
            AgentLinkEndpoint link = new AgentLinkEndpoint(catalog, sessions, jobs, live, listener, clock, pki.trust()::isRevoked,
                    this::policyFor, config.agents().heartbeatInterval(), version);
            pki.enrolment().onHostRevoked(link::disconnect);
            restores = new dev.holdfast.controller.restore.RestoreService(vertx, catalog, sessions, config,
                    dev.holdfast.controller.restore.GrantSigner.of(pki.ca()), clock, random).onFinished(metrics::restoreFinished);
            link.restores(restores);
            GrpcServer grpc = GrpcServer.server(vertx);
            link.bind(grpc);
            pki.mount(grpc);
            BackupRequests backups = new BackupRequests() {
                @Override
                public Future<JobRecord> requestBackup(String host, String source, String type, String tag, Actor actor, String requestId) {
                    return jobs.requestBackup(host, source, type, tag, actor.name());
                }

                @Override
                public Future<JobRecord> requestDrill(String host, String source, Actor actor, String requestId) {
                    return jobs.requestDrill(host, source, actor.name());
                }
            };
            AgentRevoker revoker = (host, actor, requestId) -> catalog.agent(host).compose(a -> {
                if (a.isEmpty()) {
                    return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "no agent '" + host + "' was ever enrolled"));
                }
                return pki.enrolment().revoke(host, actor.name(), requestId);
            });
            // Retention works on the repository opened above for verification (none: retention_unavailable).
            retention = new RetentionService(vertx, catalog, config, clock, log, () -> Optional.ofNullable(repository));
            ApiRouter api = new ApiRouter(vertx, catalog, clock, random, config, metrics, backups, pki.enrolment().tokenIssuer(), revoker,
                    log).restores(restores).retention(retention);
            if (verification != null) {
                api.verifyRequests((source, id, readData, actor, requestId) -> verification.request(source,
                        dev.holdfast.repository.backup.BackupId.parse(id), readData,
                        new dev.holdfast.controller.verify.VerificationService.Requester(actor.name(), actor.role().wire(), requestId, "api")));
            }
            Router router = api.router();
            http = vertx.createHttpServer(pki.serverOptions()).requestHandler(req -> {
                if (isGrpc(req)) {
                    grpc.handle(req);
                } else {
                    router.handle(req);
                }
            });
            return http.listen().recover(t -> Future.failedFuture(new HoldfastException(ErrorCode.CONFIG_INVALID,
                    config.file() + ": listen: cannot listen on " + config.listenHost() + ":" + config.listenPort() + ": "
                            + t.getMessage(), t)));
        }).compose(server -> {
            live.start(LIVE_FLUSH);
            metrics.start(vertx, catalog, METRICS_REFRESH);
            restores.start();
            if (config.repository().isPresent()) {
                retention.start();
            }
            scheduler = new Scheduler(vertx, catalog, config, clock, random, job -> jobs.queued(job));
            if (auditExporter != null) {
                auditExporter.start();
            }
            if (verification != null) {
                verifySchedule = new dev.holdfast.controller.verify.VerifySchedule(vertx, catalog, verification, config.verification(), clock);
                verifySchedule.start();
            }
            return scheduler.start();
        });
    }

    /**
     * Opens the configured repository (on a worker: it reads the store) and the verification service
     * over it; without a {@code repository:} section there is no verification. A repository that
     * cannot be opened fails the start.
     */
    private Future<Void> openRepository() {
        if (config.repository().isEmpty()) {
            return Future.succeededFuture();
        }
        var loc = config.repository().get();
        return vertx.executeBlocking(() -> {
            dev.holdfast.repository.crypto.KeyFile keys = dev.holdfast.repository.crypto.KeyFile.load(loc.keyFile());
            dev.holdfast.repository.store.ObjectStore store = loc.openStore(clock);
            try {
                return dev.holdfast.repository.Repository.open(store, keys, clock, random);
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
        }, false).map(repo -> {
            repository = repo;
            verification = new dev.holdfast.controller.verify.VerificationService(vertx, catalog, repo, metrics, clock, random, log);
            return null;
        });
    }

    private static boolean isGrpc(HttpServerRequest req) {
        String ct = req.getHeader("content-type");
        return ct != null && ct.startsWith("application/grpc");
    }

    /** The policy sent to agents in Welcome: every policy's settings, flattened, with a revision derived from them. */
    PolicyUpdate policyFor(String host) {
        Map<String, String> settings = new TreeMap<>();
        for (ControllerConfig.Policy p : config.policies().values()) {
            String k = "policy." + p.name() + ".";
            settings.put(k + "sources", String.join(",", p.sources()));
            settings.put(k + "time_zone", p.timeZone().getId());
            p.schedules().values().forEach(s -> settings.put(k + "schedule." + s.tag(), s.cron() + " " + s.type()));
            settings.put(k + "retention", p.retention().daily() + "d/" + p.retention().weekly() + "w/" + p.retention().monthly() + "m/"
                    + p.retention().pitrWindow().toHours() + "h");
            settings.put(k + "restore.approvals", Integer.toString(p.restore().approvals()));
        }
        CRC32C crc = new CRC32C();
        settings.forEach((key, value) -> crc.update((key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8)));
        return PolicyUpdate.newBuilder().setRevision(crc.getValue() + 1).setName("controller").putAllSettings(settings).build();
    }

    /** The port the listener is bound to (after {@link #start()}; useful with {@code listen: host:0}). */
    public int port() {
        return http.actualPort();
    }

    public Catalog catalog() {
        return catalog;
    }

    public AgentSessions sessions() {
        return sessions;
    }

    public Jobs jobs() {
        return jobs;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    public Pki pki() {
        return pki;
    }

    public Vertx vertx() {
        return vertx;
    }

    /** Stops everything that runs, in reverse order. Idempotent; never fails. */
    public synchronized Future<Void> stop() {
        if (stopped != null) {
            return stopped;
        }
        if (vertx == null) {
            stopped = Future.succeededFuture();
            return stopped;
        }
        log.info("controller_stopping");
        Vertx vx = vertx;
        Promise<Void> done = Promise.promise();
        stopped = done.future();
        vx.runOnContext(v -> {
            Future<Void> chain = Future.succeededFuture();
            chain = chain.transform(x -> scheduler == null ? Future.succeededFuture() : scheduler.stop().otherwiseEmpty());
            if (restores != null) {
                restores.stop();
            }
            chain = chain.transform(x -> retention == null ? Future.succeededFuture() : retention.stop());
            chain = chain.transform(x -> {
                if (verifySchedule != null) {
                    verifySchedule.stop();
                }
                if (verification != null) {
                    verification.close();
                }
                return Future.succeededFuture();
            });
            chain = chain.transform(x -> {
                if (sessions != null) {
                    sessions.closeAll();
                }
                return (live == null ? Future.<Void>succeededFuture() : live.stop().otherwiseEmpty())
                        .compose(y -> catalog == null ? Future.succeededFuture() : catalog.disconnectAll().otherwiseEmpty());
            });
            chain = chain.transform(x -> http == null ? Future.succeededFuture() : http.close().otherwiseEmpty());
            chain = chain.transform(x -> auditExporter == null ? Future.succeededFuture() : auditExporter.stop());
            chain = chain.transform(x -> {
                metrics.close();
                if (repository != null) {
                    repository.close();
                }
                return catalog == null ? Future.succeededFuture() : vx.executeBlocking(() -> {
                    catalog.close();
                    return null;
                }).<Void>mapEmpty().otherwiseEmpty();
            });
            chain.transform(x -> vx.close().otherwiseEmpty()).onComplete(x -> {
                log.info("controller_stopped", "msg", "controller stopped");
                done.complete();
            });
        });
        return stopped;
    }

    private static String hostForUrl(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    private static void createPrivateDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot create the data directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The link's events into the metrics. */
    private record MetricsListener(ControllerMetrics metrics) implements LinkListener {
        @Override
        public void agentConnected(String host, boolean connected) {
            metrics.agentConnected(host, connected);
        }

        @Override
        public void agentSeen(String host, Instant at) {
            metrics.agentSeen(host, at);
        }

        @Override
        public void sourceRpo(String host, String source, double seconds) {
            metrics.sourceRpo(host, source, seconds);
        }

        @Override
        public void backupFinished(String status, Duration took) {
            metrics.backupFinished(status, took);
        }

        @Override
        public void drillFinished(String host, String source, boolean ok, Instant finishedAt, double rto, double rpo) {
            metrics.drillFinished(host, source, ok, finishedAt, rto, rpo);
        }

        @Override
        public void heartbeatHandled(Duration took) {
            metrics.heartbeatHandled(took);
        }
    }
}
