package dev.holdfast.agent.daemon;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.control.ControlServer;
import dev.holdfast.agent.link.AgentIdentity;
import dev.holdfast.agent.link.ControllerLink;
import dev.holdfast.agent.link.JobRunner;
import dev.holdfast.agent.link.PolicyCache;
import dev.holdfast.agent.link.Renewal;
import dev.holdfast.agent.pipeline.UploadOptions;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ObjectStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The agent daemon: everything {@code holdfast agent run} runs.
 *
 * <h2>Start</h2>
 * {@link #start()} refuses a source whose type has no factory before anything opens, then creates
 * Vert.x (native transport when available, Vert.x's own metrics in the Prometheus registry), opens
 * the repository and the upload pipeline, listens on the control socket and the metrics address,
 * creates every source through its type's {@link SourceFactory} and starts them one after the
 * other, in file order. If anything fails, everything started so far is stopped and the returned
 * future fails with a {@link HoldfastException} that says what (nothing runs half-configured).
 *
 * <h2>Stop</h2>
 * {@link #stop()} stops the sources (in reverse order; each honours the durability contract of
 * {@link AgentSource}), then the control socket (removing its file) and the metrics server, the
 * pipeline, the repository's store and Vert.x. It never fails: a step that fails is logged and the
 * rest still run. Callers bound it in time ({@code holdfast agent run} waits 30 s by default).
 *
 * <p>{@code start} and {@code stop} are each called once, from any thread.
 */
public final class AgentDaemon {
    private final AgentConfig config;
    private final Map<String, SourceFactory> factories;
    private final Clock clock;
    private final SecureRandom random;
    private final EventLog log;
    private final String version;

    private final List<AgentSource> sources = new ArrayList<>();
    private volatile Vertx vertx;
    private PrometheusMeterRegistry registry;
    private Repository repository;
    private UploadPipeline pipeline;
    private ControlServer control;
    private MetricsServer metrics;
    private Instant startedAt;
    private Future<Void> stopped;
    private Optional<GroupPrincipal> socketGroup = Optional.empty();
    private volatile AgentIdentity identity;
    private JobRunner jobs;
    private ControllerLink link;

    /**
     * A daemon for {@code config}, not yet started.
     *
     * @param factories the source factories by type ({@link AgentSources#defaults()} in production)
     * @param version   the version reported by {@code /v1/status} and {@code holdfast_agent_info}
     */
    public AgentDaemon(AgentConfig config, Map<String, SourceFactory> factories, Clock clock, SecureRandom random, EventLog log,
                       String version) {
        this.config = Objects.requireNonNull(config, "config");
        this.factories = Map.copyOf(factories);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.log = Objects.requireNonNull(log, "log");
        this.version = Objects.requireNonNull(version, "version");
    }

    /** Starts everything (see the class comment); fails with what went wrong, after stopping what had started. */
    public synchronized Future<Void> start() {
        if (startedAt != null) {
            return Future.failedFuture(new IllegalStateException("the daemon was started already"));
        }
        startedAt = clock.instant();
        try {
            checkSourceTypes();
            socketGroup = lookupGroup();
        } catch (HoldfastException e) {
            stopped = Future.succeededFuture();
            return Future.failedFuture(e);
        }
        log.info("agent_starting", "host", config.host(), "version", version, "config", config.file(),
                "repository", config.repository().url(), "sources", config.sources().size());
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        vertx = Vertx.builder()
                .with(new VertxOptions().setPreferNativeTransport(true).setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
                        // The local address tells the control socket's server meters from the metrics server's.
                        .addLabels(Label.LOCAL)))
                .withMetrics(new MicrometerMetricsFactory(registry))
                .build();
        log.debug("vertx_created", "native_transport", vertx.isNativeTransportEnabled());
        Promise<Void> result = Promise.promise();
        // Run the sequence on a Vert.x context, so that sources start on an event loop.
        vertx.runOnContext(v -> startSequence().onComplete(ar -> {
            if (ar.succeeded()) {
                log.info("agent_started", "host", config.host(), "control_socket", control.socket(),
                        "metrics", metrics == null ? "off" : config.metrics().host().orElse("") + ":" + metrics.port(),
                        "sources", sources.size(), "native_transport", vertx.isNativeTransportEnabled(),
                        "msg", "agent running");
                result.complete();
            } else {
                Throwable cause = ar.cause();
                stop().onComplete(ignored -> result.fail(cause));
            }
        }));
        return result.future();
    }

    private Future<Void> startSequence() {
        return vertx.executeBlocking(this::openRepository).compose(repo -> {
            repository = repo;
            log.info("repository_opened", "repository", config.repository().url(), "repository_id", repo.config().repositoryIdHex(),
                    "key_id", repo.masterKeyId());
            pipeline = UploadPipeline.create(vertx, repo.store(), repo.keyring(), repo.config().repositoryId(), new UploadOptions(),
                    clock, random);
            control = new ControlServer(vertx, config.controlSocket(), socketGroup);
            control.route(HttpMethod.GET, "/v1/status", req -> ControlServer.respondJson(req, 200, status()));
            return control.start();
        }).compose(v -> {
            log.info("control_socket_listening", "path", config.controlSocket(), "group", config.controlSocketGroup().orElse(""));
            registerMeters(registry);
            if (!config.metrics().enabled()) {
                return Future.succeededFuture();
            }
            return MetricsServer.start(vertx, registry, config.metrics().host().get(), config.metrics().port()).map(m -> {
                metrics = m;
                log.info("metrics_listening", "address", config.metrics().host().get() + ":" + m.port());
                return null;
            });
        }).compose(v -> {
            AgentContext ctx = new Context();
            for (SourceConfig sc : config.sources()) {
                AgentSource s = factories.get(sc.type()).create(sc, ctx);
                sources.add(s);
            }
            Future<Void> chain = Future.succeededFuture();
            for (AgentSource s : List.copyOf(sources)) {
                chain = chain.compose(x -> startSource(s));
            }
            return chain.compose(x -> startLink());
        });
    }

    /**
     * Starts the controller link when a controller is configured and this host is enrolled. An
     * agent that is configured for a controller but not enrolled runs standalone and says so: the
     * data path never depends on the controller.
     */
    private Future<Void> startLink() {
        if (config.controller().isEmpty()) {
            return Future.succeededFuture();
        }
        AgentConfig.ControllerConfig c = config.controller().get();
        Optional<AgentIdentity> id;
        try {
            id = AgentIdentity.load(c.identityDir());
        } catch (HoldfastException e) {
            log.error("controller_identity_unreadable", "dir", c.identityDir(), "error", e.getMessage(),
                    "msg", "running standalone; re-enrol with holdfast enroll");
            return Future.succeededFuture();
        }
        if (id.isEmpty()) {
            log.warn("controller_not_enrolled", "dir", c.identityDir(), "msg", "running standalone until this host is enrolled"
                    + " (holdfast enroll --controller URL --token T), then restarted");
            return Future.succeededFuture();
        }
        if (!id.get().host().equals(config.host()) || !sameController(id.get().controller(), c.url())) {
            log.error("controller_identity_mismatch", "enrolled_host", id.get().host(), "configured_host", config.host(),
                    "enrolled_controller", id.get().controller(), "configured_controller", c.url(),
                    "msg", "running standalone: the identity in " + c.identityDir() + " was enrolled for another host name or"
                            + " controller than this configuration names; re-enrol (holdfast enroll) or fix host/controller.url");
            return Future.succeededFuture();
        }
        identity = id.get();
        jobs = new JobRunner(vertx, repository, pipeline, config, clock, log);
        link = new ControllerLink(vertx, c.url(), config.host(), version, () -> identity.clientOptions(), () -> List.copyOf(sources), jobs,
                new PolicyCache(c.identityDir()), clock, random, log, this::renewIfDue, c.identityDir());
        // Restore grants: verified against this identity's CA and this configuration's allowlist (docs/protocol.md).
        link.grants(new dev.holdfast.agent.grant.GrantedRestores(vertx, repository, pipeline, config,
                new dev.holdfast.agent.grant.GrantVerifier(() -> identity.ca(), () -> identity.certificate(), config.host(),
                        config.restore().allowedTargets(), new dev.holdfast.agent.grant.GrantJournal(c.identityDir(), clock,
                                dev.holdfast.agent.grant.GrantVerifier.CLOCK_SKEW), clock), clock, log));
        link.start();
        log.info("controller_link_starting", "controller", c.url(), "certificate_expires", identity.notAfter());
        return Future.succeededFuture();
    }

    private static boolean sameController(java.net.URI a, java.net.URI b) {
        return a.getHost().equalsIgnoreCase(b.getHost()) && (a.getPort() > 0 ? a.getPort() : 443) == (b.getPort() > 0 ? b.getPort() : 443);
    }

    /** Renews the client certificate once it is past two thirds of its life; true when it did. */
    private Future<Boolean> renewIfDue() {
        AgentIdentity id = identity;
        if (id == null || !id.needsRenewal(clock.instant())) {
            return Future.succeededFuture(false);
        }
        return Renewal.renew(vertx, id, random).map(renewed -> {
            identity = renewed;
            log.info("certificate_renewed", "expires", renewed.notAfter());
            return true;
        });
    }

    private Future<Void> startSource(AgentSource s) {
        Future<Void> f;
        try {
            f = Objects.requireNonNull(s.start(), "start() returned null");
        } catch (RuntimeException e) {
            f = Future.failedFuture(e);
        }
        return f.transform(ar -> {
            if (ar.succeeded()) {
                log.info("source_started", "source", s.name(), "type", s.type());
                return Future.succeededFuture();
            }
            HoldfastException h = HoldfastException.find(ar.cause());
            ErrorCode code = h == null ? ErrorCode.INTERNAL : h.code();
            String why = h == null ? String.valueOf(ar.cause()) : h.getMessage();
            return Future.failedFuture(new HoldfastException(code, "source '" + s.name() + "' failed to start: " + why, ar.cause()));
        });
    }

    private Repository openRepository() {
        KeyFile keys = KeyFile.load(config.repository().keyFile());
        ObjectStore store = config.repository().openStore(clock);
        try {
            return Repository.open(store, keys, clock, random);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    private void registerMeters(MeterRegistry r) {
        Gauge.builder("holdfast.agent.up", () -> 1).description("1 while the agent runs").register(r);
        double start = startedAt.toEpochMilli() / 1000.0;
        Gauge.builder("holdfast.agent.start.time.seconds", () -> start).description("when the agent started, in seconds since the epoch")
                .register(r);
        Gauge.builder("holdfast.agent.info", () -> 1).description("the agent's version and host").tag("version", version)
                .tag("host", config.host()).register(r);
    }

    /** The body of {@code GET /v1/status}. */
    JsonObject status() {
        JsonArray list = new JsonArray();
        for (AgentSource s : sources) {
            JsonObject st;
            try {
                st = s.status();
            } catch (RuntimeException e) {
                st = new JsonObject().put("state", "unknown").put("error", String.valueOf(e.getMessage()));
            }
            list.add(new JsonObject().put("name", s.name()).put("type", s.type()).put("status", st));
        }
        Instant now = clock.instant();
        return new JsonObject().put("host", config.host()).put("version", version).put("started_at", startedAt.toString())
                .put("uptime_seconds", Math.max(0, Duration.between(startedAt, now).toSeconds()))
                .put("control_socket", config.controlSocket().toString())
                .put("metrics", metrics == null ? null : config.metrics().host().orElse("") + ":" + metrics.port())
                .put("sources", list).put("controller", link == null ? null : link.status());
    }

    /** Stops everything that runs (see the class comment). Idempotent; never fails. */
    public synchronized Future<Void> stop() {
        if (stopped != null) {
            return stopped;
        }
        if (vertx == null) {
            stopped = Future.succeededFuture();
            return stopped;
        }
        log.info("agent_stopping", "host", config.host(), "sources", sources.size());
        Promise<Void> done = Promise.promise();
        stopped = done.future();
        Vertx vx = vertx;
        vx.runOnContext(v -> stopSequence(vx).onComplete(ar -> {
            log.info("agent_stopped", "host", config.host(), "msg", "agent stopped");
            done.complete();
        }));
        return stopped;
    }

    private Future<Void> stopSequence(Vertx vx) {
        Future<Void> chain = Future.succeededFuture();
        List<AgentSource> reversed = new ArrayList<>(sources);
        java.util.Collections.reverse(reversed);
        for (AgentSource s : reversed) {
            chain = chain.transform(x -> quietly("source_stop_failed", () -> s.stop(), "source", s.name())
                    .onSuccess(y -> log.info("source_stopped", "source", s.name())));
        }
        return chain
                .transform(x -> link == null ? Future.succeededFuture() : quietly("controller_link_close_failed", link::stop))
                .transform(x -> {
                    if (jobs != null) {
                        jobs.close();
                    }
                    return Future.succeededFuture();
                })
                .transform(x -> control == null ? Future.succeededFuture() : quietly("control_socket_close_failed", control::close))
                .transform(x -> metrics == null ? Future.succeededFuture() : quietly("metrics_close_failed", metrics::close))
                .transform(x -> pipeline == null ? Future.succeededFuture() : quietly("pipeline_close_failed", pipeline::close))
                .transform(x -> repository == null ? Future.succeededFuture()
                        : quietly("repository_close_failed", () -> vx.executeBlocking(() -> {
                            repository.close();
                            return null;
                        })))
                .transform(x -> quietly("vertx_close_failed", vx::close))
                .transform(x -> {
                    if (registry != null) {
                        registry.close();
                    }
                    return Future.succeededFuture();
                });
    }

    private Future<Void> quietly(String event, java.util.function.Supplier<Future<?>> step, Object... keyValues) {
        Future<?> f;
        try {
            f = step.get();
        } catch (RuntimeException e) {
            f = Future.failedFuture(e);
        }
        return f.transform(ar -> {
            if (ar.failed()) {
                Object[] kv = java.util.Arrays.copyOf(keyValues, keyValues.length + 2);
                kv[keyValues.length] = "error";
                kv[keyValues.length + 1] = ar.cause();
                log.error(event, kv);
                return Future.failedFuture(ar.cause());
            }
            return Future.succeededFuture();
        });
    }

    private void checkSourceTypes() {
        for (SourceConfig s : config.sources()) {
            if (!factories.containsKey(s.type())) {
                String why = s.type().equals("postgres") ? "is not available in this build" : "is not supported by this version yet";
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, config.file() + ": source '" + s.name() + "': type " + s.type()
                        + " " + why);
            }
        }
    }

    private Optional<GroupPrincipal> lookupGroup() {
        if (config.controlSocketGroup().isEmpty()) {
            return Optional.empty();
        }
        String g = config.controlSocketGroup().get();
        try {
            return Optional.of(FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByGroupName(g));
        } catch (UserPrincipalNotFoundException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, config.file() + ": control_socket_group: expected a group of this host, found '"
                    + g + "' (no such group)");
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot look up group '" + g + "': " + e.getMessage(), e);
        }
    }

    /** The Vert.x instance (after {@link #start()}). */
    public Vertx vertx() {
        return vertx;
    }

    /** The port the metrics server listens on, when it does (an {@link AgentConfig} built in code may ask for port 0). */
    public Optional<Integer> metricsPort() {
        MetricsServer m = metrics;
        return m == null ? Optional.empty() : Optional.of(m.port());
    }

    /** The meter registry (after {@link #start()}). */
    public MeterRegistry meters() {
        return registry;
    }

    private final class Context implements AgentContext {
        @Override
        public Vertx vertx() {
            return vertx;
        }

        @Override
        public Repository repository() {
            return repository;
        }

        @Override
        public UploadPipeline pipeline() {
            return pipeline;
        }

        @Override
        public MeterRegistry meters() {
            return registry;
        }

        @Override
        public Clock clock() {
            return clock;
        }

        @Override
        public SecureRandom random() {
            return random;
        }

        @Override
        public EventLog log() {
            return log;
        }

        @Override
        public ControlServer control() {
            return control;
        }

        @Override
        public AgentConfig config() {
            return config;
        }
    }
}
