package dev.holdfast.agent.postgres.replication;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;

/**
 * Cuts the backend's byte stream into protocol v3 messages: a type byte, an int32 length that
 * counts itself, then {@code length - 4} bytes of body.
 *
 * <p>Allocation: a message that lies wholly inside one received chunk is handed on as a slice of
 * that chunk, without copying; only a message split across chunks is assembled, into one buffer of
 * exactly its size. The body passed to {@link Sink#onMessage} is never written to again, so a
 * consumer may retain it (or slices of it).
 *
 * <p>While {@link #pause() paused} no message is delivered; chunks that arrive meanwhile are queued
 * and delivered in order on {@link #resume()}. Not thread-safe: one event-loop context drives it.
 */
final class MessageFramer {
    /** Larger than any message the replication protocol sends (XLogData is at most a few hundred KiB). */
    static final int MAX_MESSAGE_LENGTH = 1 << 30;
    private static final int HEADER = 5;

    /** Receives each complete message. */
    interface Sink {
        void onMessage(byte type, Buffer body);
    }

    private final Sink sink;
    private final ArrayDeque<Buffer> chunks = new ArrayDeque<>();
    private int headPos;
    private Buffer assembling;
    private int assemblingLength = -1;
    private boolean paused;
    private boolean draining;

    MessageFramer(Sink sink) {
        this.sink = sink;
    }

    /** Feeds bytes as received; delivers every message they complete unless paused. */
    void handle(Buffer chunk) {
        if (chunk.length() > 0) {
            chunks.add(chunk);
            drain();
        }
    }

    void pause() {
        paused = true;
    }

    void resume() {
        paused = false;
        drain();
    }

    boolean paused() {
        return paused;
    }

    /** Bytes received but not yet delivered as messages. */
    long buffered() {
        long n = assembling == null ? 0 : assembling.length();
        boolean first = true;
        for (Buffer b : chunks) {
            n += first ? b.length() - headPos : b.length();
            first = false;
        }
        return n;
    }

    private void drain() {
        if (draining) {
            return; // re-entered from a sink callback (resume() inside onMessage): the outer loop continues
        }
        draining = true;
        try {
            while (!paused) {
                Buffer head = chunks.peek();
                if (head == null) {
                    return;
                }
                int avail = head.length() - headPos;
                if (assembling == null) {
                    if (avail >= HEADER) {
                        int total = 1 + checkedLength(head.getInt(headPos + 1), head.getByte(headPos));
                        if (avail >= total) {
                            Buffer body = head.slice(headPos + HEADER, headPos + total);
                            byte type = head.getByte(headPos);
                            advance(total, head);
                            sink.onMessage(type, body);
                            continue;
                        }
                        assemblingLength = total;
                        assembling = Buffer.buffer(total);
                    } else {
                        assemblingLength = -1;
                        assembling = Buffer.buffer(HEADER);
                    }
                    assembling.appendBuffer(head, headPos, avail);
                    advance(avail, head);
                    continue;
                }
                int want = (assemblingLength < 0 ? HEADER : assemblingLength) - assembling.length();
                int take = Math.min(want, avail);
                assembling.appendBuffer(head, headPos, take);
                advance(take, head);
                if (assemblingLength < 0 && assembling.length() == HEADER) {
                    int total = 1 + checkedLength(assembling.getInt(1), assembling.getByte(0));
                    Buffer grown = Buffer.buffer(total);
                    grown.appendBuffer(assembling);
                    assembling = grown;
                    assemblingLength = total;
                }
                if (assemblingLength >= 0 && assembling.length() == assemblingLength) {
                    Buffer whole = assembling;
                    assembling = null;
                    assemblingLength = -1;
                    sink.onMessage(whole.getByte(0), whole.slice(HEADER, whole.length()));
                }
            }
        } finally {
            draining = false;
        }
    }

    private void advance(int n, Buffer head) {
        headPos += n;
        if (headPos == head.length()) {
            chunks.poll();
            headPos = 0;
        }
    }

    private static int checkedLength(int length, byte type) {
        if (length < 4 || length > MAX_MESSAGE_LENGTH) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR,
                    "protocol error: message type '" + (char) type + "' with invalid length " + length);
        }
        return length; // counts itself, not the type byte
    }
}
