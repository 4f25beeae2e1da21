package dev.holdfast.controller.catalog;

import java.time.Instant;

/**
 * An API bearer token, stored by its SHA-256 (never in plain). @param tokenHash hex SHA-256
 * @param role admin | service | analyst @param name a label for humans @param createdAt @param createdBy
 */
public record ApiTokenRecord(String tokenHash, String role, String name, Instant createdAt, String createdBy) {
}
