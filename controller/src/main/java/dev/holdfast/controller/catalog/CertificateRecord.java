package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.Optional;

/**
 * A client certificate the controller's CA issued. @param serial lower-case hex @param host
 * @param notBefore @param notAfter @param revokedAt when revoked
 */
public record CertificateRecord(String serial, String host, Instant notBefore, Instant notAfter, Optional<Instant> revokedAt) {
}
