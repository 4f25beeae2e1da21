package dev.holdfast.controller.restore;

import dev.holdfast.controller.api.Actor;
import dev.holdfast.controller.api.RestoreRequests;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.RestoreRecord;
import dev.holdfast.controller.catalog.RestoreState;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.link.AgentSessions;
import dev.holdfast.controller.link.RestoreLink;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.Grants;
import dev.holdfast.protocol.v1.ControllerMessage;
import dev.holdfast.protocol.v1.Hello;
import dev.holdfast.protocol.v1.JobProgress;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.protocol.v1.RestoreGrant;
import dev.holdfast.protocol.v1.RestoreGrantPayload;
import dev.holdfast.repository.wal.Lsn;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Restore requests from request to outcome (docs/controller.md "Restore authorization").
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>At request time everything the grant will say is fixed: the backup ({@code latest} resolved
 *       to the newest complete base backup that can reach the recovery target), the recovery target
 *       (a time not in the future, an LSN, {@code immediate}, or the end of the WAL), the target
 *       path (absolute, normal form, no traversal; under the policy's {@code allowed_targets} when
 *       it lists any) and the policy's number of approvals.</li>
 *   <li>Approvals ({@link #approveCalls}): under {@code approvals: 2} (the two-person rule) the
 *       requester may not approve, and nobody approves twice ({@code approval_refused}); under
 *       {@code approvals: 1} any admin or service token approves. The last approval needed signs the grant
 *       ({@link GrantSigner}) and stores it with the request; changes are compare-and-set on the
 *       request's revision, so two concurrent approvals cannot both count.</li>
 *   <li>Delivery: the grant goes to the agent at once when it is connected, else at its next Hello,
 *       as long as the grant has not expired; an approved request whose grant expired
 *       ({@link Grants} skew included) before the agent started becomes {@code expired}.</li>
 *   <li>The agent reports with the request id as job id: progress makes it {@code running}; the
 *       result {@code done}, {@code failed}, or {@code refused} for a refusal before anything was
 *       written (grant_invalid, grant_expired, grant_used, target_not_allowed, target_not_empty). An
 *       agent that reconnects without the running restore fails it ({@code agent_unavailable}).</li>
 *   <li>Every step after the API call (grant issued, sent, started, finished, refused, expired) is
 *       audited with the restore id as the entry's request id; the API audits the calls.</li>
 * </ul>
 * Non-blocking: catalog calls are asynchronous, signing runs on a worker.
 */
public final class RestoreService implements RestoreRequests, RestoreLink {
    /** How often approved requests are checked for an expired grant. */
    static final Duration SWEEP = Duration.ofSeconds(10);
    /** The agent's allowance too: a grant is expired for both after its expiry plus this. */
    static final Duration CLOCK_SKEW = Grants.CLOCK_SKEW;
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final Set<String> REFUSALS = Set.of(ErrorCode.GRANT_INVALID.code(), ErrorCode.GRANT_EXPIRED.code(),
            ErrorCode.GRANT_USED.code(), ErrorCode.TARGET_NOT_ALLOWED.code(), ErrorCode.TARGET_NOT_EMPTY.code());

    private final Vertx vertx;
    private final Catalog catalog;
    private final AgentSessions sessions;
    private final ControllerConfig config;
    private final GrantSigner signer;
    private final Clock clock;
    private final SecureRandom random;
    private long timer = -1;
    private volatile java.util.function.BiConsumer<String, Duration> finishedListener = (status, took) -> { };

    public RestoreService(Vertx vertx, Catalog catalog, AgentSessions sessions, ControllerConfig config, GrantSigner signer, Clock clock,
                          SecureRandom random) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.config = Objects.requireNonNull(config, "config");
        this.signer = Objects.requireNonNull(signer, "signer");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** Told when a restore ran to its end: {@code succeeded} or {@code failed}, and how long it ran (the metrics). */
    public RestoreService onFinished(java.util.function.BiConsumer<String, Duration> listener) {
        this.finishedListener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** Starts the periodic expiry check. */
    public void start() {
        timer = vertx.setPeriodic(SWEEP.toMillis(), id -> expire());
    }

    public void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
    }

    // ---- the API ----

    @Override
    public Future<JsonObject> request(Ask ask, Actor actor, String requestId) {
        String kind;
        String value = "";
        Optional<Instant> toTime = Optional.empty();
        Optional<Lsn> toLsn = Optional.empty();
        Instant now = clock.instant();
        Optional<String> bad = Grants.targetPathProblem(ask.target());
        if (bad.isPresent()) {
            return Future.failedFuture(new HoldfastException(ErrorCode.TARGET_NOT_ALLOWED, "target " + clip(ask.target()) + " refused: "
                    + bad.get()));
        }
        try {
            if (ask.toTime().isPresent()) {
                Instant t = OffsetDateTime.parse(ask.toTime().get()).toInstant();
                if (t.isAfter(now)) {
                    throw new HoldfastException(ErrorCode.USAGE, "to_time " + t + " is in the future (now " + now + ")");
                }
                toTime = Optional.of(t);
                kind = "time";
                value = t.toString();
            } else if (ask.toLsn().isPresent()) {
                toLsn = Optional.of(Lsn.parse(ask.toLsn().get()));
                kind = "lsn";
                value = toLsn.get().toString();
            } else {
                kind = ask.immediate() ? "immediate" : "latest";
            }
        } catch (DateTimeParseException e) {
            return Future.failedFuture(new HoldfastException(ErrorCode.USAGE, "to_time must be an RFC 3339 time such as 2026-11-24T08:00:00Z"));
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        } catch (RuntimeException e) {
            return Future.failedFuture(new HoldfastException(ErrorCode.USAGE, "to_lsn must be an LSN such as 0/3000138"));
        }
        String k = kind;
        String v = value;
        Optional<Instant> tt = toTime;
        Optional<Lsn> tl = toLsn;
        return catalog.agent(ask.host()).compose(a -> {
            if (a.isEmpty()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "no agent '" + ask.host() + "' (GET /api/v1/agents lists them)"));
            }
            // The target host's own cluster when it reports the source: agents commonly share a source
            // name ("main"), and "latest" must not be another host's newest backup.
            return catalog.source(ask.host(), ask.source()).compose(s -> resolve(ask.source(),
                    s.map(x -> x.systemId()).filter(id -> !id.isEmpty()), ask.backup(), tt, tl));
        }).compose(b -> {
            // The stricter of the target host's policy and the backup's host's: a restore of db2's
            // data onto db1 needs the approvals either would ask for; targets are the target host's.
            ControllerConfig.Policy target = config.policyFor(ask.host(), ask.source());
            ControllerConfig.Policy origin = config.policyFor(b.host().isEmpty() ? ask.host() : b.host(), ask.source());
            ControllerConfig.Policy policy = origin.restore().approvals() > target.restore().approvals() ? origin : target;
            List<Path> roots = target.restore().allowedTargets();
            if (!roots.isEmpty() && roots.stream().noneMatch(r -> Path.of(ask.target()).startsWith(r))) {
                return Future.failedFuture(new HoldfastException(ErrorCode.TARGET_NOT_ALLOWED, "target " + clip(ask.target())
                        + " is not under the allowed_targets " + roots + " of policy " + target.name()));
            }
            RestoreRecord r = new RestoreRecord(newId(now), ask.host(), ask.source(), b.host(), ask.backup(), b.id(), b.systemId(), k, v,
                    ask.target(), policy.name(), policy.restore().approvals(), actor.name(), List.of(), RestoreState.REQUESTED, now,
                    Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), 0, 0, "", Optional.empty(), Optional.empty(), 1);
            return catalog.insertRestore(r).map(x -> json(r));
        });
    }

    /** The newest complete base backup of {@code source} that is {@code asked} (or any, for latest) and reaches the target. */
    private Future<BackupRecord> resolve(String source, Optional<String> systemId, String asked, Optional<Instant> toTime,
                                         Optional<Lsn> toLsn) {
        return scan(source, systemId, Optional.empty(), asked, toTime, toLsn);
    }

    private Future<BackupRecord> scan(String source, Optional<String> systemId, Optional<String> cursor, String asked,
                                      Optional<Instant> toTime, Optional<Lsn> toLsn) {
        return catalog.backups(Optional.of(source), new PageRequest(cursor, PageRequest.MAX_LIMIT)).compose(page -> {
            for (BackupRecord b : page.items()) {
                if (!"complete".equals(b.state()) || !("full".equals(b.type()) || "incr".equals(b.type()))) {
                    continue;
                }
                if (systemId.isPresent() && !systemId.get().equals(b.systemId())) {
                    continue;
                }
                if (!"latest".equals(asked) && !asked.equals(b.id())) {
                    continue;
                }
                String why = reaches(b, toTime, toLsn);
                if (why == null) {
                    return Future.succeededFuture(b);
                }
                if (!"latest".equals(asked)) {
                    return Future.failedFuture(new HoldfastException(ErrorCode.CONFLICT, "backup " + b.id() + " cannot be restored to that"
                            + " point: " + why));
                }
            }
            if (page.next().isPresent()) {
                return scan(source, systemId, page.next(), asked, toTime, toLsn);
            }
            return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "latest".equals(asked)
                    ? "source '" + source + "' has no complete base backup" + (toTime.isPresent() || toLsn.isPresent()
                    ? " that ends before the requested point" : "") + " (GET /api/v1/backups lists them)"
                    : "source '" + source + "' has no complete base backup '" + asked + "'"));
        });
    }

    /** Why {@code b} cannot reach the recovery target, or null when it can. */
    private static String reaches(BackupRecord b, Optional<Instant> toTime, Optional<Lsn> toLsn) {
        if (toTime.isPresent() && (b.finishedAt().isEmpty() || b.finishedAt().get().isAfter(toTime.get()))) {
            return "it finished at " + b.finishedAt().map(Instant::toString).orElse("?") + ", after to_time " + toTime.get();
        }
        if (toLsn.isPresent()) {
            try {
                if (Lsn.parse(b.stopLsn()).compareTo(toLsn.get()) > 0) {
                    return "it is consistent only from " + b.stopLsn() + ", after to_lsn " + toLsn.get();
                }
            } catch (RuntimeException e) {
                return "its stop LSN is unknown";
            }
        }
        return null;
    }

    @Override
    public Future<JsonObject> approve(String id, Actor actor, String requestId) {
        return catalog.restore(id).compose(o -> {
            if (o.isEmpty()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "no restore request '" + clip(id) + "'"));
            }
            RestoreRecord r = o.get();
            if (r.state() != RestoreState.REQUESTED) {
                return Future.failedFuture(new HoldfastException(ErrorCode.CONFLICT, "restore request " + r.id() + " is " + r.state().wire()
                        + "; only a requested one can be approved"));
            }
            if (r.approvalsRequired() >= 2 && actor.name().equals(r.requestedBy())) {
                return Future.failedFuture(new HoldfastException(ErrorCode.APPROVAL_REFUSED, "policy " + r.policy() + " asks for "
                        + r.approvalsRequired() + " people (approvals: " + r.approvalsRequired() + "): the requester of " + r.id()
                        + " (" + actor.name() + ") cannot approve it; another admin or service token must"));
            }
            if (r.approvals().contains(actor.name())) {
                return Future.failedFuture(new HoldfastException(ErrorCode.APPROVAL_REFUSED, actor.name() + " approved " + r.id()
                        + " already; policy " + r.policy() + " asks for " + r.approvalsRequired() + " different approvers"));
            }
            RestoreRecord approved = r.withApproval(actor.name());
            Future<RestoreRecord> next = approved.approvals().size() < approveCalls(approved.approvalsRequired())
                    ? Future.succeededFuture(approved) : grant(approved);
            return next.compose(n -> catalog.updateRestore(n, r.revision()).compose(ok -> {
                if (!ok) {
                    return Future.failedFuture(new HoldfastException(ErrorCode.CONFLICT, "restore request " + r.id()
                            + " changed while it was being approved; read it again and retry"));
                }
                if (n.state() != RestoreState.APPROVED) {
                    return Future.succeededFuture(n);
                }
                return audit(n, "controller", "controller", "restore.grant.issued", "ok", "grant " + n.grantId().orElse("")
                        + " for " + n.host() + ":" + n.targetPath() + ", expires " + n.grantExpiresAt().map(Instant::toString).orElse(""))
                        .compose(x -> deliver(n));
            })).map(RestoreService::json);
        });
    }

    /**
     * How many approvals a request needs when the policy says {@code approvals: n}: {@code n} is
     * the number of different people who must stand behind a restore, the requester counting as
     * one whenever {@code n >= 2} (so {@code approvals: 2} is the two-person rule: one approval by
     * someone other than the requester). There is always at least one approval.
     */
    static int approveCalls(int n) {
        return Math.max(1, n - 1);
    }

    /** Issues and signs the grant (on a worker). */
    private Future<RestoreRecord> grant(RestoreRecord r) {
        Instant now = clock.instant();
        ControllerConfig.Policy policy = config.policies().getOrDefault(r.policy(), config.policies().get("default"));
        Instant expires = now.plus(policy.restore().grantTtl());
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        String grantId = HexFormat.of().formatHex(nonce);
        RestoreGrantPayload p = RestoreGrantPayload.newBuilder().setRequestId(r.id()).setGrantId(grantId).setHost(r.host())
                .setSource(r.source()).setBackupId(r.backupId()).setSystemId(r.systemId()).setTargetKind(r.targetKind())
                .setTargetValue(r.targetValue()).setTargetPath(r.targetPath()).setIssuedAtMs(now.toEpochMilli())
                .setExpiresAtMs(expires.toEpochMilli()).build();
        return vertx.executeBlocking(() -> signer.sign(p), false)
                .map(g -> r.withGrant(now, grantId, expires, Base64.getEncoder().encodeToString(g.toByteArray())));
    }

    /**
     * Sends an approved request's grant if its agent is connected and the grant is still valid;
     * records when it was sent. A failed send is left to the next Hello.
     */
    private Future<RestoreRecord> deliver(RestoreRecord r) {
        Instant now = clock.instant();
        if (r.state() != RestoreState.APPROVED || r.grant().isEmpty() || !sessions.connected(r.host())
                || !now.isBefore(r.grantExpiresAt().orElse(Instant.EPOCH))) {
            return Future.succeededFuture(r);
        }
        RestoreGrant g;
        try {
            g = RestoreGrant.parseFrom(Base64.getDecoder().decode(r.grant().get()));
        } catch (Exception e) {
            return Future.failedFuture(new HoldfastException(ErrorCode.INTERNAL, "the stored grant of " + r.id() + " does not parse", e));
        }
        return sessions.send(r.host(), ControllerMessage.newBuilder().setGrant(g).build()).transform(ar -> {
            if (ar.failed()) {
                return Future.succeededFuture(r);
            }
            // The agent may already have answered (and moved the request on): the send is noted on
            // whatever the request is now.
            return change(r.id(), x -> x.grantSentAt().isEmpty() ? Optional.of(x.withGrantSent(now)) : Optional.empty())
                    .compose(x -> audit(r, "controller", "controller", "restore.grant.sent", "ok", "grant " + r.grantId().orElse("")
                            + " sent to " + r.host()))
                    .compose(x -> catalog.restore(r.id())).map(x -> x.orElse(r));
        });
    }

    @Override
    public Future<JsonObject> get(String id) {
        return catalog.restore(id).compose(o -> o.map(r -> Future.succeededFuture(json(r))).orElseGet(() -> Future.failedFuture(
                new HoldfastException(ErrorCode.NOT_FOUND, "no restore request '" + clip(id) + "'"))));
    }

    @Override
    public Future<JsonObject> list(PageRequest page) {
        return catalog.restores(page).map(p -> {
            JsonObject body = new JsonObject().put("items", new JsonArray(p.items().stream().map(RestoreService::json).toList()));
            return body.put("next", p.next().orElse(null));
        });
    }

    // ---- the link ----

    @Override
    public Future<Void> hello(String host, Hello hello) {
        Map<String, JobProgress> running = hello.getRunningList().stream().filter(p -> RestoreLink.owns(p.getJobId()))
                .collect(Collectors.toMap(JobProgress::getJobId, p -> p, (a, b) -> b));
        Future<Void> chain = Future.succeededFuture();
        Set<String> reported = new java.util.HashSet<>();
        for (JobResult r : hello.getUnreportedList()) {
            if (RestoreLink.owns(r.getJobId())) {
                reported.add(r.getJobId());
                chain = chain.compose(v -> result(host, r));
            }
        }
        return chain.compose(v -> catalog.openRestores(Optional.of(host))).compose(open -> {
            Future<Void> c = Future.succeededFuture();
            for (RestoreRecord r : open) {
                if (reported.contains(r.id())) {
                    continue;
                }
                JobProgress p = running.get(r.id());
                if (p != null) {
                    c = c.compose(v -> progress(host, p));
                } else if (r.state() == RestoreState.RUNNING) {
                    c = c.compose(v -> finish(r.id(), x -> x.state() == RestoreState.RUNNING, RestoreState.FAILED,
                            ErrorCode.AGENT_UNAVAILABLE.code(),
                            "the agent no longer runs this restore (it restarted while the restore ran); request it again", 0));
                } else if (expired(r, clock.instant())) {
                    c = c.compose(v -> expireOne(r));
                } else {
                    c = c.compose(v -> deliver(r).mapEmpty());
                }
            }
            return c;
        });
    }

    /**
     * Progress from the agent. Its first report ({@code starting}) comes before the grant is
     * verified, so it changes nothing; any later one means the agent accepted the grant: running.
     */
    @Override
    public Future<Void> progress(String host, JobProgress p) {
        if ("starting".equals(p.getPhase())) {
            return Future.succeededFuture();
        }
        Instant now = clock.instant();
        boolean[] starts = new boolean[1]; // whether the version this change applied to was not running yet
        return change(p.getJobId(), r -> {
            starts[0] = r.state() != RestoreState.RUNNING;
            return r.host().equals(host) && accepts(r.state()) ? Optional.of(r.withProgress(now, p.getDone(), p.getTotal(), p.getPhase()))
                    : Optional.empty();
        }).compose(n -> {
            if (n.isEmpty() || !starts[0]) {
                return Future.succeededFuture();
            }
            return audit(n.get(), host, "agent", "restore.started", "ok", "the agent accepted grant " + n.get().grantId().orElse("")
                    + " and runs the restore");
        });
    }

    @Override
    public Future<Void> result(String host, JobResult res) {
        java.util.function.Predicate<RestoreRecord> mine = r -> r.host().equals(host) && accepts(r.state());
        if (res.getOk()) {
            return finish(res.getJobId(), mine, RestoreState.DONE, "", "restored backup " + res.getBackupId() + " (" + res.getBytes()
                    + " bytes)", res.getBytes());
        }
        String code = res.getError().getCode().isEmpty() ? ErrorCode.INTERNAL.code() : res.getError().getCode();
        return finish(res.getJobId(), mine, REFUSALS.contains(code) ? RestoreState.REFUSED : RestoreState.FAILED, code,
                res.getError().getMessage(), 0);
    }

    /** States in which the agent's reports are recorded (an expired request the agent started late is recorded as it happened). */
    private static boolean accepts(RestoreState s) {
        return s == RestoreState.APPROVED || s == RestoreState.RUNNING || s == RestoreState.EXPIRED;
    }

    /** Ends request {@code id} in {@code s} if it still satisfies {@code when}; audits and counts it. */
    private Future<Void> finish(String id, java.util.function.Predicate<RestoreRecord> when, RestoreState s, String code,
                                String message, long bytes) {
        Instant now = clock.instant();
        return change(id, r -> when.test(r) ? Optional.of(r.finished(s, now, code, message, bytes)) : Optional.empty()).compose(o -> {
            if (o.isEmpty()) {
                return Future.succeededFuture();
            }
            RestoreRecord n = o.get();
            if (s == RestoreState.DONE || s == RestoreState.FAILED) {
                finishedListener.accept(s == RestoreState.DONE ? "succeeded" : "failed", Duration.between(n.startedAt().orElse(now), now));
            }
            String action = s == RestoreState.REFUSED ? "restore.refused" : s == RestoreState.EXPIRED ? "restore.expired" : "restore.finished";
            boolean agent = s != RestoreState.EXPIRED && !code.equals(ErrorCode.AGENT_UNAVAILABLE.code());
            return audit(n, agent ? n.host() : "controller", agent ? "agent" : "controller", action,
                    s == RestoreState.DONE ? "ok" : s == RestoreState.FAILED ? "failed" : "refused",
                    (code.isEmpty() ? "" : code + ": ") + message + " (target " + n.host() + ":" + n.targetPath() + ")");
        });
    }

    /**
     * Applies {@code f} to request {@code id} as stored and writes the result by compare-and-set on
     * its revision; when another change won the race, reads it again and re-applies {@code f} (a few
     * times). {@code f} answers empty when no change is due. The change written, if any.
     */
    private Future<Optional<RestoreRecord>> change(String id, Function<RestoreRecord, Optional<RestoreRecord>> f) {
        return change(id, f, 5);
    }

    private Future<Optional<RestoreRecord>> change(String id, Function<RestoreRecord, Optional<RestoreRecord>> f, int attempts) {
        return catalog.restore(id).compose(o -> {
            Optional<RestoreRecord> n = o.flatMap(f);
            if (n.isEmpty()) {
                return Future.succeededFuture(Optional.<RestoreRecord>empty());
            }
            return catalog.updateRestore(n.get(), o.get().revision()).compose(ok -> ok ? Future.succeededFuture(n)
                    : attempts > 1 ? change(id, f, attempts - 1)
                    : Future.failedFuture(new HoldfastException(ErrorCode.CONFLICT, "restore request " + id + " keeps changing; not updated")));
        });
    }

    // ---- expiry ----

    private boolean expired(RestoreRecord r, Instant now) {
        return r.state() == RestoreState.APPROVED && r.grantExpiresAt().isPresent()
                && !now.isBefore(r.grantExpiresAt().get().plus(CLOCK_SKEW));
    }

    /** Approved requests whose grant expired before the agent started become expired. */
    public Future<Void> expire() {
        Instant now = clock.instant();
        return catalog.openRestores(Optional.empty()).compose(open -> {
            Future<Void> c = Future.succeededFuture();
            for (RestoreRecord r : open) {
                if (expired(r, now)) {
                    c = c.compose(v -> expireOne(r));
                }
            }
            return c;
        }).recover(t -> Future.succeededFuture());
    }

    private Future<Void> expireOne(RestoreRecord r) {
        return finish(r.id(), x -> expired(x, clock.instant()), RestoreState.EXPIRED, ErrorCode.GRANT_EXPIRED.code(), "grant " + r.grantId().orElse("") + " expired at "
                + r.grantExpiresAt().map(Instant::toString).orElse("?") + (r.grantSentAt().isPresent() ? " before the agent started"
                : " undelivered (the agent was not connected)") + "; request the restore again", 0);
    }

    // ---- helpers ----

    private Future<Void> audit(RestoreRecord r, String actor, String role, String action, String outcome, String detail) {
        return catalog.appendAudit(new AuditRecord(0, clock.instant(), r.id(), actor, role, action, "restore:" + r.id(), outcome, detail))
                .<Void>mapEmpty().recover(t -> Future.succeededFuture());
    }

    private String newId(Instant now) {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return "r-" + ID_TIME.format(now) + "-" + HexFormat.of().formatHex(b);
    }

    private static String clip(String s) {
        String t = s.replaceAll("[^\\x20-\\x7e]", "?");
        return t.length() <= 80 ? t : t.substring(0, 80) + "...";
    }

    /** The API form of a request (docs/api.md "Restores"); the grant's bytes are not shown. */
    public static JsonObject json(RestoreRecord r) {
        Function<Optional<Instant>, String> t = o -> o.map(Instant::toString).orElse(null);
        JsonObject grant = r.grantId().isEmpty() ? null : new JsonObject().put("id", r.grantId().get())
                .put("expires_at", t.apply(r.grantExpiresAt())).put("sent_at", t.apply(r.grantSentAt()));
        JsonObject error = r.errorCode().isEmpty() ? null : new JsonObject().put("code", r.errorCode().get())
                .put("message", r.errorMessage().orElse(""));
        return new JsonObject().put("id", r.id()).put("state", r.state().wire()).put("host", r.host()).put("source", r.source())
                .put("backup", r.backupAsked()).put("backup_id", r.backupId()).put("backup_host", r.backupHost())
                .put("system_id", r.systemId()).put("target", r.targetPath())
                .put("recovery", new JsonObject().put("kind", r.targetKind()).put("value", r.targetValue().isEmpty() ? null : r.targetValue()))
                .put("policy", r.policy()).put("approvals_required", r.approvalsRequired())
                .put("approvals", new JsonArray(new ArrayList<>(r.approvals()))).put("requested_by", r.requestedBy())
                .put("created_at", r.createdAt().toString()).put("approved_at", t.apply(r.approvedAt())).put("grant", grant)
                .put("started_at", t.apply(r.startedAt())).put("finished_at", t.apply(r.finishedAt()))
                .put("progress", new JsonObject().put("done_bytes", r.progressDone()).put("total_bytes", r.progressTotal())
                        .put("phase", r.phase()))
                .put("error", error);
    }
}
