package dev.holdfast.controller.catalog;

import java.time.Instant;

/**
 * One audit entry. @param seq assigned by the catalog (0 before appending) @param at @param requestId
 * @param actor who (token name, agent host, "scheduler") @param role admin | service | analyst | agent | system
 * @param action e.g. "enrolment.refused", "backup.request" @param object what it acted on
 * @param outcome ok | refused | failed @param detail human text, no secrets
 */
public record AuditRecord(long seq, Instant at, String requestId, String actor, String role, String action, String object,
                          String outcome, String detail) {
}
