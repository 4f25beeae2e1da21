package dev.holdfast.controller.api;

import io.vertx.core.Future;

/**
 * Enrolment tokens ({@code POST /api/v1/enrolment-tokens}), implemented by the enrolment service.
 *
 * <p>Contract: issues a one-time token bound to {@code host}, stores only its hash, and returns the
 * plain token once. The API has already checked the host name's shape and that the caller is an
 * admin, and audits the outcome itself.
 */
public interface EnrolmentTokenIssuer {
    Future<IssuedEnrolmentToken> issue(String host, Actor actor, String requestId);
}
