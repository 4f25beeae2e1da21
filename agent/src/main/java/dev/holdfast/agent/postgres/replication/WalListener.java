package dev.holdfast.agent.postgres.replication;

import dev.holdfast.repository.wal.Lsn;
import io.vertx.core.buffer.Buffer;
import java.time.Instant;

/**
 * Receives a physical replication stream. Both methods run on the connection's event-loop context,
 * in the order of the stream, and must not block; slow consumers apply back-pressure with
 * {@link ReplicationClient#pause()}. An exception thrown by either method ends the stream: the
 * {@code startReplication} future fails with it and the connection is closed.
 */
public interface WalListener {
    /**
     * An XLogData message: WAL bytes {@code [start, start + data.length())}.
     *
     * @param start the WAL position of the first byte of {@code data}
     * @param serverWalEnd the server's current end of WAL
     * @param serverTime the server's clock when it sent the message
     * @param data the WAL bytes: a slice of the received message, never modified afterwards, so it may be retained
     */
    void onData(Lsn start, Lsn serverWalEnd, Instant serverTime, Buffer data);

    /**
     * A primary keepalive message. When {@code replyRequested} the server disconnects after
     * {@code wal_sender_timeout} unless a status update ({@link ReplicationClient#sendStatusUpdate}) is sent soon.
     */
    void onKeepalive(Lsn serverWalEnd, Instant serverTime, boolean replyRequested);
}
