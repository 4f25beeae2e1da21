package dev.holdfast.controller.schedule;

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

/**
 * A stand-in for the catalog until R2dbcCatalog lands: only what the scheduler uses, with the
 * same claim semantics (a unique key), thread-safe. Pages of sources are one item each so the
 * scheduler's paging is exercised.
 */
final class InMemoryCatalog implements Catalog {
    private final Map<String, AgentRecord> agents = new TreeMap<>();
    private final Map<String, SourceRecord> sources = new TreeMap<>();
    private final Map<String, JobRecord> jobs = new TreeMap<>();
    private final Map<String, String> claims = new TreeMap<>();
    private final List<AuditRecord> audit = new ArrayList<>();

    @Override
    public synchronized Future<Void> upsertAgent(AgentRecord agent) {
        agents.put(agent.host(), agent);
        return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Optional<AgentRecord>> agent(String host) {
        return Future.succeededFuture(Optional.ofNullable(agents.get(host)));
    }

    @Override
    public synchronized Future<Void> replaceSources(String host, List<SourceRecord> list) {
        sources.keySet().removeIf(k -> k.startsWith(host + "/"));
        list.forEach(s -> sources.put(host + "/" + s.name(), s));
        return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Page<SourceRecord>> sources(PageRequest page) {
        List<SourceRecord> all = new ArrayList<>(sources.values());
        int from = page.cursor().map(Integer::parseInt).orElse(0);
        if (from >= all.size()) {
            return Future.succeededFuture(new Page<>(List.of(), Optional.empty()));
        }
        Optional<String> next = from + 1 < all.size() ? Optional.of(Integer.toString(from + 1)) : Optional.empty();
        return Future.succeededFuture(new Page<>(List.of(all.get(from)), next));
    }

    @Override
    public synchronized Future<Void> insertJob(JobRecord job) {
        if (jobs.putIfAbsent(job.id(), job) != null) {
            return Future.failedFuture("duplicate job id " + job.id());
        }
        return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Void> updateJob(JobRecord job) {
        if (jobs.replace(job.id(), job) == null) {
            return Future.failedFuture("no job " + job.id());
        }
        return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Optional<JobRecord>> job(String id) {
        return Future.succeededFuture(Optional.ofNullable(jobs.get(id)));
    }

    @Override
    public synchronized Future<List<JobRecord>> openJobs(String host) {
        return Future.succeededFuture(jobs.values().stream().filter(j -> j.host().equals(host) && !j.state().finished())
                .sorted(Comparator.comparing(JobRecord::createdAt)).toList());
    }

    @Override
    public synchronized Future<Page<JobRecord>> jobs(PageRequest page) {
        return Future.succeededFuture(new Page<>(jobs.values().stream().sorted(Comparator.comparing(JobRecord::createdAt).reversed())
                .toList(), Optional.empty()));
    }

    @Override
    public synchronized Future<Boolean> claimScheduledRun(String host, String source, String tag, Instant scheduledFor, String jobId) {
        return Future.succeededFuture(claims.putIfAbsent(key(host, source, tag) + "\0" + scheduledFor.toEpochMilli(), jobId) == null);
    }

    @Override
    public synchronized Future<Optional<Instant>> lastScheduledRun(String host, String source, String tag) {
        String prefix = key(host, source, tag) + "\0";
        return Future.succeededFuture(claims.keySet().stream().filter(k -> k.startsWith(prefix))
                .map(k -> Instant.ofEpochMilli(Long.parseLong(k.substring(prefix.length())))).max(Comparator.naturalOrder()));
    }

    private static String key(String host, String source, String tag) {
        return host + "\0" + source + "\0" + tag;
    }

    @Override
    public synchronized Future<Long> appendAudit(AuditRecord entry) {
        long seq = audit.size() + 1;
        audit.add(new AuditRecord(seq, entry.at(), entry.requestId(), entry.actor(), entry.role(), entry.action(), entry.object(),
                entry.outcome(), entry.detail()));
        return Future.succeededFuture(seq);
    }

    @Override
    public synchronized Future<Page<AuditRecord>> audit(PageRequest page) {
        return Future.succeededFuture(new Page<>(audit, Optional.empty()));
    }

    @Override
    public void close() {
    }

    // ---- not used by the scheduler ----

    @Override
    public Future<Void> agentSeen(String host, boolean connected, Instant at) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<AgentRecord>> agents(PageRequest page) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> sourceState(String host, String source, SourceLiveState state) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> upsertBackup(BackupRecord backup) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<BackupRecord>> backups(Optional<String> source, PageRequest page) {
        throw new UnsupportedOperationException();
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
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Optional<ApiTokenRecord>> apiToken(String tokenHash) {
        throw new UnsupportedOperationException();
    }
}
