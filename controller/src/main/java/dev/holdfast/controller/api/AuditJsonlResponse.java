package dev.holdfast.controller.api;

import dev.holdfast.controller.audit.AuditExport;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /api/v1/audit?format=jsonl[&after=SEQ]} (analyst): the audit chain as JSON lines with
 * its authenticated trailer (docs/api.md "GET /audit"), for {@code holdfast audit verify --file}.
 */
final class AuditJsonlResponse {
    private AuditJsonlResponse() {
    }

    static void send(RoutingContext ctx, Catalog catalog) {
        long after;
        String a = ctx.request().getParam("after");
        try {
            after = a == null ? 0 : Long.parseLong(a.trim());
            if (after < 0) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            ctx.fail(new HoldfastException(ErrorCode.USAGE, "query parameter 'after' must be a sequence number (0 or more)"));
            return;
        }
        (catalog.auditKey().isEmpty() ? Future.<byte[]>failedFuture(new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH,
                "the catalog has no audit key")) : AuditExport.build(ctx.vertx(), catalog, catalog.auditKey().get(), after))
                .onSuccess(bytes -> ctx.response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, "application/jsonl")
                        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store").end(Buffer.buffer(bytes)))
                .onFailure(ctx::fail);
    }
}
