package dev.holdfast.agent.postgres.replication;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.text.Normalizer;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it: no channel binding
 * (GS2 header {@code n,,}), the user name taken from the startup packet (so PostgreSQL is sent an
 * empty {@code n=}).
 *
 * <p>Fails closed: a server nonce that does not extend ours, an unknown mandatory extension, an
 * iteration count below 1, a server error ({@code e=}) or a server signature that does not match
 * all throw {@link ErrorCode#SOURCE_AUTH_FAILED}; {@link #serverVerified()} is true only after
 * {@link #verifyServerFinal} accepted the signature. Messages never contain the password or any
 * derived key. One instance per authentication exchange; not thread-safe.
 */
final class ScramSha256 {
    static final String MECHANISM = "SCRAM-SHA-256";
    private static final String GS2_HEADER = "n,,";

    private final String clientNonce;
    private final String clientFirstBare;
    private byte[] password;
    private byte[] expectedServerSignature;
    private boolean serverVerified;

    /**
     * @param user the SCRAM user name ({@code ""} for PostgreSQL, which uses the startup packet's)
     * @param password the password; prepared with SASLprep where it is valid for it, else used as raw UTF-8, as PostgreSQL does
     * @param clientNonce printable ASCII without commas ({@link #newNonce})
     */
    ScramSha256(String user, String password, String clientNonce) {
        this.clientNonce = clientNonce;
        this.clientFirstBare = "n=" + user.replace("=", "=3D").replace(",", "=2C") + ",r=" + clientNonce;
        this.password = saslPrep(password).getBytes(StandardCharsets.UTF_8);
    }

    /** 18 random bytes in base64, as libpq does. */
    static String newNonce(SecureRandom random) {
        byte[] raw = new byte[18];
        random.nextBytes(raw);
        return Base64.getEncoder().encodeToString(raw);
    }

    /** The client-first-message (with its GS2 header), sent in SASLInitialResponse. */
    String clientFirstMessage() {
        return GS2_HEADER + clientFirstBare;
    }

    /**
     * Answers the server-first-message with the client-final-message (with proof). Costs the
     * server's iteration count in HMACs (4096 by default): call it off the event loop.
     */
    String clientFinalMessage(String serverFirst) {
        String nonce = null;
        String salt = null;
        String iterations = null;
        for (String attr : serverFirst.split(",")) {
            if (attr.length() < 2 || attr.charAt(1) != '=') {
                throw fail("malformed server-first-message");
            }
            String value = attr.substring(2);
            switch (attr.charAt(0)) {
                case 'r' -> nonce = value;
                case 's' -> salt = value;
                case 'i' -> iterations = value;
                case 'm' -> throw fail("server requires an unsupported SCRAM extension");
                case 'e' -> throw fail("server error " + value);
                default -> { /* optional extensions are ignored (RFC 5802 section 5.1) */ }
            }
        }
        if (nonce == null || salt == null || iterations == null) {
            throw fail("server-first-message lacks r, s or i");
        }
        if (!nonce.startsWith(clientNonce) || nonce.length() == clientNonce.length()) {
            throw fail("server nonce does not extend the client nonce");
        }
        int iter;
        byte[] saltBytes;
        try {
            iter = Integer.parseInt(iterations);
            saltBytes = Base64.getDecoder().decode(salt);
        } catch (IllegalArgumentException e) {
            throw fail("malformed salt or iteration count");
        }
        if (iter < 1) {
            throw fail("iteration count " + iter);
        }
        String clientFinalWithoutProof = "c=" + Base64.getEncoder().encodeToString(GS2_HEADER.getBytes(StandardCharsets.US_ASCII))
                + ",r=" + nonce;
        byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof).getBytes(StandardCharsets.UTF_8);
        byte[] salted = hi(password, saltBytes, iter);
        java.util.Arrays.fill(password, (byte) 0);
        password = null;
        byte[] clientKey = hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
        byte[] storedKey = sha256(clientKey);
        byte[] clientSignature = hmac(storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) {
            proof[i] = (byte) (clientKey[i] ^ clientSignature[i]);
        }
        byte[] serverKey = hmac(salted, "Server Key".getBytes(StandardCharsets.US_ASCII));
        expectedServerSignature = hmac(serverKey, authMessage);
        java.util.Arrays.fill(salted, (byte) 0);
        return clientFinalWithoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    }

    /** Checks the server-final-message; throws {@link ErrorCode#SOURCE_AUTH_FAILED} unless its signature is right. */
    void verifyServerFinal(String serverFinal) {
        if (expectedServerSignature == null) {
            throw fail("server-final-message before client-final-message");
        }
        if (serverFinal.startsWith("e=")) {
            throw fail("server error " + serverFinal.substring(2));
        }
        if (!serverFinal.startsWith("v=")) {
            throw fail("malformed server-final-message");
        }
        int comma = serverFinal.indexOf(',');
        String sig = comma < 0 ? serverFinal.substring(2) : serverFinal.substring(2, comma);
        byte[] got;
        try {
            got = Base64.getDecoder().decode(sig);
        } catch (IllegalArgumentException e) {
            throw fail("malformed server signature");
        }
        if (!MessageDigest.isEqual(got, expectedServerSignature)) {
            throw fail("the server's signature is wrong: it does not know the password (possible impostor)");
        }
        serverVerified = true;
    }

    boolean serverVerified() {
        return serverVerified;
    }

    private static HoldfastException fail(String what) {
        return new HoldfastException(ErrorCode.SOURCE_AUTH_FAILED, "SCRAM-SHA-256 authentication failed: " + what);
    }

    /** PBKDF2-HMAC-SHA-256 with one output block: RFC 5802's Hi(). */
    static byte[] hi(byte[] password, byte[] salt, int iterations) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            // SecretKeySpec refuses an empty key; HMAC pads keys with zeros, so one zero byte is the same key.
            mac.init(new SecretKeySpec(password.length == 0 ? new byte[1] : password, "HmacSHA256"));
            mac.update(salt);
            mac.update(new byte[] {0, 0, 0, 1});
            byte[] u = mac.doFinal();
            byte[] result = u.clone();
            for (int i = 1; i < iterations; i++) {
                u = mac.doFinal(u);
                for (int j = 0; j < result.length; j++) {
                    result[j] ^= u[j];
                }
            }
            return result;
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.INTERNAL, "HmacSHA256 unavailable", e);
        }
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.INTERNAL, "HmacSHA256 unavailable", e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.INTERNAL, "SHA-256 unavailable", e);
        }
    }

    /**
     * SASLprep (RFC 4013) as PostgreSQL applies it to passwords: pure ASCII is used as is; otherwise
     * non-ASCII spaces map to U+0020, "commonly mapped to nothing" characters are dropped and NFKC
     * is applied; if the result holds a prohibited character (controls, private use, surrogates,
     * non-characters) the original string is used unchanged, as PostgreSQL does. (The bidi rules
     * and the unassigned-code-point check are not applied: such passwords are rare, and PostgreSQL
     * then falls back to the raw bytes too.)
     */
    static String saslPrep(String s) {
        boolean ascii = true;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return s;
        }
        StringBuilder mapped = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> {
            if (mapsToNothing(cp)) {
                return;
            }
            mapped.appendCodePoint(Character.isSpaceChar(cp) && cp != ' ' ? ' ' : cp);
        });
        String normalized = Normalizer.normalize(mapped, Normalizer.Form.NFKC);
        boolean prohibited = normalized.codePoints().anyMatch(cp -> Character.isISOControl(cp)
                || Character.getType(cp) == Character.PRIVATE_USE || Character.getType(cp) == Character.SURROGATE
                || (cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp >= 0x2FF0 && cp <= 0x2FFB)
                || (cp >= 0x200E && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x206A && cp <= 0x206F)
                || cp == 0xFFF9 || cp == 0xFFFA || cp == 0xFFFB || cp == 0xFFFC || cp == 0xFFFD || cp == 0xE0001
                || (cp >= 0xE0020 && cp <= 0xE007F));
        return prohibited ? s : normalized;
    }

    private static boolean mapsToNothing(int cp) {
        return cp == 0x00AD || cp == 0x034F || cp == 0x1806 || (cp >= 0x180B && cp <= 0x180D) || (cp >= 0x200B && cp <= 0x200D)
                || cp == 0x2060 || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF;
    }
}
