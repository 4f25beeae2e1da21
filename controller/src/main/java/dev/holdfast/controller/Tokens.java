package dev.holdfast.controller;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Bearer and enrolment token secrets: 32 random bytes, base64url without padding, behind a
 * readable prefix ({@code hfa_} API, {@code hfe_} enrolment). Only their SHA-256 is ever stored;
 * the plain token is shown once, to whoever asked for it.
 */
public final class Tokens {
    private Tokens() {
    }

    /** A new token secret: {@code prefix} + 43 base64url characters. */
    public static String newToken(String prefix, SecureRandom random) {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Lower-case hex SHA-256 of the token's UTF-8 bytes: the form stored in the catalog. */
    public static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
