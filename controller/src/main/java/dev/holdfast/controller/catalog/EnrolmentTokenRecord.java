package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.Optional;

/**
 * A one-time enrolment token, stored by its SHA-256 (never in plain).
 *
 * @param tokenHash hex SHA-256 of the token's secret @param host the host it is bound to
 * @param createdAt @param expiresAt @param createdBy the admin who issued it @param usedAt when consumed
 */
public record EnrolmentTokenRecord(String tokenHash, String host, Instant createdAt, Instant expiresAt, String createdBy,
                                   Optional<Instant> usedAt) {
}
