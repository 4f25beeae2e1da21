package dev.holdfast.controller.api;

import io.vertx.core.Future;

/**
 * Revocation of an agent ({@code POST /api/v1/agents/{host}/revoke}), implemented by the enrolment
 * service plus the link: every certificate of the host is revoked (its next TLS handshake fails)
 * and its open link, if any, is ended at once.
 *
 * <p>Contract: fails with {@code not_found} for a host the controller never enrolled; returns how
 * many certificates were revoked (0 when all were already). The API audits the request.
 */
public interface AgentRevoker {
    Future<Integer> revoke(String host, Actor actor, String requestId);
}
