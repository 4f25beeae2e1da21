package dev.holdfast.repository.backup;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;

/** The kind of a base backup: every file ({@code full}) or only files changed since its parent ({@code incr}). */
public enum BackupType {
    FULL("full"),
    INCR("incr");

    private final String token;

    BackupType(String token) {
        this.token = token;
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
        throw new HoldfastException(ErrorCode.USAGE, "invalid backup type '" + token + "': expected full or incr");
    }
}
