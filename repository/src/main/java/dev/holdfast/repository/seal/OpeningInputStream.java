package dev.holdfast.repository.seal;

import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.Keyring;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * Reads the plaintext of a sealed object from its stored bytes, checking everything
 * docs/format.md section 6 requires, and failing closed.
 *
 * <h2>Security guarantees</h2>
 * Plaintext is released one whole authenticated segment at a time. The first segment that fails
 * authentication or breaks a rule raises {@code INTEGRITY_FAILURE} naming the object and segment,
 * and from then on every call raises it again: no further plaintext is released. End of stream is
 * reported only after the footer authenticated, matched the segments read, nothing followed it,
 * and the CRC32C (and SHA-256, when the header says the writer recorded it) of all plaintext matched. A caller that
 * writes the plaintext somewhere must therefore treat the output as valid only after reading to
 * end of stream, and remove it on any exception.
 *
 * <h2>Blocking</h2>
 * Blocking, like the {@link InputStream} it reads; use it on worker threads, never an event loop.
 */
public final class OpeningInputStream extends InputStream {
    private final InputStream source;
    private final SegmentCodec codec;
    private final PlaintextDigest digest;
    private ByteBuffer current = ByteBuffer.allocate(0);
    private final byte[] prefix = new byte[4];
    /** Reused for every segment (allocated at the first): the current plaintext wraps {@code plaintext}. */
    private byte[] ciphertext;
    private byte[] plaintext;
    private long index;
    private boolean previousShort;
    private Footer footer;
    private HoldfastException failure;

    private OpeningInputStream(InputStream source, SegmentCodec codec) {
        this.source = source;
        this.codec = codec;
        this.digest = new PlaintextDigest(codec.header().sha256());
    }

    /** Reads and checks the header from {@code source} and prepares to open the object {@code name}. */
    public static OpeningInputStream open(InputStream source, ObjectKey name, byte[] repositoryId, Keyring keys) throws IOException {
        Objects.requireNonNull(source, "source");
        String what = "object '" + name + "'";
        byte[] header = source.readNBytes(ObjectHeader.LENGTH);
        ObjectHeader h = ObjectHeader.parse(header, what);
        SegmentCodec codec = SegmentCodec.of(h, name, keys.get(h.dataKeyVersion(), what), repositoryId, 0);
        return new OpeningInputStream(source, codec);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        if (failure != null) {
            throw failure;
        }
        while (!current.hasRemaining()) {
            if (footer != null) {
                return -1;
            }
            try {
                nextSegment();
            } catch (HoldfastException e) {
                failure = e;
                current = ByteBuffer.allocate(0);
                throw e;
            }
        }
        int n = Math.min(len, current.remaining());
        current.get(b, off, n);
        return n;
    }

    private void nextSegment() throws IOException {
        String what = "object '" + codec.name() + "'";
        int got = source.readNBytes(prefix, 0, 4);
        if (got < 4) {
            throw ObjectHeader.integrity(what, got == 0
                    ? "is truncated: it ends after " + index + " data segments without its footer"
                    : "is truncated inside the length of segment " + index);
        }
        int len = ByteBuffer.wrap(prefix).getInt();
        if (ciphertext == null) {
            // Reused for every segment: bulk reads allocate nothing per segment.
            ciphertext = new byte[codec.maxCiphertextLength()];
            plaintext = new byte[codec.header().segmentSize()];
        }
        if (len < 17 || len > codec.maxCiphertextLength()) {
            throw ObjectHeader.integrity(what, "segment " + index + " has an impossible length " + Integer.toUnsignedString(len));
        }
        if (source.readNBytes(ciphertext, 0, len) < len) {
            throw ObjectHeader.integrity(what, "is truncated inside segment " + index);
        }
        SegmentCodec.Opened opened = codec.open(index, ByteBuffer.wrap(ciphertext, 0, len), plaintext);
        if (opened instanceof SegmentCodec.Data d) {
            if (previousShort) {
                throw ObjectHeader.integrity(what, "segment " + (index - 1) + " is short but is not the last data segment");
            }
            previousShort = d.plaintext().remaining() < codec.header().segmentSize();
            digest.update(d.plaintext());
            index++;
            current = d.plaintext();
            return;
        }
        Footer f = ((SegmentCodec.End) opened).footer();
        if (f.dataSegments() != index || f.plaintextLength() != digest.length()) {
            throw ObjectHeader.integrity(what, "footer does not match its data (" + f.dataSegments() + " segments, "
                    + f.plaintextLength() + " bytes declared; " + index + " segments, " + digest.length() + " bytes read)");
        }
        if (source.read() != -1) {
            throw ObjectHeader.integrity(what, "has bytes after its footer");
        }
        Footer actual = digest.footer(index);
        if (actual.crc32c() != f.crc32c()) {
            throw ObjectHeader.integrity(what, "plaintext CRC32C does not match its footer");
        }
        if (f.sha256().isPresent() != codec.header().sha256()) {
            throw ObjectHeader.integrity(what, "footer and header disagree on whether SHA-256 was recorded");
        }
        if (f.sha256().isPresent() && !MessageDigest.isEqual(f.sha256().get(), actual.sha256().orElseThrow())) {
            throw ObjectHeader.integrity(what, "plaintext SHA-256 does not match its footer");
        }
        footer = f;
    }

    /** The header, as read. */
    public ObjectHeader header() {
        return codec.header();
    }

    /** The authenticated footer, once the stream has been read to its end. */
    public Footer footer() {
        if (footer == null) {
            throw new IllegalStateException("the object has not been read to its end");
        }
        return footer;
    }

    @Override
    public void close() throws IOException {
        source.close();
    }
}
