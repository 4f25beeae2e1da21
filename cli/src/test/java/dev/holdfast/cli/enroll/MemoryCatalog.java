package dev.holdfast.cli.enroll;

import dev.holdfast.controller.catalog.AgentRecord;
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
import dev.holdfast.controller.catalog.ApiTokenRecord;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A test double of the catalog (until the real one lands): only what enrolment uses, in memory,
 * synchronized. {@link #awaitAudit} completes when an entry with that action is appended.
 */
final class MemoryCatalog implements Catalog {
    private final Map<String, AgentRecord> agents = new LinkedHashMap<>();
    private final Map<String, EnrolmentTokenRecord> tokens = new LinkedHashMap<>();
    private final Map<String, CertificateRecord> certificates = new LinkedHashMap<>();
    private final List<AuditRecord> audit = new ArrayList<>();
    private final List<Map.Entry<String, Promise<AuditRecord>>> waiters = new ArrayList<>();

    synchronized List<AuditRecord> auditEntries() {
        return List.copyOf(audit);
    }

    synchronized Future<AuditRecord> awaitAudit(String action) {
        for (AuditRecord r : audit) {
            if (r.action().equals(action)) {
                return Future.succeededFuture(r);
            }
        }
        Promise<AuditRecord> p = Promise.promise();
        waiters.add(Map.entry(action, p));
        return p.future();
    }

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
    public synchronized Future<Void> insertEnrolmentToken(EnrolmentTokenRecord token) {
        tokens.put(token.tokenHash(), token);
        return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Optional<EnrolmentTokenRecord>> enrolmentToken(String tokenHash) {
        return Future.succeededFuture(Optional.ofNullable(tokens.get(tokenHash)));
    }

    @Override
    public synchronized Future<Boolean> consumeEnrolmentToken(String tokenHash, Instant at) {
        EnrolmentTokenRecord t = tokens.get(tokenHash);
        if (t == null || t.usedAt().isPresent()) {
            return Future.succeededFuture(false);
        }
        tokens.put(tokenHash, new EnrolmentTokenRecord(t.tokenHash(), t.host(), t.createdAt(), t.expiresAt(), t.createdBy(), Optional.of(at)));
        return Future.succeededFuture(true);
    }

    @Override
    public synchronized Future<Void> insertCertificate(CertificateRecord certificate) {
        certificates.put(certificate.serial(), certificate);
        return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Integer> revokeCertificates(String host, Instant at) {
        int n = 0;
        for (var e : certificates.entrySet()) {
            CertificateRecord c = e.getValue();
            if (c.host().equals(host) && c.revokedAt().isEmpty()) {
                e.setValue(new CertificateRecord(c.serial(), c.host(), c.notBefore(), c.notAfter(), Optional.of(at)));
                n++;
            }
        }
        return Future.succeededFuture(n);
    }

    @Override
    public synchronized Future<List<String>> revokedSerials() {
        return Future.succeededFuture(certificates.values().stream().filter(c -> c.revokedAt().isPresent()).map(CertificateRecord::serial).toList());
    }

    @Override
    public Future<Long> appendAudit(AuditRecord entry) {
        List<Promise<AuditRecord>> ready = new ArrayList<>();
        AuditRecord r;
        synchronized (this) {
            r = new AuditRecord(audit.size() + 1, entry.at(), entry.requestId(), entry.actor(), entry.role(), entry.action(), entry.object(),
                    entry.outcome(), entry.detail());
            audit.add(r);
            waiters.removeIf(w -> {
                if (w.getKey().equals(entry.action())) {
                    ready.add(w.getValue());
                    return true;
                }
                return false;
            });
        }
        ready.forEach(p -> p.complete(r));
        return Future.succeededFuture(r.seq());
    }

    // ---- not used by enrolment ----

    @Override
    public Future<Void> agentSeen(String host, boolean connected, Instant at) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<AgentRecord>> agents(PageRequest page) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> replaceSources(String host, List<SourceRecord> sources) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> sourceState(String host, String source, SourceLiveState state) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<SourceRecord>> sources(PageRequest page) {
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
    public Future<Void> insertJob(JobRecord job) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Void> updateJob(JobRecord job) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Optional<JobRecord>> job(String id) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<List<JobRecord>> openJobs(String host) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<JobRecord>> jobs(PageRequest page) {
        throw new UnsupportedOperationException();
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
    public Future<Void> insertApiToken(ApiTokenRecord token) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Optional<ApiTokenRecord>> apiToken(String tokenHash) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<Page<AuditRecord>> audit(PageRequest page) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
    }
}
