package dev.holdfast.controller.pki;

import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Wraps the real catalog and tells a test when an audit entry with a given action has been
 * appended (handshake refusals are audited asynchronously, after the client has seen the failure).
 * Every call goes to the real catalog unchanged.
 */
final class AuditWatch {
    private final List<AuditRecord> appended = new ArrayList<>();
    private final List<Map.Entry<String, Promise<AuditRecord>>> waiters = new ArrayList<>();

    /** The real catalog, watched. */
    Catalog watch(Catalog real) {
        return (Catalog) Proxy.newProxyInstance(Catalog.class.getClassLoader(), new Class<?>[] {Catalog.class}, (proxy, method, args) -> {
            Object result;
            try {
                result = method.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (method.getName().equals("appendAudit")) {
                AuditRecord entry = (AuditRecord) args[0];
                return ((Future<?>) result).onSuccess(seq -> appended(entry));
            }
            return result;
        });
    }

    /** Completes once an entry with {@code action} was appended (at once if one was already). */
    synchronized Future<AuditRecord> await(String action) {
        for (AuditRecord r : appended) {
            if (r.action().equals(action)) {
                return Future.succeededFuture(r);
            }
        }
        Promise<AuditRecord> p = Promise.promise();
        waiters.add(Map.entry(action, p));
        return p.future();
    }

    private void appended(AuditRecord r) {
        List<Promise<AuditRecord>> ready = new ArrayList<>();
        synchronized (this) {
            appended.add(r);
            waiters.removeIf(w -> {
                if (w.getKey().equals(r.action())) {
                    ready.add(w.getValue());
                    return true;
                }
                return false;
            });
        }
        ready.forEach(p -> p.complete(r));
    }
}
