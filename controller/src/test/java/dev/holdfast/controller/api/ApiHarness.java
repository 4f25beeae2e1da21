package dev.holdfast.controller.api;

import dev.holdfast.controller.ManualClock;
import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.Tokens;
import dev.holdfast.controller.catalog.ApiTokenRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.Page;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.metrics.ControllerMetrics;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A real controller API on a real Vert.x HTTP server (loopback, a free port) over a real catalog,
 * with recording stand-ins for the job service and the enrolment CA (the API's neighbours).
 */
final class ApiHarness implements AutoCloseable {
    static final Instant T0 = Instant.parse("2026-11-24T09:00:00Z");

    final Path dir;
    final Vertx vertx = Vertx.vertx();
    final ManualClock clock = new ManualClock(T0);
    final SecureRandom random = new SecureRandom();
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final EventLog log = new EventLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8), clock, LogLevel.DEBUG, false);
    final ControllerConfig config;
    final Catalog catalog;
    final ControllerMetrics metrics;
    final RecordingBackupRequests backups;
    final RecordingIssuer issuer = new RecordingIssuer();
    /** Hosts revoked through the API; only db1 is known (a neighbour: the enrolment service and the link do the real work). */
    final java.util.List<String> revoked = new java.util.concurrent.CopyOnWriteArrayList<>();
    final AgentRevoker revoker = (host, actor, requestId) -> {
        revoked.add(host);
        return "db1".equals(host) ? io.vertx.core.Future.succeededFuture(1)
                : io.vertx.core.Future.failedFuture(new dev.holdfast.error.HoldfastException(dev.holdfast.error.ErrorCode.NOT_FOUND,
                        "no agent '" + host + "'"));
    };
    final HttpServer server;
    /** The restore service, real, with a real CA; no agent is connected (grants wait for one). */
    final dev.holdfast.controller.link.AgentSessions sessions = new dev.holdfast.controller.link.AgentSessions();
    final dev.holdfast.controller.pki.ControllerCa ca;
    final dev.holdfast.controller.restore.RestoreService restores;
    /** The router under test (tests may attach more services to it, e.g. retention). */
    final ApiRouter api;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
    final String adminToken;
    final String serviceToken;
    final String analystToken;

    ApiHarness(Path dir) throws Exception {
        this(dir, null);
    }

    /** With {@code verify} (given this harness, its catalog, clock and metrics ready) serving POST /verify. */
    ApiHarness(Path dir, java.util.function.Function<ApiHarness, VerifyRequests> verify) throws Exception {
        this.dir = dir;
        Path yaml = dir.resolve("controller.yaml");
        Files.writeString(yaml, """
                listen: 127.0.0.1:0
                data_dir: %s
                auth:
                  bootstrap_admin_token_file: %s
                agents:
                  silent_after: 60s
                policies:
                  default:
                    retention: { daily: 7, weekly: 4, monthly: 12, pitr_window: 7d }
                    restore: { approvals: 1, allowed_targets: [/var/lib/holdfast/restore] }
                  critical:
                    sources: ["db1/*"]
                    schedule: { hourly: "0 * * * *", daily: "0 2 * * *" }
                    time_zone: Europe/Berlin
                    jitter: 1m
                    restore: { approvals: 2, grant_ttl: 5m }
                """.formatted(dir.resolve("data"), dir.resolve("secrets/admin.token")));
        config = ControllerConfig.load(yaml, cron -> { });
        catalog = await(TestCatalogs.open(vertx, dir.resolve("data"), clock));
        metrics = new ControllerMetrics(clock, "0.1.0-test", config.agents().silentAfter());
        backups = new RecordingBackupRequests(catalog, clock);
        await(BootstrapAdmin.ensure(catalog, config.auth().bootstrapAdminTokenFile(), vertx, clock, random));
        adminToken = Files.readString(config.auth().bootstrapAdminTokenFile()).trim();
        serviceToken = token("service", "ci-runner");
        analystToken = token("analyst", "grafana");
        ca = dev.holdfast.controller.pki.ControllerCa.loadOrCreate(dir.resolve("ca"), clock, random);
        restores = new dev.holdfast.controller.restore.RestoreService(vertx, catalog, sessions, config,
                dev.holdfast.controller.restore.GrantSigner.of(ca), clock, random);
        api = new ApiRouter(vertx, catalog, clock, random, config, metrics, backups, issuer, revoker, log).restores(restores);
        if (verify != null) {
            api.verifyRequests(verify.apply(this));
        }
        server = await(vertx.createHttpServer().requestHandler(api.router()).listen(0, "127.0.0.1"));
    }

    String token(String role, String name) throws Exception {
        String t = Tokens.newToken("hfa_", random);
        await(catalog.insertApiToken(new ApiTokenRecord(Tokens.hash(t), role, name, clock.instant(), "test")));
        return t;
    }

    String tokenFor(Role role) {
        return switch (role) {
            case ADMIN -> adminToken;
            case SERVICE -> serviceToken;
            case ANALYST -> analystToken;
        };
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** An HTTP answer. */
    record Response(int status, Map<String, List<String>> headers, String body) {
        JsonObject json() {
            return new JsonObject(body);
        }

        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).findFirst()
                    .map(e -> e.getValue().get(0)).orElse(null);
        }

        String errorCode() {
            return json().getJsonObject("error").getString("code");
        }

        String errorMessage() {
            return json().getJsonObject("error").getString("message");
        }
    }

    Response call(String method, String path, String token, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort() + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Response(r.statusCode(), r.headers().map(), r.body());
    }

    Response get(String path, String token) throws Exception {
        return call("GET", path, token, null);
    }

    /** Every audit entry, oldest first. */
    List<AuditRecord> auditLog() throws Exception {
        List<AuditRecord> all = new ArrayList<>();
        Optional<String> cursor = Optional.empty();
        do {
            Page<AuditRecord> p = await(catalog.audit(new PageRequest(cursor, 1000)));
            all.addAll(p.items());
            cursor = p.next();
        } while (cursor.isPresent());
        return all;
    }

    String logText() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws Exception {
        try {
            await(server.close());
            catalog.close();
        } finally {
            await(vertx.close());
        }
    }

    /** The job service's stand-in: records each request and inserts a queued job, as the real one does. */
    static final class RecordingBackupRequests implements BackupRequests {
        record Call(String host, String source, String type, String tag, Actor actor, String requestId) {
        }

        final List<Call> calls = new CopyOnWriteArrayList<>();
        private final Catalog catalog;
        private final ManualClock clock;
        private int seq;

        RecordingBackupRequests(Catalog catalog, ManualClock clock) {
            this.catalog = catalog;
            this.clock = clock;
        }

        @Override
        public synchronized Future<JobRecord> requestBackup(String host, String source, String type, String tag, Actor actor,
                                                            String requestId) {
            calls.add(new Call(host, source, type, tag, actor, requestId));
            if (host.equals("nohost")) {
                return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "no agent 'nohost'"));
            }
            if (host.equals("crash")) {
                return Future.failedFuture(new IllegalStateException("connection to postgresql://holdfast:hunter2@db/x lost"));
            }
            JobRecord job = new JobRecord(String.format("job-%04d", ++seq), host, source, "backup", type, tag, JobState.QUEUED, "api",
                    actor.name(), Optional.empty(), clock.instant(), Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "",
                    Optional.empty(), Optional.empty(), Optional.empty(), Map.of());
            return catalog.insertJob(job).map(v -> job);
        }

        @Override
        public synchronized Future<JobRecord> requestDrill(String host, String source, Actor actor, String requestId) {
            calls.add(new Call(host, source, "restore", "drill", actor, requestId));
            JobRecord job = new JobRecord(String.format("job-%04d", ++seq), host, source, "drill", "restore", "drill", JobState.QUEUED, "api",
                    actor.name(), Optional.empty(), clock.instant(), Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "",
                    Optional.empty(), Optional.empty(), Optional.empty(), Map.of());
            return catalog.insertJob(job).map(v -> job);
        }
    }

    /** The enrolment service's stand-in. */
    static final class RecordingIssuer implements EnrolmentTokenIssuer {
        record Call(String host, Actor actor, String requestId) {
        }

        final List<Call> calls = new CopyOnWriteArrayList<>();

        @Override
        public Future<IssuedEnrolmentToken> issue(String host, Actor actor, String requestId) {
            calls.add(new Call(host, actor, requestId));
            return Future.succeededFuture(new IssuedEnrolmentToken("hfe_test-" + host, T0.plus(Duration.ofHours(1))));
        }
    }
}
