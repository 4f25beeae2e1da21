package dev.holdfast.controller.audit;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * One link of the audit chain: an HMAC-SHA256 value (32 bytes), shown as 64 lower-case hex digits.
 * Not secret (it is published with every entry), but compared in constant time.
 */
public final class AuditMac {
    public static final int LENGTH = 32;
    /** The value the first entry of a chain is chained to: 32 zero bytes. */
    public static final AuditMac GENESIS = new AuditMac(new byte[LENGTH]);

    private final byte[] bytes;

    private AuditMac(byte[] bytes) {
        this.bytes = bytes;
    }

    public static AuditMac of(byte[] bytes) {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("an audit mac is " + LENGTH + " bytes, not " + bytes.length);
        }
        return new AuditMac(bytes.clone());
    }

    /** Parses 64 hex digits; IllegalArgumentException for anything else. */
    public static AuditMac parse(String hex) {
        if (hex == null || hex.length() != LENGTH * 2 || !hex.matches("[0-9a-f]+")) {
            throw new IllegalArgumentException("an audit mac is 64 lower-case hex digits");
        }
        return new AuditMac(HexFormat.of().parseHex(hex));
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AuditMac m && MessageDigest.isEqual(bytes, m.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return hex();
    }
}
