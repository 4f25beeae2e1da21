package dev.holdfast.controller.api;

import io.vertx.core.http.HttpMethod;
import java.util.Objects;
import java.util.Optional;

/**
 * One endpoint: its method, its path (Vert.x Web form, {@code :name} for a path parameter), the
 * right it needs, and for a mutation the audit action its entries carry.
 *
 * @param implemented false for the endpoints that answer {@code not_implemented} (501) until the
 *                    retention/restore-authorization work lands; they are authenticated, authorised
 *                    and audited like the others
 */
public record ApiRoute(HttpMethod method, String path, Right right, Optional<String> auditAction, boolean implemented) {
    public ApiRoute {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(right, "right");
        Objects.requireNonNull(auditAction, "auditAction");
    }

    static ApiRoute read(String path) {
        return new ApiRoute(HttpMethod.GET, path, Right.READ, Optional.empty(), true);
    }

    static ApiRoute readLater(String path) {
        return new ApiRoute(HttpMethod.GET, path, Right.READ, Optional.empty(), false);
    }

    static ApiRoute mutate(HttpMethod method, String path, Right right, String action) {
        return new ApiRoute(method, path, right, Optional.of(action), true);
    }

    static ApiRoute mutateLater(HttpMethod method, String path, Right right, String action) {
        return new ApiRoute(method, path, right, Optional.of(action), false);
    }

    /** {@code GET /api/v1/agents}. */
    public String label() {
        return method.name() + " " + path;
    }
}
