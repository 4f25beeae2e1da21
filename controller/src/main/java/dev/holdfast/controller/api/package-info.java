/**
 * The controller's HTTP API under {@code /api/v1} and {@code GET /metrics} (docs/api.md): bearer
 * tokens looked up by their SHA-256 in the catalog, three roles with fixed rights, JSON error bodies
 * with the stable codes of {@link dev.holdfast.error.ErrorCode}, cursor pagination on every list, a
 * request id on every exchange and an audit entry for every mutation, allowed or refused.
 *
 * <p>{@link dev.holdfast.controller.api.ApiRouter#ROUTES} is the one list of endpoints: the router is
 * built from it and the RBAC matrix test enumerates it, so an endpoint cannot be added without its
 * right being stated and tested. What lives elsewhere (the job service, the enrolment CA) is reached
 * through the small interfaces {@link dev.holdfast.controller.api.BackupRequests} and
 * {@link dev.holdfast.controller.api.EnrolmentTokenIssuer}.
 */
package dev.holdfast.controller.api;
