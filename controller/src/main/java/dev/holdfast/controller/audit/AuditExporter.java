package dev.holdfast.controller.audit;

import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.catalog.AuditEntry;
import dev.holdfast.controller.catalog.AuditHead;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.ObjectKey;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * Exports the audit log into the repository (docs/format.md section 15.3): every
 * {@code audit.export_interval} (and once more at stop) the entries after the catalog's recorded
 * export position go into one sealed object {@code audit/log/<key-id>/<first>-<last>.jsonl} (at most
 * {@value #MAX_ENTRIES} entries each, under Object Lock when {@code audit.object_lock} asks), the
 * sealed key copy {@code audit/keys/<key-id>} is written if missing, and then the position moves.
 *
 * <p>Ordering: the object is created before the position is recorded, so a crash in between
 * leaves an object the next run finds existing ({@code object_exists}) and simply records; the
 * chain is append-only, so that object holds exactly the entries the next run would write. Two
 * controllers sharing a catalog may both try; the position moves only from the value each read
 * ({@link Catalog#markAuditExported}). A failed run (store down) is logged as
 * {@code audit_export_failed} and retried at the next interval; nothing is lost, the entries wait
 * in the catalog.
 *
 * <p>Threading: catalog calls are futures on the caller's context; sealing and the store calls run
 * on a worker ({@code executeBlocking}), never on the event loop.
 */
public final class AuditExporter {
    public static final int MAX_ENTRIES = 10_000;
    static final java.time.Duration STOP_WAIT = java.time.Duration.ofSeconds(30);

    private final Vertx vertx;
    private final Catalog catalog;
    private final Callable<Repository> opener;
    private final AuditSettings settings;
    private final Clock clock;
    private final EventLog log;
    private Repository repository;
    private long timer = -1;
    private Future<Integer> current = Future.succeededFuture(0);

    /** @param opener opens the repository (blocking; called on a worker at the first export, the result kept until {@link #stop()}) */
    public AuditExporter(Vertx vertx, Catalog catalog, Callable<Repository> opener, AuditSettings settings, Clock clock, EventLog log) {
        this.vertx = Objects.requireNonNull(vertx);
        this.catalog = Objects.requireNonNull(catalog);
        this.opener = Objects.requireNonNull(opener);
        this.settings = Objects.requireNonNull(settings);
        this.clock = Objects.requireNonNull(clock);
        this.log = Objects.requireNonNull(log);
    }

    /** Starts the periodic export (call on the controller's context). */
    public void start() {
        timer = vertx.setPeriodic(settings.exportInterval().toMillis(), id -> exportNow());
    }

    /**
     * Exports whatever is pending now, after any export still running; completes with the number of
     * entries exported. A failure is logged and also returned.
     */
    public synchronized Future<Integer> exportNow() {
        Future<Integer> next = current.transform(x -> exportPending(0)).onFailure(e -> log.warn("audit_export_failed",
                "code", HoldfastException.find(e) == null ? "internal" : HoldfastException.find(e).code().code(), "msg", e.getMessage()));
        current = next;
        return next;
    }

    private Future<Integer> exportPending(int done) {
        return catalog.auditHead().compose(h -> h.seq() <= h.exportedSeq() ? Future.succeededFuture(0)
                : catalog.auditAfter(h.exportedSeq(), MAX_ENTRIES).compose(entries -> write(h, entries)))
                .compose(n -> n == 0 ? Future.succeededFuture(done) : exportPending(done + n));
    }

    private Future<Integer> write(AuditHead h, List<AuditEntry> entries) {
        if (entries.isEmpty()) {
            return Future.succeededFuture(0);
        }
        AuditKey key = catalog.auditKey().orElse(null);
        if (key == null) {
            return Future.failedFuture(new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH, "the catalog has no audit key"));
        }
        AuditEntry last = entries.get(entries.size() - 1);
        AuditMac lastMac = last.mac().orElse(AuditMac.GENESIS);
        long first = h.exportedSeq() + 1;
        long lastSeq = last.record().seq();
        ObjectKey name = AuditLayout.export(key.id(), first, lastSeq);
        return vertx.executeBlocking(() -> {
            byte[] jsonl = AuditJsonl.export(entries, AuditJsonl.Trailer.of(key, first, lastSeq, h.exportedMac(), lastMac));
            AuditRepository repo = new AuditRepository(repository());
            repo.ensureKeyCopy(key);
            try {
                repo.writeExport(name, jsonl, settings.putOptions(clock.instant()));
            } catch (HoldfastException e) {
                if (e.code() != ErrorCode.OBJECT_EXISTS) {
                    throw e;
                }
                // An earlier run wrote this range and stopped before recording it (see the class comment).
            }
            return null;
        }).compose(v -> catalog.markAuditExported(h.exportedSeq(), lastSeq, lastMac)).map(moved -> {
            if (moved) {
                log.info("audit_exported", "object", name.value(), "entries", entries.size());
            }
            return moved ? entries.size() : 0;
        });
    }

    /** Opens the configured repository with its master key file (blocking). */
    public static Repository openRepository(RepositoryLocation location, Clock clock, java.security.SecureRandom random) {
        KeyFile keys = KeyFile.load(location.keyFile());
        ObjectStore store = location.openStore(clock);
        try {
            return Repository.open(store, keys, clock, random);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    private synchronized Repository repository() throws Exception {
        if (repository == null) {
            repository = opener.call();
        }
        return repository;
    }

    /**
     * Stops the timer, exports what is pending one last time (waiting at most {@link #STOP_WAIT}, so
     * an unreachable store does not hold up shutdown; the entries wait in the catalog for the next
     * start), and closes the repository. Never fails.
     */
    public Future<Void> stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        return exportNow().timeout(STOP_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).otherwiseEmpty().compose(x -> vertx.executeBlocking(() -> {
            synchronized (this) {
                if (repository != null) {
                    repository.close();
                    repository = null;
                }
            }
            return null;
        })).<Void>mapEmpty().otherwiseEmpty();
    }
}
