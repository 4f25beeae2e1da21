package dev.holdfast.agent.postgres.replication;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Encoders for the frontend messages this client sends (protocol v3), and the epoch conversion of
 * the replication protocol's timestamps.
 */
final class PgMessages {
    static final int PROTOCOL_3_0 = 196608;
    /** 2000-01-01T00:00:00Z in seconds since the Unix epoch: PostgreSQL's timestamp epoch. */
    static final long PG_EPOCH_SECONDS = 946_684_800L;

    private PgMessages() {
    }

    /** StartupMessage: no type byte, length, protocol 3.0, name/value pairs, a final NUL. */
    static Buffer startup(Map<String, String> params) {
        Buffer b = Buffer.buffer(128).appendInt(0).appendInt(PROTOCOL_3_0);
        params.forEach((k, v) -> {
            cstring(b, k);
            cstring(b, v);
        });
        b.appendByte((byte) 0);
        b.setInt(0, b.length());
        return b;
    }

    /** PasswordMessage with a cleartext or md5 password (not logged anywhere). */
    static Buffer password(String password) {
        return message('p', cstring(Buffer.buffer(), password));
    }

    static Buffer saslInitialResponse(String mechanism, byte[] data) {
        Buffer body = cstring(Buffer.buffer(), mechanism).appendInt(data.length).appendBytes(data);
        return message('p', body);
    }

    static Buffer saslResponse(byte[] data) {
        return message('p', Buffer.buffer(data));
    }

    static Buffer query(String sql) {
        return message('Q', cstring(Buffer.buffer(sql.length() + 1), sql));
    }

    static Buffer copyDone() {
        return message('c', Buffer.buffer(0));
    }

    static Buffer terminate() {
        return message('X', Buffer.buffer(0));
    }

    /** CopyData holding a standby status update ('r'). */
    static Buffer standbyStatusUpdate(long written, long flushed, long applied, long pgMicros, boolean replyRequested) {
        Buffer b = Buffer.buffer(1 + 4 + 34)
                .appendByte((byte) 'd').appendInt(4 + 34)
                .appendByte((byte) 'r')
                .appendLong(written).appendLong(flushed).appendLong(applied).appendLong(pgMicros)
                .appendByte((byte) (replyRequested ? 1 : 0));
        return b;
    }

    /** Microseconds since 2000-01-01 to an Instant. */
    static java.time.Instant fromPgMicros(long micros) {
        long secs = Math.floorDiv(micros, 1_000_000L);
        long nanos = Math.floorMod(micros, 1_000_000L) * 1000L;
        return java.time.Instant.ofEpochSecond(PG_EPOCH_SECONDS + secs, nanos);
    }

    /** An Instant to microseconds since 2000-01-01. */
    static long toPgMicros(java.time.Instant t) {
        return (t.getEpochSecond() - PG_EPOCH_SECONDS) * 1_000_000L + t.getNano() / 1000;
    }

    private static Buffer message(char type, Buffer body) {
        return Buffer.buffer(5 + body.length()).appendByte((byte) type).appendInt(4 + body.length()).appendBuffer(body);
    }

    private static Buffer cstring(Buffer b, String s) {
        return b.appendBytes(s.getBytes(StandardCharsets.UTF_8)).appendByte((byte) 0);
    }
}
