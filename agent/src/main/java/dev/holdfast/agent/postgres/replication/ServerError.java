package dev.holdfast.agent.postgres.replication;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fields of an ErrorResponse or NoticeResponse, keyed by their one-letter codes ({@code S}
 * severity, {@code V} non-localized severity, {@code C} SQLSTATE, {@code M} message, {@code D}
 * detail, {@code H} hint, ...).
 */
record ServerError(Map<Character, String> fields) {
    /** SQLSTATE invalid_password. */
    static final String INVALID_PASSWORD = "28P01";
    /** SQLSTATE invalid_authorization_specification (no pg_hba.conf entry, role may not log in, ...). */
    static final String INVALID_AUTHORIZATION = "28000";
    /** SQLSTATE duplicate_object (a replication slot that exists already). */
    static final String DUPLICATE_OBJECT = "42710";
    /** SQLSTATE undefined_file (a WAL segment that was removed). */
    static final String UNDEFINED_FILE = "58P01";
    /** SQLSTATE cannot_connect_now (starting up, shutting down, in recovery without hot standby). */
    static final String CANNOT_CONNECT_NOW = "57P03";

    static ServerError parse(Buffer body) {
        Map<Character, String> fields = new LinkedHashMap<>();
        int pos = 0;
        while (pos < body.length()) {
            byte code = body.getByte(pos++);
            if (code == 0) {
                break;
            }
            int end = pos;
            while (end < body.length() && body.getByte(end) != 0) {
                end++;
            }
            fields.put((char) code, body.getString(pos, end, StandardCharsets.UTF_8.name()));
            pos = end + 1;
        }
        return new ServerError(Collections.unmodifiableMap(fields));
    }

    String sqlState() {
        return fields.getOrDefault('C', "XX000");
    }

    String message() {
        return fields.getOrDefault('M', "(no message)");
    }

    String severity() {
        return fields.getOrDefault('V', fields.getOrDefault('S', "ERROR"));
    }

    /** "message (SQLSTATE xxxxx)" plus the detail and hint when the server gave them. */
    String describe() {
        StringBuilder sb = new StringBuilder(message()).append(" (SQLSTATE ").append(sqlState()).append(')');
        String detail = fields.get('D');
        if (detail != null) {
            sb.append("; detail: ").append(detail);
        }
        String hint = fields.get('H');
        if (hint != null) {
            sb.append("; hint: ").append(hint);
        }
        return sb.toString();
    }

    boolean isAuthFailure() {
        return INVALID_PASSWORD.equals(sqlState()) || INVALID_AUTHORIZATION.equals(sqlState());
    }

    /** The exception for this error: authentication failures and unavailability mapped, else {@code code}. */
    HoldfastException toException(String context, ErrorCode code) {
        ErrorCode c = isAuthFailure() ? ErrorCode.SOURCE_AUTH_FAILED
                : CANNOT_CONNECT_NOW.equals(sqlState()) ? ErrorCode.SOURCE_UNAVAILABLE
                : code;
        return new HoldfastException(c, context + ": PostgreSQL " + severity() + ": " + describe());
    }
}
