package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.ApiTokenRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CertificateRecord;
import dev.holdfast.controller.catalog.EnrolmentTokenRecord;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.Page;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.SourceLiveState;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.catalog.WalRangeRecord;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/** A stand-in for the catalog until R2dbcCatalog lands on main: only what the API uses; offsets as cursors. */
final class InMemoryCatalog implements Catalog {
    private final Map<String, AgentRecord> agents = new ConcurrentHashMap<>();
    private final Map<String, SourceRecord> sources = new ConcurrentHashMap<>();
    private final Map<String, BackupRecord> backups = new ConcurrentHashMap<>();
    private final Map<String, JobRecord> jobs = new ConcurrentHashMap<>();
    private final Map<String, ApiTokenRecord> tokens = new ConcurrentHashMap<>();
    private final List<AuditRecord> audit = new ArrayList<>();

    private static <T> Future<Page<T>> page(List<T> all, PageRequest p) {
        int from = p.cursor().map(Integer::parseInt).orElse(0);
        int to = Math.min(all.size(), from + p.limit());
        return Future.succeededFuture(new Page<>(all.subList(Math.min(from, all.size()), to),
                to < all.size() ? Optional.of(Integer.toString(to)) : Optional.empty()));
    }

    @Override
    public Future<Void> upsertAgent(AgentRecord agent) {
        agents.put(agent.host(), agent);
        return Future.succeededFuture();
    }

    @Override
    public Future<Void> agentSeen(String host, boolean connected, Instant at) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Optional<AgentRecord>> agent(String host) {
        return Future.succeededFuture(Optional.ofNullable(agents.get(host)));
    }

    @Override
    public Future<Page<AgentRecord>> agents(PageRequest page) {
        return page(new TreeMap<>(agents).values().stream().toList(), page);
    }

    @Override
    public Future<Void> replaceSources(String host, List<SourceRecord> list) {
        sources.keySet().removeIf(k -> k.startsWith(host + "/"));
        list.forEach(s -> sources.put(host + "/" + s.name(), s));
        return Future.succeededFuture();
    }

    @Override
    public Future<Void> sourceState(String host, String source, SourceLiveState state) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<SourceRecord>> sources(PageRequest page) {
        return page(new TreeMap<>(sources).values().stream().toList(), page);
    }

    @Override
    public Future<Void> upsertBackup(BackupRecord b) {
        backups.put(b.source() + "/" + b.systemId() + "/" + b.id(), b);
        return Future.succeededFuture();
    }

    @Override
    public Future<Page<BackupRecord>> backups(Optional<String> source, PageRequest page) {
        return page(backups.values().stream().filter(b -> source.isEmpty() || source.get().equals(b.source()))
                .sorted(Comparator.comparing((BackupRecord b) -> b.startedAt().orElse(Instant.EPOCH)).thenComparing(BackupRecord::id)
                        .reversed()).toList(), page);
    }

    @Override
    public Future<Void> replaceWalRanges(String source, String systemId, List<WalRangeRecord> ranges) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<List<WalRangeRecord>> walRanges(String source) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> clearRepositoryIndex() {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> insertJob(JobRecord job) {
        jobs.put(job.id(), job);
        return Future.succeededFuture();
    }

    @Override
    public Future<Void> updateJob(JobRecord job) {
        jobs.put(job.id(), job);
        return Future.succeededFuture();
    }

    @Override
    public Future<Optional<JobRecord>> job(String id) {
        return Future.succeededFuture(Optional.ofNullable(jobs.get(id)));
    }

    @Override
    public Future<List<JobRecord>> openJobs(String host) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<JobRecord>> jobs(PageRequest page) {
        return page(jobs.values().stream().sorted(Comparator.comparing(JobRecord::createdAt).thenComparing(JobRecord::id).reversed())
                .toList(), page);
    }

    @Override
    public Future<Boolean> claimScheduledRun(String host, String source, String tag, Instant scheduledFor, String jobId) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Optional<Instant>> lastScheduledRun(String host, String source, String tag) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> insertEnrolmentToken(EnrolmentTokenRecord token) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Optional<EnrolmentTokenRecord>> enrolmentToken(String tokenHash) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Boolean> consumeEnrolmentToken(String tokenHash, Instant at) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> insertCertificate(CertificateRecord certificate) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Integer> revokeCertificates(String host, Instant at) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<List<String>> revokedSerials() {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> insertApiToken(ApiTokenRecord token) {
        if (tokens.putIfAbsent(token.tokenHash(), token) != null) {
            return Future.failedFuture(new IllegalStateException("duplicate token hash"));
        }
        return Future.succeededFuture();
    }

    @Override
    public Future<Optional<ApiTokenRecord>> apiToken(String tokenHash) {
        return Future.succeededFuture(Optional.ofNullable(tokens.get(tokenHash)));
    }

    @Override
    public synchronized Future<Long> appendAudit(AuditRecord e) {
        long seq = audit.size() + 1;
        audit.add(new AuditRecord(seq, e.at(), e.requestId(), e.actor(), e.role(), e.action(), e.object(), e.outcome(), e.detail()));
        return Future.succeededFuture(seq);
    }

    @Override
    public synchronized Future<Page<AuditRecord>> audit(PageRequest page) {
        return page(List.copyOf(audit), page);
    }

    @Override
    public void close() {
    }
}
