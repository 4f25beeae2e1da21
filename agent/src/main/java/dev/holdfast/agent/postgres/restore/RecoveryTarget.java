package dev.holdfast.agent.postgres.restore;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where recovery stops, as PostgreSQL's {@code recovery_target*} settings: the end of the WAL
 * available ({@link Kind#LATEST}, no target setting), the moment the backup became consistent
 * ({@code immediate}), a time, an LSN, a transaction id or a named restore point. With a target,
 * {@code action} says what the server does on reaching it ({@code promote}: open read-write, the
 * default; {@code pause}; {@code shutdown}).
 */
public record RecoveryTarget(Kind kind, Optional<String> value, Action action) {
    private static final java.time.format.DateTimeFormatter PG_TIME =
            java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS'+00'").withZone(java.time.ZoneOffset.UTC);

    public enum Kind { LATEST, IMMEDIATE, TIME, LSN, XID, NAME }

    public enum Action {
        PROMOTE, PAUSE, SHUTDOWN;

        public String setting() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Action parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new HoldfastException(ErrorCode.USAGE, "--target-action must be promote, pause or shutdown, not '" + s + "'");
            }
        }
    }

    public RecoveryTarget {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(action, "action");
    }

    public static RecoveryTarget latest() {
        return new RecoveryTarget(Kind.LATEST, Optional.empty(), Action.PROMOTE);
    }

    /** From the command line's mutually exclusive options (null when not given); at most one may be set. */
    public static RecoveryTarget of(String time, String lsn, String xid, String name, boolean immediate, Action action) {
        int set = (time != null ? 1 : 0) + (lsn != null ? 1 : 0) + (xid != null ? 1 : 0) + (name != null ? 1 : 0) + (immediate ? 1 : 0);
        if (set > 1) {
            throw new HoldfastException(ErrorCode.USAGE, "give at most one of --to-time, --to-lsn, --to-xid, --to-name, --immediate");
        }
        if (time != null) {
            try {
                return new RecoveryTarget(Kind.TIME, Optional.of(Instant.parse(time).toString()), action);
            } catch (DateTimeParseException e) {
                throw new HoldfastException(ErrorCode.USAGE, "--to-time '" + time + "' is not an RFC 3339 UTC time such as 2026-11-24T06:00:00Z");
            }
        }
        if (lsn != null) {
            try {
                return new RecoveryTarget(Kind.LSN, Optional.of(Lsn.parse(lsn).toString()), action);
            } catch (RuntimeException e) {
                throw new HoldfastException(ErrorCode.USAGE, "--to-lsn '" + lsn + "' is not an LSN such as 0/3000028");
            }
        }
        if (xid != null) {
            if (!xid.matches("\\d{1,20}")) {
                throw new HoldfastException(ErrorCode.USAGE, "--to-xid '" + xid + "' is not a transaction id");
            }
            return new RecoveryTarget(Kind.XID, Optional.of(xid), action);
        }
        if (name != null) {
            if (name.isEmpty() || name.length() > 63 || name.chars().anyMatch(c -> c < 0x20 || c == '\'' || c == '\\')) {
                throw new HoldfastException(ErrorCode.USAGE, "--to-name must be a restore point name of 1-63 characters without quotes");
            }
            return new RecoveryTarget(Kind.NAME, Optional.of(name), action);
        }
        if (immediate) {
            return new RecoveryTarget(Kind.IMMEDIATE, Optional.empty(), action);
        }
        return new RecoveryTarget(Kind.LATEST, Optional.empty(), action);
    }

    public Optional<Instant> time() {
        return kind == Kind.TIME ? value.map(Instant::parse) : Optional.empty();
    }

    public Optional<Lsn> lsn() {
        return kind == Kind.LSN ? value.map(Lsn::parse) : Optional.empty();
    }

    /** The {@code recovery_target*} settings (none for LATEST: recovery runs to the end of the archive). */
    public Map<String, String> settings() {
        Map<String, String> s = new LinkedHashMap<>();
        switch (kind) {
            case LATEST -> {
                return s;
            }
            case IMMEDIATE -> s.put("recovery_target", "immediate");
            // PostgreSQL's parser takes "2026-11-24 06:00:00.123456+00", not RFC 3339's "T...Z".
            case TIME -> s.put("recovery_target_time", PG_TIME.format(Instant.parse(value.get())));
            case LSN -> s.put("recovery_target_lsn", value.get());
            case XID -> s.put("recovery_target_xid", value.get());
            case NAME -> s.put("recovery_target_name", value.get());
        }
        s.put("recovery_target_action", action.setting());
        return s;
    }

    /** For plans and logs. */
    public String describe() {
        return switch (kind) {
            case LATEST -> "the end of the WAL in the repository";
            case IMMEDIATE -> "the end of the backup (immediate)";
            case TIME -> "time " + value.get();
            case LSN -> "LSN " + value.get();
            case XID -> "transaction " + value.get();
            case NAME -> "restore point '" + value.get() + "'";
        } + (kind == Kind.LATEST ? "" : ", then " + action.setting());
    }
}
