package dev.holdfast.protocol;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What controller and agent agree on about restore grants (docs/protocol.md "Restore grants"):
 * the bytes a signature covers, and the textual form a target path must have.
 */
public final class Grants {
    /** Domain separation: the CA key also signs certificates; a grant signature can never be taken for one. */
    private static final byte[] CONTEXT = "holdfast-restore-grant-v1\0".getBytes(StandardCharsets.US_ASCII);
    /** How far controller and agent clocks may disagree: the agent accepts a grant until expiry plus this, the controller expires it after that. */
    public static final java.time.Duration CLOCK_SKEW = java.time.Duration.ofSeconds(60);
    /** ECDSA over P-256 with SHA-256, DER-encoded signature (JCA name). */
    public static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

    private Grants() {
    }

    /** {@code "holdfast-restore-grant-v1" || 0x00 || payload}: what a grant's signature covers. */
    public static byte[] signedBytes(byte[] payload) {
        byte[] out = new byte[CONTEXT.length + payload.length];
        System.arraycopy(CONTEXT, 0, out, 0, CONTEXT.length);
        System.arraycopy(payload, 0, out, CONTEXT.length, payload.length);
        return out;
    }

    /**
     * Why {@code t} is not acceptable as a restore target's text, if it is not: it must be absolute,
     * in normal form, without a {@code .} or {@code ..} segment, an empty segment, a trailing slash,
     * {@code %} (percent-encoding), a backslash or a control character. Symbolic links and the
     * allowlist are judged on the filesystem, by the agent.
     */
    public static Optional<String> targetPathProblem(String t) {
        if (t.isEmpty() || !t.startsWith("/")) {
            return Optional.of("it is not absolute");
        }
        if (t.length() > 4096) {
            return Optional.of("it is longer than 4096 characters");
        }
        if (t.length() > 1 && t.endsWith("/")) {
            return Optional.of("it ends with '/'");
        }
        if (t.contains("//")) {
            return Optional.of("it has an empty segment");
        }
        if (t.indexOf('%') >= 0 || t.indexOf('\\') >= 0) {
            return Optional.of("it contains '%' or '\\' (encoded or foreign path syntax)");
        }
        if (t.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            return Optional.of("it contains a control character");
        }
        for (String seg : t.substring(1).split("/", -1)) {
            if (seg.equals(".") || seg.equals("..")) {
                return Optional.of("it contains a '" + seg + "' segment");
            }
        }
        if (!Path.of(t).normalize().toString().equals(t)) {
            return Optional.of("it is not in normal form");
        }
        return Optional.empty();
    }
}
