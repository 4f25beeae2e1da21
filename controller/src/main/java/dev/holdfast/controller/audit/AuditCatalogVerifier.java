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
import java.util.Optional;

/**
 * Verifies the chain as the catalog holds it: every entry after the chain's base, chained from the
 * genesis value, ending exactly at the recorded head (seq and mac). The head row itself carries no
 * mac: someone who rewrites the database can shorten the log and the head together, which is why
 * the chain is also exported into the repository (compare with {@link AuditRepository#verify}).
 */
public final class AuditCatalogVerifier {
    private AuditCatalogVerifier() {
    }

    /**
     * @param verified the chained entries verified
     * @param head     the catalog's recorded head and export position
     * @param entries  the chained entries (for comparing with the repository's exports)
     */
    public record Result(AuditVerifier.Verified verified, AuditHead head, List<AuditEntry> entries) {
    }

    public static Future<Result> verify(Vertx vertx, Catalog catalog, AuditKey key) {
        return catalog.auditHead().compose(h -> {
            if (h.keyId().isPresent() && !h.keyId().get().equals(key.id())) {
                return Future.failedFuture(new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH, "the catalog's audit chain is made with key "
                        + h.keyId().get() + ", the key given is " + key.id()));
            }
            return collect(catalog, h.baseSeq(), new ArrayList<>()).compose(entries -> vertx.executeBlocking(() -> {
                AuditVerifier.Verified v = AuditVerifier.run(key, entries, h.baseSeq() + 1, Optional.of(AuditMac.GENESIS), "catalog");
                if (v.lastSeq() < h.seq()) {
                    throw AuditVerifier.broken("catalog: " + AuditVerifier.truncated(v, h.baseSeq() + 1) + ": the recorded head is seq " + h.seq());
                }
                if (v.lastSeq() > h.seq()) {
                    throw AuditVerifier.broken("catalog: entry seq " + (h.seq() + 1) + " is after the recorded head seq " + h.seq());
                }
                if (!v.lastMac().equals(h.mac())) {
                    throw AuditVerifier.broken("catalog: entry seq " + v.lastSeq() + ": mac differs from the recorded head's (edited)");
                }
                return new Result(v, h, entries);
            }, false));
        });
    }

    private static Future<List<AuditEntry>> collect(Catalog catalog, long after, List<AuditEntry> into) {
        return catalog.auditAfter(after, AuditExport.PAGE).compose(page -> {
            into.addAll(page);
            return page.size() < AuditExport.PAGE ? Future.succeededFuture(into)
                    : collect(catalog, page.get(page.size() - 1).record().seq(), into);
        });
    }
}
