package dev.holdfast.agent.link;

import dev.holdfast.agent.daemon.AgentSource;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.protocol.ProtocolVersion;
import dev.holdfast.protocol.v1.AgentLinkGrpcClient;
import dev.holdfast.protocol.v1.AgentMessage;
import dev.holdfast.protocol.v1.ControllerMessage;
import dev.holdfast.protocol.v1.Heartbeat;
import dev.holdfast.protocol.v1.Hello;
import dev.holdfast.protocol.v1.JobProgress;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.protocol.v1.PolicyUpdate;
import dev.holdfast.protocol.v1.RestoreGrant;
import dev.holdfast.protocol.v1.SourceInfo;
import dev.holdfast.protocol.v1.SourceState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The agent's end of the link (docs/protocol.md): one {@code AgentLink/Connect} stream to the
 * controller over mutual TLS, reopened with capped exponential back-off whenever it ends.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>The link is optional for the agent's data path: WAL shipping never waits for it, and an
 *       unreachable controller only means no new jobs and no reports. The last policy received is
 *       kept ({@link PolicyCache}) and used while the controller is away.</li>
 *   <li>Hello carries the inventory, the jobs in flight and the results of recent jobs, so that a
 *       restarted controller learns what happened while it was gone (results are kept on disk,
 *       {@link ResultJournal}, and resent until they are a week old; the controller ignores repeats).</li>
 *   <li>Jobs are deduplicated by id: a job already running is not started again; a job already
 *       finished gets its result again.</li>
 *   <li>Progress is sent at most once a second per job; heartbeats at the interval Welcome names.</li>
 * </ul>
 * All state changes happen on the link's Vert.x context.
 */
public final class ControllerLink {
    private static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final Duration RENEW_CHECK = Duration.ofMinutes(5);

    private final Vertx vertx;
    private final URI controller;
    private final String host;
    private final String version;
    private final Supplier<HttpClientOptions> tls;
    private final Supplier<List<AgentSource>> sources;
    private final JobRunner runner;
    private final PolicyCache policy;
    private final Clock clock;
    private final Random random;
    private final EventLog log;
    private final Supplier<Future<Boolean>> renewIfDue;
    private volatile GrantHandler grants;

    private final Map<String, JobProgress> running = new ConcurrentHashMap<>();
    private final ResultJournal recent;
    private final Map<String, Long> lastProgressSent = new ConcurrentHashMap<>();
    /** The link's own context: every state change and every write to the stream happens on it. */
    private io.vertx.core.Context context;
    private GrpcClient client;
    private GrpcClientRequest<AgentMessage, ControllerMessage> stream;
    private boolean welcomed;
    private boolean stopping;
    private int failures;
    private long heartbeatTimer = -1;
    private long reconnectTimer = -1;
    private long renewTimer = -1;
    private volatile String state = "connecting";
    private volatile String lastError = "";

    /**
     * @param tls        the HTTP client options carrying this agent's key, certificate and the pinned CA (read at every connect, so a renewed certificate is used)
     * @param renewIfDue renews the certificate if it is past two thirds of its life; true if it did (the link then reconnects)
     */
    public ControllerLink(Vertx vertx, URI controller, String host, String version, Supplier<HttpClientOptions> tls,
                          Supplier<List<AgentSource>> sources, JobRunner runner, PolicyCache policy, Clock clock, Random random,
                          EventLog log, Supplier<Future<Boolean>> renewIfDue, Path identityDir) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.controller = Objects.requireNonNull(controller, "controller");
        this.host = Objects.requireNonNull(host, "host");
        this.version = Objects.requireNonNull(version, "version");
        this.tls = Objects.requireNonNull(tls, "tls");
        this.sources = Objects.requireNonNull(sources, "sources");
        this.runner = Objects.requireNonNull(runner, "runner");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.log = Objects.requireNonNull(log, "log").with("controller", controller.toString());
        this.renewIfDue = Objects.requireNonNull(renewIfDue, "renewIfDue");
        this.recent = new ResultJournal(identityDir, clock);
    }

    /**
     * Runs restore grants (docs/protocol.md "Restore grants"). Contract: {@link #run} verifies the
     * grant completely before writing anything and never fails: a refusal is a result with its code.
     */
    public interface GrantHandler {
        Future<JobResult> run(RestoreGrant grant, JobRunner.Progress progress);
    }

    /** Sets the grant handler (before {@link #start()}); without one every grant is refused. */
    public void grants(GrantHandler handler) {
        this.grants = handler;
    }

    /** Starts connecting (in the background); the agent runs whether or not the controller answers. */
    public void start() {
        context = vertx.getOrCreateContext();
        context.runOnContext(v -> {
            connect();
            // A link can outlive its certificate (TLS checks it only at the handshake), so renewal is
            // checked on a timer too, not only at each connect; a renewed certificate takes effect at
            // once through a reconnect.
            renewTimer = vertx.setPeriodic(RENEW_CHECK.toMillis(), id -> renewIfDue.get().onSuccess(renewed -> {
                if (renewed) {
                    reconnect();
                }
            }).onFailure(t -> log.warn("certificate_renewal_failed", "error", String.valueOf(t.getMessage()))));
        });
    }

    /** For {@code GET /v1/status}. */
    public JsonObject status() {
        return new JsonObject().put("url", controller.toString()).put("state", state).put("last_error", lastError)
                .put("jobs_running", running.size()).put("policy_revision", policy.revision());
    }

    private void connect() {
        if (stopping) {
            return;
        }
        state = "connecting";
        welcomed = false;
        renewIfDue.get().otherwise(t -> {
            log.warn("certificate_renewal_failed", "error", String.valueOf(t.getMessage()));
            return false;
        }).compose(renewed -> {
            if (client != null) {
                client.close();
            }
            HttpClientOptions o = new HttpClientOptions(tls.get()).setProtocolVersion(HttpVersion.HTTP_2).setSsl(true).setUseAlpn(true)
                    .setHttp2ClearTextUpgrade(false).setConnectTimeout(10_000).setIdleTimeout(0);
            client = GrpcClient.client(vertx, o);
            int port = controller.getPort() > 0 ? controller.getPort() : 443;
            return client.request(SocketAddress.inetSocketAddress(port, controller.getHost()), AgentLinkGrpcClient.Connect);
        }).compose(req -> {
            stream = req;
            req.exceptionHandler(t -> ended("stream failed: " + t.getMessage()));
            return req.write(AgentMessage.newBuilder().setHello(hello()).build()).compose(v -> req.response());
        }).onSuccess(resp -> {
            resp.handler(this::onMessage);
            resp.exceptionHandler(t -> ended("stream failed: " + t.getMessage()));
            resp.endHandler(v -> ended(resp.status() == null || resp.status().code == 0 ? "the controller ended the link"
                    : "the controller refused the link: " + resp.status() + " " + Optional.ofNullable(resp.statusMessage()).orElse("")));
        }).onFailure(t -> ended("cannot reach the controller: " + t.getMessage()));
    }

    private Hello hello() {
        Hello.Builder h = Hello.newBuilder().setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX).setHost(host)
                .setAgentVersion(version).addCapabilities("backup.postgres.full").addCapabilities("backup.postgres.incr")
                .addCapabilities("backup.postgres.logical").addCapabilities("backup.redis.rdb").addCapabilities("backup.files.snapshot").addCapabilities("drill.postgres").setPolicyRevision(policy.revision());
        for (AgentSource s : sources.get()) {
            JsonObject st = safeStatus(s);
            SourceInfo.Builder i = SourceInfo.newBuilder().setName(s.name()).setType(s.type());
            Optional.ofNullable(st.getString("system_identifier")).ifPresent(i::setSystemId);
            Optional.ofNullable(st.getString("mode")).ifPresent(i::setWalMode);
            h.addSources(i);
        }
        h.addCapabilities("restore.grant"); // docs/protocol.md "Restore grants"
        h.addAllRunning(running.values());
        h.addAllUnreported(recent.all());
        return h.build();
    }

    private void onMessage(ControllerMessage m) {
        switch (m.getBodyCase()) {
            case WELCOME -> {
                welcomed = true;
                failures = 0;
                state = "connected";
                lastError = "";
                if (m.getWelcome().hasPolicy() && m.getWelcome().getPolicy().getRevision() != 0) {
                    storePolicy(m.getWelcome().getPolicy());
                }
                log.info("controller_connected", "version", m.getWelcome().getVersion(), "controller_version",
                        m.getWelcome().getControllerVersion());
                long every = Math.max(1, m.getWelcome().getHeartbeatIntervalSeconds()) * 1000L;
                cancelHeartbeat();
                heartbeatTimer = vertx.setPeriodic(every, id -> heartbeat());
            }
            case JOB -> job(m.getJob());
            case GRANT -> grant(m.getGrant());
            case POLICY -> storePolicy(m.getPolicy());
            case ERROR -> {
                lastError = m.getError().getCode() + ": " + m.getError().getMessage();
                log.warn("controller_error", "code", m.getError().getCode(), "error", m.getError().getMessage());
            }
            default -> log.debug("controller_message_ignored", "kind", m.getBodyCase().toString());
        }
    }

    /** Keeps a policy: in memory at once, on disk off the event loop (it fsyncs). */
    private void storePolicy(PolicyUpdate p) {
        vertx.executeBlocking(() -> {
            policy.store(p);
            return null;
        }, true);
    }

    private void job(JobRequest job) {
        track(job.getJobId(), job.getKind(), job.getSource(), progress -> runner.run(job, progress));
    }

    /**
     * A restore grant: deduplicated by the request id it names (read unverified: a repeat of a grant
     * being run is ignored, one already finished gets its result again), then handed to the grant
     * handler, which verifies it before anything is written. The journal of used grant ids, not
     * this deduplication, is what makes a grant single-use.
     */
    private void grant(RestoreGrant g) {
        String requestId = dev.holdfast.agent.grant.GrantVerifier.unverifiedRequestId(g);
        GrantHandler h = grants;
        if (requestId.isEmpty() || h == null) {
            log.warn("restore_grant_refused", "msg", requestId.isEmpty() ? "a grant whose payload does not parse" : "no grant handler");
            if (!requestId.isEmpty()) {
                send(AgentMessage.newBuilder().setResult(JobResult.newBuilder().setJobId(requestId).setOk(false)
                        .setError(dev.holdfast.protocol.Errors.reply(dev.holdfast.error.ErrorCode.GRANT_INVALID,
                                "this agent does not run restore grants"))
                        .setFinishedAtMs(clock.millis()).build()).build());
            }
            return;
        }
        track(requestId, "restore", "", progress -> h.run(g, progress));
    }

    /** Runs one job (or granted restore) once: progress while it runs, its result kept and sent. */
    private void track(String jobId, String kind, String source, Function<JobRunner.Progress, Future<JobResult>> work) {
        if (running.containsKey(jobId)) {
            return;
        }
        Optional<JobResult> done = recent.get(jobId);
        if (done.isPresent()) {
            send(AgentMessage.newBuilder().setResult(done.get()).build());
            return;
        }
        JobProgress p0 = JobProgress.newBuilder().setJobId(jobId).setKind(kind).setSource(source)
                .setPhase("starting").build();
        running.put(jobId, p0);
        send(AgentMessage.newBuilder().setProgress(p0).build());
        work.apply((done2, total, phase) -> {
            JobProgress p = p0.toBuilder().setDone(done2).setTotal(total).setPhase(phase).build();
            running.put(jobId, p);
            long now = clock.millis();
            Long last = lastProgressSent.get(jobId);
            if (last == null || now - last >= 1000) {
                lastProgressSent.put(jobId, now);
                context.runOnContext(v -> send(AgentMessage.newBuilder().setProgress(p).build()));
            }
        }).onComplete(ar -> {
            JobResult r = ar.result();
            byte[] journal = recent.add(r);
            vertx.executeBlocking(() -> {
                recent.write(journal);
                return null;
            }, false).onFailure(t -> log.warn("job_result_not_saved", "job", jobId, "error", String.valueOf(t.getMessage()),
                    "msg", "the result is sent now but would be lost if the agent restarted before the controller has it"));
            running.remove(jobId);
            lastProgressSent.remove(jobId);
            send(AgentMessage.newBuilder().setResult(r).build());
        });
    }

    private void heartbeat() {
        Heartbeat.Builder hb = Heartbeat.newBuilder().setSentAtMs(clock.millis());
        for (AgentSource s : sources.get()) {
            JsonObject st = safeStatus(s);
            SourceState.Builder b = SourceState.newBuilder().setName(s.name()).setState(String.valueOf(st.getValue("state", "running")))
                    .setRpoSeconds(number(st, "rpo_seconds")).setLagSeconds(number(st, "lag_seconds"));
            Optional.ofNullable(st.getString("durable_lsn")).ifPresent(b::setLastDurableLsn);
            Optional.ofNullable(st.getString("last_error")).ifPresent(b::setDetail);
            hb.addSources(b);
        }
        hb.addAllRunning(new ArrayList<>(running.values()));
        send(AgentMessage.newBuilder().setHeartbeat(hb).build());
    }

    private static double number(JsonObject o, String key) {
        Object v = o.getValue(key);
        return v instanceof Number n ? n.doubleValue() : -1;
    }

    private static JsonObject safeStatus(AgentSource s) {
        try {
            JsonObject o = s.status();
            return o == null ? new JsonObject() : o;
        } catch (RuntimeException e) {
            return new JsonObject().put("state", "unknown");
        }
    }

    private void send(AgentMessage m) {
        GrpcClientRequest<AgentMessage, ControllerMessage> s = stream;
        if (s == null || !welcomed) {
            return; // results wait in `recent` for the next Hello
        }
        s.write(m).onFailure(t -> log.debug("link_write_failed", "error", String.valueOf(t.getMessage())));
    }

    private void ended(String why) {
        if (stream == null && reconnectTimer >= 0) {
            return; // already scheduled
        }
        stream = null;
        welcomed = false;
        cancelHeartbeat();
        if (stopping) {
            return;
        }
        state = "disconnected";
        lastError = why;
        failures++;
        long base = Math.min(MAX_BACKOFF.toMillis(), MIN_BACKOFF.toMillis() << Math.min(failures - 1, 5));
        long delay = base / 2 + (long) (random.nextDouble() * base / 2);
        log.warn("controller_link_down", "error", why, "retry_in_ms", delay);
        if (reconnectTimer >= 0) {
            vertx.cancelTimer(reconnectTimer);
        }
        reconnectTimer = vertx.setTimer(delay, id -> {
            reconnectTimer = -1;
            connect();
        });
    }

    /** Forces a reconnect now (after a certificate renewal). */
    public void reconnect() {
        context.runOnContext(v -> {
            GrpcClientRequest<AgentMessage, ControllerMessage> s = stream;
            if (s != null) {
                s.cancel();
            }
        });
    }

    private void cancelHeartbeat() {
        if (heartbeatTimer >= 0) {
            vertx.cancelTimer(heartbeatTimer);
            heartbeatTimer = -1;
        }
    }

    /** Ends the link; running jobs go on in the runner (the daemon's stop waits for nothing of them). */
    public Future<Void> stop() {
        stopping = true;
        cancelHeartbeat();
        if (renewTimer >= 0) {
            vertx.cancelTimer(renewTimer);
        }
        if (reconnectTimer >= 0) {
            vertx.cancelTimer(reconnectTimer);
        }
        GrpcClientRequest<AgentMessage, ControllerMessage> s = stream;
        stream = null;
        if (s != null) {
            s.end();
        }
        return client == null ? Future.succeededFuture() : client.close();
    }

    /** The policy cached from the controller. */
    public PolicyUpdate policy() {
        return policy.current();
    }

}
