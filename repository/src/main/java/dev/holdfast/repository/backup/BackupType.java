package dev.holdfast.repository.backup;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;

/**
 * The kind of a backup: a physical base backup of every file ({@code full}) or of only the files
 * changed since its parent ({@code incr}), or a logical dump ({@code logical}: {@code pg_dump} of
 * each database, {@link LogicalManifest}).
 */
public enum BackupType {
    FULL("full"),
    INCR("incr"),
    LOGICAL("logical");

    private final String token;

    BackupType(String token) {
        this.token = token;
    }

    /** Whether this is a physical base backup (a {@link BackupManifest}); false for a logical dump. */
    public boolean physical() {
        return this != LOGICAL;
    }

    /** The form used in ids, manifests and on the command line. */
    public String token() {
        return token;
    }

    public static BackupType parse(String token) {
        for (BackupType t : values()) {
            if (t.token.equals(token)) {
                return t;
            }
        }
        throw new HoldfastException(ErrorCode.USAGE, "invalid backup type '" + token + "': expected full, incr or logical");
    }
}
