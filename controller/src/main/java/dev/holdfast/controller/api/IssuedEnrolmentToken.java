package dev.holdfast.controller.api;

import java.time.Instant;
import java.util.Objects;

/** A freshly issued enrolment token: the plain secret (shown once) and its expiry. */
public record IssuedEnrolmentToken(String token, Instant expiresAt) {
    public IssuedEnrolmentToken {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }

    /** Never the token. */
    @Override
    public String toString() {
        return "IssuedEnrolmentToken[token=(not shown), expiresAt=" + expiresAt + "]";
    }
}
