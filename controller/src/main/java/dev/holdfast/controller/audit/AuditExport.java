package dev.holdfast.controller.audit;

import dev.holdfast.controller.catalog.AuditEntry;
import dev.holdfast.controller.catalog.AuditHead;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;

/**
 * The plain export an operator hands to an auditor ({@code GET /api/v1/audit?format=jsonl},
 * {@code holdfast audit export}): the chained entries from the catalog after {@code afterSeq} (the
 * whole chain by default) up to the head read first, as {@link AuditJsonl} lines with a trailer made
 * with the audit key. Entries that predate the chain (no mac) are not part of it.
 */
public final class AuditExport {
    static final int PAGE = 10_000;

    private AuditExport() {
    }

    /**
     * The export's bytes. @param afterSeq export entries after this one; at or below the chain's
     * base: from the chain's first entry. Fails with {@code usage} for an {@code afterSeq} beyond the head.
     */
    public static Future<byte[]> build(Vertx vertx, Catalog catalog, AuditKey key, long afterSeq) {
        return catalog.auditHead().compose(h -> {
            long after = Math.max(afterSeq, h.baseSeq());
            if (after > h.seq()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.USAGE, "after=" + afterSeq + " is beyond the audit log's head, seq "
                        + h.seq()));
            }
            Future<AuditMac> prev = after == h.baseSeq() ? Future.succeededFuture(AuditMac.GENESIS)
                    : catalog.auditAfter(after - 1, 1).map(l -> l.isEmpty() || l.get(0).record().seq() != after || l.get(0).mac().isEmpty()
                    ? AuditMac.GENESIS : l.get(0).mac().get());
            // Encoding and the trailer's HMAC run on a worker: a long log is real CPU work.
            return prev.compose(p -> collect(catalog, after, h, new ArrayList<>()).compose(entries -> vertx.executeBlocking(() -> {
                AuditMac last = entries.isEmpty() ? p : entries.get(entries.size() - 1).mac().orElse(AuditMac.GENESIS);
                long lastSeq = entries.isEmpty() ? after : entries.get(entries.size() - 1).record().seq();
                return AuditJsonl.export(entries, AuditJsonl.Trailer.of(key, after + 1, lastSeq, p, last));
            }, false)));
        });
    }

    /** Entries after {@code after} up to the head {@code h} (entries appended meanwhile are left for the next export). */
    private static Future<List<AuditEntry>> collect(Catalog catalog, long after, AuditHead h, List<AuditEntry> into) {
        if (after >= h.seq()) {
            return Future.succeededFuture(into);
        }
        return catalog.auditAfter(after, PAGE).compose(page -> {
            long last = after;
            for (AuditEntry e : page) {
                if (e.record().seq() > h.seq()) {
                    return Future.succeededFuture(into);
                }
                into.add(e);
                last = e.record().seq();
            }
            return page.size() < PAGE ? Future.succeededFuture(into) : collect(catalog, last, h, into);
        });
    }
}
