package dev.holdfast.agent.link;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.security.cert.X509Certificate;
import java.util.regex.Pattern;

/**
 * An enrolment token as the operator copies it: {@code hfe_<43 base64url characters>.<32 hex digits>}.
 *
 * <p>The part before the dot is the one-time secret (32 random bytes; the controller stores only
 * its SHA-256, bound to one host). The part after it is the first 32 hex digits (128 bits) of the
 * SHA-256 fingerprint of the certificate that anchors the controller's TLS listener (its CA): on
 * first contact the agent trusts a server chain only if it contains a certificate with that
 * fingerprint, and then pins that certificate (like kubeadm's discovery token CA hash). The pin is
 * not secret; the secret part never appears in {@link #toString()}.
 *
 * @param secret the secret part, {@code hfe_} included
 * @param caPin  32 lower-case hex digits
 */
public record EnrolmentToken(String secret, String caPin) {
    public static final String PREFIX = "hfe_";
    public static final int PIN_HEX_DIGITS = 32;
    private static final Pattern FORM = Pattern.compile("hfe_[A-Za-z0-9_-]{43}\\.[0-9a-f]{32}");

    /** The token for a secret and the full hex fingerprint of the CA. */
    public static EnrolmentToken of(String secret, String caFingerprint) {
        return new EnrolmentToken(secret, caFingerprint.substring(0, PIN_HEX_DIGITS));
    }

    /**
     * Parses a token.
     *
     * @throws HoldfastException {@code ENROLMENT_REFUSED} when it is not of the documented form (the message does not quote it)
     */
    public static EnrolmentToken parse(String token) {
        String t = token == null ? "" : token.trim();
        if (!FORM.matcher(t).matches()) {
            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED,
                    "malformed enrolment token: expected hfe_<43 base64url characters>.<32 hex digits>");
        }
        int dot = t.indexOf('.');
        return new EnrolmentToken(t.substring(0, dot), t.substring(dot + 1));
    }

    /** The token as the operator copies it. */
    public String value() {
        return secret + "." + caPin;
    }

    /** Whether {@code certificate}'s SHA-256 fingerprint starts with this token's pin. */
    public boolean pins(X509Certificate certificate) {
        return Pem.fingerprint(certificate).startsWith(caPin);
    }

    @Override
    public String toString() {
        return "EnrolmentToken[caPin=" + caPin + "]";
    }
}
