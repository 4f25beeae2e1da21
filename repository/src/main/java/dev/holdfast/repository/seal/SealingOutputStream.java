package dev.holdfast.repository.seal;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Seals a plaintext written to it into a sealed object written to {@code sink}: header, data
 * segments, footer (docs/format.md section 6). Synchronous and single-threaded: for CLI plumbing,
 * tests and small objects. The agent's pipeline does the same with segments sealed in parallel on
 * worker threads.
 *
 * <p>Holds one segment of plaintext. Closing writes the footer and closes the sink; until then the
 * sink has an object without a footer, which every reader rejects as truncated. After any failure
 * every further call fails.
 */
public final class SealingOutputStream extends OutputStream {
    private final OutputStream sink;
    private final SegmentCodec codec;
    private final PlaintextDigest digest;
    private final ByteBuffer buffer;
    /** The framed segment being emitted: one buffer for all segments (the sink copies what it keeps). */
    private final byte[] frame;
    private long segments;
    private long stored;
    private Footer footer;
    private boolean failed;

    /** Writes the header at once; whether SHA-256 is recorded is the header's flag. */
    public SealingOutputStream(OutputStream sink, SegmentCodec codec) throws IOException {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.codec = Objects.requireNonNull(codec, "codec");
        this.digest = new PlaintextDigest(codec.header().sha256());
        this.buffer = ByteBuffer.allocate(codec.header().segmentSize());
        this.frame = new byte[codec.maxFramedLength()];
        byte[] header = codec.header().encode();
        sink.write(header);
        stored = header.length;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        check();
        while (len > 0) {
            int n = Math.min(len, buffer.remaining());
            buffer.put(b, off, n);
            off += n;
            len -= n;
            if (!buffer.hasRemaining()) {
                flushSegment();
            }
        }
    }

    private void flushSegment() throws IOException {
        buffer.flip();
        try {
            digest.update(buffer);
            emit(codec.sealData(segments++, buffer, frame));
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
        buffer.clear();
    }

    private void emit(ByteBuffer framed) throws IOException {
        stored += framed.remaining();
        sink.write(framed.array(), framed.arrayOffset() + framed.position(), framed.remaining());
    }

    /** Writes the last data segment and the footer, then closes the sink. */
    @Override
    public void close() throws IOException {
        if (footer != null) {
            return;
        }
        check();
        if (buffer.position() > 0) {
            flushSegment();
        }
        Footer f = digest.footer(segments);
        try {
            emit(codec.sealFooter(f));
            sink.close();
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
        footer = f;
    }

    /** The footer written at close: plaintext length and checksums. */
    public Footer footer() {
        if (footer == null) {
            throw new IllegalStateException("not closed yet");
        }
        return footer;
    }

    /** Bytes of sealed object written so far. */
    public long storedBytes() {
        return stored;
    }

    private void check() throws IOException {
        if (failed) {
            throw new IOException("sealing of '" + codec.name() + "' already failed");
        }
        if (footer != null) {
            throw new IOException("sealing of '" + codec.name() + "' is closed");
        }
    }
}
