package dev.holdfast.controller.api;

import dev.holdfast.agent.config.Redact;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.Tokens;
import dev.holdfast.controller.catalog.ApiTokenRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.catalog.VerificationRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.dashboard.Dashboard;
import dev.holdfast.controller.metrics.ControllerMetrics;
import dev.holdfast.controller.retention.RetentionService;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The HTTP API under {@code /api/v1} and {@code GET /metrics} (docs/api.md), as one Vert.x Web
 * {@link Router}.
 *
 * <p>Every exchange: a request id ({@code X-Request-Id}, taken from the request when it is a short
 * token of {@code [A-Za-z0-9._:-]}, generated otherwise, always echoed); for a known route, the
 * bearer token looked up by its SHA-256 ({@code 401 unauthenticated} when absent or unknown) and the
 * route's {@link Right} checked against the token's role ({@code 403 permission_denied}); every
 * answer, failures included, is JSON ({@code {"error": {"code", "message", "request_id"}}}), except
 * the metrics text. Every mutation, allowed or refused, is appended to the audit log before the
 * answer is sent.
 *
 * <p>Nothing here blocks the event loop: the catalog is asynchronous, the scrape runs on a worker.
 */
public final class ApiRouter {
    public static final String PREFIX = "/api/v1";
    public static final String REQUEST_ID = "X-Request-Id";
    /** Largest request body accepted. */
    public static final int BODY_LIMIT = 64 * 1024;
    /** Open backup jobs listed before the backups on {@code GET /backups} are taken from this many newest jobs. */
    public static final int PENDING_JOB_WINDOW = PageRequest.MAX_LIMIT;
    static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /**
     * Every endpoint, with the right it needs. The router is built from this list and the RBAC test
     * enumerates it: a route is added here or nowhere.
     */
    public static final List<ApiRoute> ROUTES = List.of(
            ApiRoute.read(PREFIX + "/agents"),
            ApiRoute.read(PREFIX + "/agents/:host"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/agents/:host/revoke", Right.ADMINISTER, "agent.revoke"),
            ApiRoute.read(PREFIX + "/sources"),
            ApiRoute.read(PREFIX + "/backups"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/backups", Right.OPERATE, "backup.request"),
            ApiRoute.read(PREFIX + "/snapshots"),
            ApiRoute.read(PREFIX + "/jobs"),
            ApiRoute.read(PREFIX + "/jobs/:id"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/verify/:id", Right.OPERATE, "verify.request"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/restores", Right.OPERATE, "restore.request"),
            ApiRoute.read(PREFIX + "/restores"),
            ApiRoute.read(PREFIX + "/restores/:id"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/restores/:id/approve", Right.OPERATE, "restore.approve"),
            ApiRoute.read(PREFIX + "/drills"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/drills", Right.OPERATE, "drill.request"),
            ApiRoute.read(PREFIX + "/audit"),
            ApiRoute.read(PREFIX + "/policies"),
            ApiRoute.read(PREFIX + "/policies/:name"),
            ApiRoute.mutateLater(HttpMethod.PUT, PREFIX + "/policies/:name", Right.ADMINISTER, "policy.update"),
            ApiRoute.read(PREFIX + "/policies/:name/plan"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/policies/:name/enforce", Right.ADMINISTER, "retention.enforce"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/tokens", Right.ADMINISTER, "token.create"),
            ApiRoute.mutate(HttpMethod.DELETE, PREFIX + "/tokens/:name", Right.ADMINISTER, "token.revoke"),
            ApiRoute.mutate(HttpMethod.POST, PREFIX + "/enrolment-tokens", Right.ADMINISTER, "enrolment_token.create"),
            ApiRoute.read("/metrics"));

    static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");
    static final Pattern SOURCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");
    static final Pattern TAG = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    static final Pattern BACKUP_TYPE = Pattern.compile("full|incr|logical|rdb|snapshot");
    static final Pattern ROLE = Pattern.compile("admin|service|analyst");
    static final Pattern TOKEN_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
    private static final Pattern REQUEST_ID_SHAPE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final String K_ROUTE = "holdfast.route";
    private static final String K_ACTOR = "holdfast.actor";
    private static final String K_REQUEST_ID = "holdfast.requestId";
    private static final String K_OBJECT = "holdfast.object";
    private static final String ANONYMOUS = "anonymous";

    private final Vertx vertx;
    private final Catalog catalog;
    private final Clock clock;
    private final SecureRandom random;
    private final ControllerConfig config;
    private final ControllerMetrics metrics;
    private final BackupRequests backups;
    private final EnrolmentTokenIssuer enrolment;
    private final AgentRevoker revoker;
    private final EventLog log;
    private volatile RestoreRequests restores;
    /** Retention's plan and enforcement; null until {@link #retention} is called (then {@code retention_unavailable}). */
    private volatile RetentionService retention;
    /** The verification service; null when no repository is configured (POST /verify answers 409). */
    private VerifyRequests verify;

    public ApiRouter(Vertx vertx, Catalog catalog, Clock clock, SecureRandom random, ControllerConfig config, ControllerMetrics metrics,
                     BackupRequests backups, EnrolmentTokenIssuer enrolment, AgentRevoker revoker, EventLog log) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.config = Objects.requireNonNull(config, "config");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.backups = Objects.requireNonNull(backups, "backups");
        this.enrolment = Objects.requireNonNull(enrolment, "enrolment");
        this.revoker = Objects.requireNonNull(revoker, "revoker");
        this.log = Objects.requireNonNull(log, "log");
    }

    /** The restore service behind {@code /restores} (without one those endpoints answer not_implemented). */
    public ApiRouter restores(RestoreRequests r) {
        this.restores = Objects.requireNonNull(r, "restores");
        return this;
    }

    /** Serves {@code GET /policies/{name}/plan} and {@code POST /policies/{name}/enforce} with {@code service}. */
    public ApiRouter retention(RetentionService service) {
        this.retention = service;
        return this;
    }

    /** Serves {@code POST /verify/{id}} with {@code v} (call before {@link #router()}); without it the endpoint answers 409. */
    public ApiRouter verifyRequests(VerifyRequests v) {
        this.verify = Objects.requireNonNull(v, "verify");
        return this;
    }

    /**
     * A new router serving {@link #ROUTES} and the dashboard ({@code GET /}, {@link Dashboard}); unknown
     * paths get {@code 404 not_found}, a known path with another method {@code 405}.
     */
    public Router router() {
        Router r = Router.router(vertx);
        r.route().handler(this::requestId);
        Map<String, Handler<RoutingContext>> handlers = handlers();
        for (ApiRoute route : ROUTES) {
            Handler<RoutingContext> h = route.implemented() ? handlers.get(route.label()) : this::notImplemented;
            if (h == null) {
                throw new IllegalStateException("no handler for " + route.label());
            }
            Route vr = r.route(route.method(), route.path());
            // Vert.x Web wants the body handler first; the route is noted on the context right after
            // it, and again by the failure handler (a body too large fails before).
            if (route.method() != HttpMethod.GET) {
                vr.handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
            }
            vr.handler(ctx -> {
                ctx.put(K_ROUTE, route);
                ctx.next();
            });
            vr.handler(ctx -> authenticate(ctx, route)).handler(h);
            vr.failureHandler(ctx -> {
                ctx.put(K_ROUTE, route);
                failure(ctx);
            });
        }
        Dashboard.mount(r);
        r.errorHandler(404, ctx -> sendError(ctx, 404, ErrorCode.NOT_FOUND.code(),
                "no such endpoint: " + ctx.request().method().name() + " " + Bodies.clip(ctx.request().path())
                        + " (see docs/api.md)"));
        r.errorHandler(405, ctx -> {
            String allowed = allowedMethods(ctx.request().path());
            if (!allowed.isEmpty()) {
                ctx.response().putHeader(HttpHeaders.ALLOW, allowed);
            }
            sendError(ctx, 405, ErrorCode.USAGE.code(), "method " + ctx.request().method().name() + " is not allowed on "
                    + Bodies.clip(ctx.request().path()) + (allowed.isEmpty() ? "" : " (allowed: " + allowed + ")"));
        });
        r.errorHandler(500, this::failure);
        return r;
    }

    private Map<String, Handler<RoutingContext>> handlers() {
        Map<String, Handler<RoutingContext>> m = new HashMap<>();
        m.put("GET " + PREFIX + "/agents", this::agents);
        m.put("GET " + PREFIX + "/agents/:host", this::agent);
        m.put("POST " + PREFIX + "/agents/:host/revoke", this::revokeAgent);
        m.put("GET " + PREFIX + "/sources", this::sources);
        m.put("GET " + PREFIX + "/backups", this::backups);
        m.put("POST " + PREFIX + "/backups", this::requestBackup);
        m.put("GET " + PREFIX + "/snapshots", this::snapshots);
        m.put("GET " + PREFIX + "/jobs", this::jobs);
        m.put("GET " + PREFIX + "/jobs/:id", this::job);
        m.put("GET " + PREFIX + "/drills", this::drills);
        m.put("POST " + PREFIX + "/drills", this::requestDrill);
        m.put("GET " + PREFIX + "/audit", this::audit);
        m.put("GET " + PREFIX + "/policies", this::policies);
        m.put("GET " + PREFIX + "/policies/:name", this::policy);
        m.put("GET " + PREFIX + "/policies/:name/plan", this::retentionPlan);
        m.put("POST " + PREFIX + "/policies/:name/enforce", this::retentionEnforce);
        m.put("POST " + PREFIX + "/tokens", this::createToken);
        m.put("DELETE " + PREFIX + "/tokens/:name", this::revokeToken);
        m.put("POST " + PREFIX + "/enrolment-tokens", this::createEnrolmentToken);
        m.put("GET /metrics", this::metrics);
        m.put("POST " + PREFIX + "/restores", this::requestRestore);
        m.put("GET " + PREFIX + "/restores", this::restoresList);
        m.put("GET " + PREFIX + "/restores/:id", this::restore);
        m.put("POST " + PREFIX + "/restores/:id/approve", this::approveRestore);
        m.put("POST " + PREFIX + "/verify/:id", this::requestVerify);
        return m;
    }

    // ---- the exchange: request id, authentication, answers, audit ----

    private void requestId(RoutingContext ctx) {
        String given = ctx.request().getHeader(REQUEST_ID);
        String id;
        if (given != null && REQUEST_ID_SHAPE.matcher(given).matches()) {
            id = given;
        } else {
            byte[] b = new byte[12];
            random.nextBytes(b);
            id = HexFormat.of().formatHex(b);
        }
        ctx.put(K_REQUEST_ID, id);
        ctx.response().putHeader(REQUEST_ID, id);
        ctx.next();
    }

    private static String requestIdOf(RoutingContext ctx) {
        String id = ctx.get(K_REQUEST_ID);
        return id == null ? "" : id;
    }

    private void authenticate(RoutingContext ctx, ApiRoute route) {
        String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
        if (header == null || header.length() <= 7 || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.substring(7).isBlank()) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"holdfast\"");
            ctx.fail(new HoldfastException(ErrorCode.UNAUTHENTICATED, "this endpoint needs an 'Authorization: Bearer <token>' header"));
            return;
        }
        String token = header.substring(7).trim();
        catalog.apiToken(Tokens.hash(token)).onComplete(ar -> {
            if (ar.failed()) {
                ctx.fail(ar.cause());
                return;
            }
            Optional<ApiTokenRecord> rec = ar.result();
            Optional<Role> role = rec.flatMap(t -> Role.ofWire(t.role()));
            if (role.isEmpty()) {
                ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"holdfast\", error=\"invalid_token\"");
                ctx.fail(new HoldfastException(ErrorCode.UNAUTHENTICATED, "the bearer token is not known to this controller"));
                return;
            }
            String name = rec.get().name() == null || rec.get().name().isBlank() ? role.get().wire() : rec.get().name();
            Actor actor = new Actor(name, role.get());
            ctx.put(K_ACTOR, actor);
            if (!role.get().may(route.right())) {
                ctx.fail(new HoldfastException(ErrorCode.PERMISSION_DENIED, "role " + role.get().wire() + " may not "
                        + route.method().name() + " " + route.path() + " (" + needs(route.right()) + ")"));
                return;
            }
            ctx.next();
        });
    }

    private static String needs(Right right) {
        return switch (right) {
            case READ -> "any role may read";
            case OPERATE -> "needs role admin or service";
            case ADMINISTER -> "needs role admin";
        };
    }

    private static Actor actor(RoutingContext ctx) {
        return Objects.requireNonNull(ctx.get(K_ACTOR), "authenticated actor");
    }

    /** Sends {@code body} after auditing the mutation (if this route is one) as {@code ok}. */
    private void reply(RoutingContext ctx, int status, JsonObject body, String object, String detail) {
        ctx.put(K_OBJECT, object);
        audit(ctx, "ok", detail).onComplete(v -> send(ctx, status, body));
    }

    private static void send(RoutingContext ctx, int status, JsonObject body) {
        if (ctx.response().ended()) {
            return;
        }
        ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-store").end(body.encode());
    }

    private static void sendError(RoutingContext ctx, int status, String code, String message) {
        send(ctx, status, ApiJson.error(code, message, requestIdOf(ctx)));
    }

    /**
     * Appends the audit entry of a mutation route (none for reads): actor and role from the token
     * ({@code anonymous}/{@code none} before authentication), the object the handler named (else the
     * request path), the outcome and a detail without secrets. A failure to append is logged and does
     * not change the answer: the mutation, if any, has happened.
     */
    private Future<Void> audit(RoutingContext ctx, String outcome, String detail) {
        ApiRoute route = ctx.get(K_ROUTE);
        if (route == null || route.auditAction().isEmpty()) {
            return Future.succeededFuture();
        }
        Actor a = ctx.get(K_ACTOR);
        String object = ctx.get(K_OBJECT);
        if (object == null) {
            object = Bodies.clip(ctx.request().path());
        }
        AuditRecord entry = new AuditRecord(0, clock.instant(), requestIdOf(ctx), a == null ? ANONYMOUS : a.name(),
                a == null ? "none" : a.role().wire(), route.auditAction().get(), object, outcome, detail);
        return catalog.appendAudit(entry).<Void>mapEmpty().recover(e -> {
            log.error("audit_append_failed", "request_id", requestIdOf(ctx), "action", entry.action(), "outcome", outcome,
                    "msg", e.getClass().getSimpleName() + ": " + e.getMessage());
            return Future.succeededFuture();
        });
    }

    /** Every failure of a known route ends here: audited (for mutations), then answered as JSON. */
    private void failure(RoutingContext ctx) {
        Throwable t = ctx.failure();
        HoldfastException h = t == null ? null : HoldfastException.find(t);
        if (h == null) {
            int sc = ctx.statusCode();
            if (t == null && sc == 413) {
                h = new HoldfastException(ErrorCode.USAGE, "the request body is larger than " + BODY_LIMIT + " bytes");
            } else if (t == null && sc == 400) {
                h = new HoldfastException(ErrorCode.USAGE, "malformed request (path, query string or body)");
            } else if (t == null && sc == 404) {
                h = new HoldfastException(ErrorCode.NOT_FOUND, "no such endpoint: " + Bodies.clip(ctx.request().path()));
            } else {
                ApiRoute route = ctx.get(K_ROUTE);
                log.error("api_internal_error", "request_id", requestIdOf(ctx), "route", route == null ? ctx.request().path() : route.label(),
                        "status", sc, "error", t == null ? "" : t.getClass().getName(), "msg", t == null ? "" : scrub(String.valueOf(t.getMessage())));
                h = new HoldfastException(ErrorCode.INTERNAL, "internal error; the controller's log has the details under request id "
                        + requestIdOf(ctx));
            }
        }
        ErrorCode code = h.code();
        String message = h.getMessage();
        String outcome = code.httpStatus() >= 500 ? "failed" : "refused";
        audit(ctx, outcome, code.code() + ": " + message).onComplete(v -> sendError(ctx, code.httpStatus(), code.code(), message));
    }

    private static final Pattern TOKEN_LIKE = Pattern.compile("\\bhf[ae]_[A-Za-z0-9_-]{8,}");

    /** An unexpected exception's message for the log: passwords in URIs and conninfo strings, and anything token-shaped, masked. */
    static String scrub(String message) {
        return TOKEN_LIKE.matcher(Redact.conninfo(Redact.uri(message))).replaceAll("hf?_****");
    }

    private String allowedMethods(String path) {
        Set<String> methods = new java.util.TreeSet<>();
        for (ApiRoute r : ROUTES) {
            String regex = Pattern.quote(r.path()).replaceAll(":[a-z]+", "\\\\E[^/]+\\\\Q");
            if (path.matches(regex)) {
                methods.add(r.method().name());
            }
        }
        return String.join(", ", methods);
    }

    private void notImplemented(RoutingContext ctx) {
        ApiRoute route = ctx.get(K_ROUTE);
        String object = String.join("/", new TreeMap<>(ctx.pathParams()).values());
        if (!object.isEmpty()) {
            ctx.put(K_OBJECT, Bodies.clip(object));
        }
        ctx.fail(new HoldfastException(ErrorCode.NOT_IMPLEMENTED, route.method().name() + " " + route.path()
                + " is not served by this version (change the configuration file and restart the controller instead)"));
    }

    // ---- reads ----

    private void agents(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        catalog.agents(page).compose(p -> {
            if (p.items().isEmpty()) {
                return Future.succeededFuture(Paging.body(List.of(), p.next()));
            }
            Set<String> hosts = p.items().stream().map(a -> a.host()).collect(Collectors.toSet());
            return sourceNames(hosts).map(names -> Paging.body(p.items().stream()
                    .map(a -> ApiJson.agent(a, names.getOrDefault(a.host(), List.of()))).toList(), p.next()));
        }).onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    private void agent(RoutingContext ctx) {
        String host = ctx.pathParam("host");
        catalog.agent(host).compose(a -> {
            if (a.isEmpty()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "no agent '" + Bodies.clip(host) + "'"));
            }
            return sourceNames(Set.of(host)).map(names -> ApiJson.agent(a.get(), names.getOrDefault(host, List.of())));
        }).onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    /**
     * Source names by host, for the given hosts. The catalog lists sources of every host in one
     * ordered list, so this walks it whole (a few queries of 1,000 rows per 1,000 hosts).
     */
    private Future<Map<String, List<String>>> sourceNames(Set<String> hosts) {
        return Paging.all(catalog::sources).map(all -> {
            Map<String, List<String>> m = new LinkedHashMap<>();
            for (SourceRecord s : all) {
                if (hosts.contains(s.host())) {
                    m.computeIfAbsent(s.host(), k -> new ArrayList<>()).add(s.name());
                }
            }
            return m;
        });
    }

    private void sources(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        catalog.sources(page).map(p -> Paging.body(p.items().stream().map(ApiJson::source).toList(), p.next()))
                .onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    private static Optional<String> sourceFilter(RoutingContext ctx) {
        String s = ctx.request().getParam("source");
        if (s != null && !SOURCE.matcher(s).matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "query parameter 'source' must be a source name such as main");
        }
        return Optional.ofNullable(s);
    }

    /**
     * Backups, with the backup jobs not finished yet first: the list is two phases behind one cursor.
     * Phase {@code j} lists the queued, dispatched and running backup jobs among the
     * {@value #PENDING_JOB_WINDOW} newest jobs (offset {@code o}); phase {@code b} the catalog's
     * backups, newest first (catalog cursor {@code u}).
     */
    private void backups(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        Optional<String> source = sourceFilter(ctx);
        JsonObject cur = page.cursor().map(Paging::decode).orElse(new JsonObject().put("p", "j").put("o", 0));
        Object phase = cur.getValue("p");
        Future<JsonObject> f;
        if ("j".equals(phase)) {
            Object o = cur.getValue("o");
            if (!(o instanceof Integer offset) || offset < 0) {
                throw Paging.badCursor();
            }
            f = catalog.jobs(new PageRequest(Optional.empty(), PENDING_JOB_WINDOW)).compose(jobs -> {
                List<JobRecord> open = jobs.items().stream().filter(j -> "backup".equals(j.kind()) && !j.state().finished())
                        .filter(j -> source.isEmpty() || source.get().equals(j.source())).toList();
                int from = Math.min(offset, open.size());
                int to = Math.min(offset + page.limit(), open.size());
                List<JsonObject> items = new ArrayList<>(open.subList(from, to).stream().map(ApiJson::pendingBackup).toList());
                if (to < open.size()) {
                    return Future.succeededFuture(Paging.body(items, Optional.of(Paging.encode(new JsonObject().put("p", "j").put("o", to)))));
                }
                int room = page.limit() - items.size();
                if (room == 0) {
                    return Future.succeededFuture(Paging.body(items, Optional.of(Paging.encode(new JsonObject().put("p", "b")))));
                }
                return catalog.backups(source, new PageRequest(Optional.empty(), room)).compose(bp -> withVerify(bp.items(), source).map(bs -> {
                    items.addAll(bs);
                    return Paging.body(items, bp.next().map(n -> Paging.encode(new JsonObject().put("p", "b").put("u", n))));
                }));
            });
        } else if ("b".equals(phase)) {
            Object u = cur.getValue("u");
            if (u != null && !(u instanceof String)) {
                throw Paging.badCursor();
            }
            f = catalog.backups(source, new PageRequest(Optional.ofNullable((String) u), page.limit())).compose(bp -> withVerify(bp.items(),
                    source).map(bs -> Paging.body(bs, bp.next().map(n -> Paging.encode(new JsonObject().put("p", "b").put("u", n))))));
        } else {
            throw Paging.badCursor();
        }
        f.onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    /** The backups as JSON, each with its latest verification ({@code "verify"}). */
    private Future<List<JsonObject>> withVerify(List<BackupRecord> backups, Optional<String> source) {
        if (backups.isEmpty()) {
            return Future.succeededFuture(List.of());
        }
        return catalog.verifications(source).map(vs -> {
            Map<String, VerificationRecord> byKey = new HashMap<>();
            vs.forEach(v -> byKey.put(v.source() + "/" + v.systemId() + "/" + v.backupId(), v));
            return backups.stream().map(b -> ApiJson.backup(b).put("verify",
                    ApiJson.verification(Optional.ofNullable(byKey.get(b.source() + "/" + b.systemId() + "/" + b.id()))))).toList();
        });
    }

    /** Complete backups only (restorable snapshots), newest first. */
    private void snapshots(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        Optional<String> source = sourceFilter(ctx);
        Paging.<BackupRecord>filtered(p -> catalog.backups(source, p), b -> "complete".equals(b.state()), page)
                .map(p -> Paging.body(p.items().stream().map(ApiJson::backup).toList(), p.next()))
                .onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    private void jobs(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        catalog.jobs(page).map(p -> Paging.body(p.items().stream().map(ApiJson::job).toList(), p.next()))
                .onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    private void job(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        catalog.job(id).compose(j -> j.map(x -> Future.succeededFuture(ApiJson.job(x))).orElseGet(() -> Future.failedFuture(
                new HoldfastException(ErrorCode.NOT_FOUND, "no job '" + Bodies.clip(id) + "'"))))
                .onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    private void drills(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        catalog.jobsOfKind("drill", page).map(p -> Paging.body(p.items().stream().map(ApiJson::drill).toList(), p.next()))
                .onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    private void audit(RoutingContext ctx) {
        if ("jsonl".equals(ctx.request().getParam("format"))) {
            AuditJsonlResponse.send(ctx, catalog);
            return;
        }
        PageRequest page = Paging.request(ctx.request());
        catalog.auditEntries(page).map(p -> Paging.body(p.items().stream().map(ApiJson::audit).toList(), p.next()))
                .onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
    }

    /** Policies from the configuration, by name; the cursor is the last name of the previous page. */
    private void policies(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        String after = "";
        if (page.cursor().isPresent()) {
            Object a = Paging.decode(page.cursor().get()).getValue("after");
            if (!(a instanceof String s)) {
                throw Paging.badCursor();
            }
            after = s;
        }
        List<ControllerConfig.Policy> sorted = new TreeMap<>(config.policies()).tailMap(after, false).values().stream().toList();
        List<ControllerConfig.Policy> items = sorted.subList(0, Math.min(page.limit(), sorted.size()));
        Optional<String> next = items.size() < sorted.size()
                ? Optional.of(Paging.encode(new JsonObject().put("after", items.get(items.size() - 1).name()))) : Optional.empty();
        send(ctx, 200, Paging.body(items.stream().map(ApiJson::policy).toList(), next));
    }

    private void policy(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        ControllerConfig.Policy p = config.policies().get(name);
        if (p == null) {
            throw new HoldfastException(ErrorCode.NOT_FOUND, "no policy '" + Bodies.clip(name) + "' (GET " + PREFIX + "/policies lists them)");
        }
        send(ctx, 200, ApiJson.policy(p));
    }

    private RetentionService retentionService() {
        RetentionService r = retention;
        if (r == null) {
            throw new HoldfastException(ErrorCode.RETENTION_UNAVAILABLE, "this controller does not run retention"
                    + " (it has no 'repository:' configured)");
        }
        return r;
    }

    /** The dry-run plan of a policy's retention (docs/api.md). */
    private void retentionPlan(RoutingContext ctx) {
        retentionService().plan(ctx.pathParam("name")).onSuccess(body -> send(ctx, 200, body)).onFailure(ctx::fail);
    }

    /** Enforces a policy's retention now; audited as {@code retention.enforce}, each deletion batch as {@code retention.delete}. */
    private void retentionEnforce(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        ctx.put(K_OBJECT, Bodies.clip(name));
        Actor a = actor(ctx);
        retentionService().enforce(name, a.name(), a.role().wire(), requestIdOf(ctx)).onSuccess(body -> {
            int deleted = body.getJsonArray("clusters").stream().mapToInt(c -> ((JsonObject) c).getInteger("deleted")).sum();
            reply(ctx, 200, body, Bodies.clip(name), "deleted " + deleted + " object(s) in " + body.getJsonArray("clusters").size()
                    + " cluster(s)");
        }).onFailure(ctx::fail);
    }

    private void metrics(RoutingContext ctx) {
        vertx.executeBlocking(metrics::scrape, false).onSuccess(text -> {
            if (!ctx.response().ended()) {
                ctx.response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, METRICS_CONTENT_TYPE).end(text);
            }
        }).onFailure(ctx::fail);
    }

    // ---- mutations ----

    private void requestBackup(RoutingContext ctx) {
        JsonObject body = Bodies.object(ctx.body(), "{\"host\": \"db1\", \"source\": \"main\", \"type\": \"full\"}");
        Bodies.allowOnly(body, List.of("host", "source", "type", "tag"));
        String host = Bodies.string(body, "host", HOST, "an agent's host name such as db1");
        String source = Bodies.string(body, "source", SOURCE, "a source name such as main");
        ctx.put(K_OBJECT, host + "/" + source);
        String type = Bodies.string(body, "type", BACKUP_TYPE, "full, incr or logical (postgres), rdb (redis) or snapshot (files)");
        String tag = Bodies.optionalString(body, "tag", TAG, "lower-case letters, digits, '_' and '-', such as adhoc").orElse("adhoc");
        Actor actor = actor(ctx);
        backups.requestBackup(host, source, type, tag, actor, requestIdOf(ctx)).onSuccess(job -> reply(ctx, 202,
                new JsonObject().put("id", job.id()).put("state", job.state().wire()).put("host", job.host()).put("source", job.source())
                        .put("type", job.type()).put("tag", job.tag()),
                host + "/" + source, "job " + job.id() + ", type " + type + ", tag " + tag)).onFailure(ctx::fail);
    }

    private void requestDrill(RoutingContext ctx) {
        JsonObject body = Bodies.object(ctx.body(), "{\"host\": \"db1\", \"source\": \"main\"}");
        Bodies.allowOnly(body, List.of("host", "source"));
        String host = Bodies.string(body, "host", HOST, "an agent's host name such as db1");
        String source = Bodies.string(body, "source", SOURCE, "a source name such as main");
        ctx.put(K_OBJECT, host + "/" + source);
        backups.requestDrill(host, source, actor(ctx), requestIdOf(ctx)).onSuccess(job -> reply(ctx, 202, ApiJson.drill(job),
                host + "/" + source, "drill job " + job.id())).onFailure(ctx::fail);
    }

    /**
     * {@code POST /verify/{id}?source=NAME}, body {@code {"read_data": true}} optional: starts a
     * verify job of that backup and answers 202 with the job (read it with {@code GET /jobs/{id}}).
     */
    private void requestVerify(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        ctx.put(K_OBJECT, Bodies.clip(id));
        if (verify == null) {
            throw new HoldfastException(ErrorCode.CONFLICT, "this controller has no repository configured ('repository:' in "
                    + config.file().getFileName() + "), so it cannot verify backups");
        }
        try {
            dev.holdfast.repository.backup.BackupId.parse(id);
        } catch (RuntimeException e) {
            throw new HoldfastException(ErrorCode.USAGE, "id: expected a backup id such as 20261123T090000Z-full");
        }
        String source = ctx.request().getParam("source");
        if (source == null || !SOURCE.matcher(source).matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "query parameter 'source' is required: the backup's source name, such as"
                    + " ?source=main (backup ids are unique only within a source)");
        }
        ctx.put(K_OBJECT, source + "/" + id);
        boolean readData = false;
        if (ctx.body() != null && !ctx.body().isEmpty() && !ctx.body().asString().isBlank()) {
            JsonObject body = Bodies.object(ctx.body(), "{\"read_data\": true}");
            Bodies.allowOnly(body, List.of("read_data"));
            Object r = body.getValue("read_data");
            if (r != null && !(r instanceof Boolean)) {
                throw new HoldfastException(ErrorCode.USAGE, "read_data: expected true or false");
            }
            readData = Boolean.TRUE.equals(r);
        }
        boolean all = readData;
        verify.requestVerify(source, id, readData, actor(ctx), requestIdOf(ctx)).onSuccess(job -> reply(ctx, 202,
                new JsonObject().put("id", job.id()).put("state", job.state().wire()).put("kind", job.kind()).put("source", source)
                        .put("backup_id", id).put("read_data", all),
                source + "/" + id, "job " + job.id() + (all ? ", data read" : ", structure"))).onFailure(ctx::fail);
    }

    private void revokeAgent(RoutingContext ctx) {
        String host = ctx.pathParam("host");
        if (!HOST.matcher(host).matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "host: expected an agent's host name such as db1");
        }
        ctx.put(K_OBJECT, "host:" + host);
        revoker.revoke(host, actor(ctx), requestIdOf(ctx)).onSuccess(n -> reply(ctx, 200,
                new JsonObject().put("host", host).put("revoked_certificates", n), "host:" + host, n + " certificate(s) revoked"))
                .onFailure(ctx::fail);
    }

    private void createToken(RoutingContext ctx) {
        JsonObject body = Bodies.object(ctx.body(), "{\"role\": \"analyst\"}");
        Bodies.allowOnly(body, List.of("role", "name"));
        String role = Bodies.string(body, "role", ROLE, "admin, service or analyst");
        String token = Tokens.newToken("hfa_", random);
        String hash = Tokens.hash(token);
        // The default name tells tokens of one role apart in the audit log; a hash prefix reveals nothing of the token.
        String name = Bodies.optionalString(body, "name", TOKEN_NAME, "1 to 64 letters, digits and ._@- such as grafana")
                .orElse(role + "-" + hash.substring(0, 8));
        ctx.put(K_OBJECT, "token:" + name);
        Actor actor = actor(ctx);
        catalog.insertApiToken(new ApiTokenRecord(hash, role, name, clock.instant(), actor.name()))
                .onSuccess(v -> reply(ctx, 201, new JsonObject().put("token", token).put("role", role).put("name", name),
                        "token:" + name, "role " + role))
                .onFailure(ctx::fail);
    }

    private void revokeToken(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        if (!TOKEN_NAME.matcher(name).matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "name: expected a token's name such as grafana");
        }
        ctx.put(K_OBJECT, "token:" + name);
        String own = actor(ctx).name();
        if (own.equals(name)) {
            throw new HoldfastException(ErrorCode.CONFLICT, "a token cannot revoke itself: use another admin token");
        }
        catalog.deleteApiTokens(name, null).onSuccess(n -> {
            if (n == 0) {
                ctx.fail(new HoldfastException(ErrorCode.NOT_FOUND, "no API token named '" + name + "'"));
                return;
            }
            reply(ctx, 200, new JsonObject().put("name", name).put("revoked", n), "token:" + name, n + " token(s) revoked");
        }).onFailure(ctx::fail);
    }

    private void createEnrolmentToken(RoutingContext ctx) {
        JsonObject body = Bodies.object(ctx.body(), "{\"host\": \"db1\"}");
        Bodies.allowOnly(body, List.of("host"));
        String host = Bodies.string(body, "host", HOST, "the host name the agent will enrol as, such as db1");
        ctx.put(K_OBJECT, "host:" + host);
        enrolment.issue(host, actor(ctx), requestIdOf(ctx)).onSuccess(t -> reply(ctx, 201,
                new JsonObject().put("token", t.token()).put("expires_at", t.expiresAt().toString()).put("host", host),
                "host:" + host, "expires at " + t.expiresAt())).onFailure(ctx::fail);
    }

    // ---- restores (docs/api.md "Restores"; the service is dev.holdfast.controller.restore) ----

    private RestoreRequests restoreService(RoutingContext ctx) {
        RestoreRequests r = restores;
        if (r == null) {
            notImplemented(ctx);
        }
        return r;
    }

    private void requestRestore(RoutingContext ctx) {
        RestoreRequests.Ask ask = RestoreBodies.ask(Bodies.object(ctx.body(), RestoreBodies.EXAMPLE));
        ctx.put(K_OBJECT, ask.host() + "/" + ask.source());
        RestoreRequests r = restoreService(ctx);
        if (r != null) {
            r.request(ask, actor(ctx), requestIdOf(ctx)).onSuccess(b -> reply(ctx, 202, b, "restore:" + b.getString("id"),
                    "restore " + b.getString("id") + " of " + ask.source() + " backup " + b.getString("backup_id") + " to " + ask.host()
                            + ":" + ask.target() + ", policy approvals: " + b.getInteger("approvals_required")))
                    .onFailure(ctx::fail);
        }
    }

    private void approveRestore(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        ctx.put(K_OBJECT, "restore:" + Bodies.clip(id));
        RestoreRequests r = restoreService(ctx);
        if (r != null) {
            r.approve(id, actor(ctx), requestIdOf(ctx)).onSuccess(b -> reply(ctx, 200, b, "restore:" + b.getString("id"),
                    "approval by " + actor(ctx).name() + " (policy approvals: " + b.getInteger("approvals_required") + "), state "
                            + b.getString("state") + (b.getJsonObject("grant") == null ? "" : ", grant " + b.getJsonObject("grant").getString("id"))))
                    .onFailure(ctx::fail);
        }
    }

    private void restoresList(RoutingContext ctx) {
        PageRequest page = Paging.request(ctx.request());
        RestoreRequests r = restoreService(ctx);
        if (r != null) {
            r.list(page).onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
        }
    }

    private void restore(RoutingContext ctx) {
        RestoreRequests r = restoreService(ctx);
        if (r != null) {
            r.get(ctx.pathParam("id")).onSuccess(b -> send(ctx, 200, b)).onFailure(ctx::fail);
        }
    }
}
