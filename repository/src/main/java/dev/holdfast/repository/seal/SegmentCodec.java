package dev.holdfast.repository.seal;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.Gcm;
import dev.holdfast.repository.store.ObjectKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Seals and opens the segments of one object (docs/format.md section 6.2): zstd per segment,
 * AES-256-GCM under the object's key with nonce {@code prefix || u32 index || u8 last} and AAD
 * {@code header || u16 len(name) || name}.
 *
 * <p>Thread-safe and stateless per call: segments of one object may be sealed or opened on many
 * worker threads at once (each thread keeps its own cipher and zstd contexts). Ordering,
 * completeness and checksums are the callers' business ({@link SealingOutputStream},
 * {@link OpeningInputStream}, the agent's pipeline).
 */
public final class SegmentCodec {
    static final byte TYPE_RAW = 0;
    static final byte TYPE_ZSTD = 1;
    static final byte TYPE_FOOTER = 2;
    /** The footer's nonce counter; data segments count from 0 up to one below it. */
    static final long FOOTER_INDEX = 0xFFFF_FFFFL;
    private static final int FOOTER_CIPHERTEXT = Footer.PLAINTEXT_LENGTH + Gcm.TAG_BYTES;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final ObjectHeader header;
    private final ObjectKey name;
    private final byte[] key;
    private final byte[] aad;
    private final int level;
    private final int maxCiphertext;

    private SegmentCodec(ObjectHeader header, ObjectKey name, byte[] key, int level) {
        this.header = header;
        this.name = name;
        this.key = key;
        this.level = level;
        byte[] h = header.encode();
        byte[] n = name.value().getBytes(StandardCharsets.UTF_8);
        this.aad = ByteBuffer.allocate(h.length + 2 + n.length).put(h).putShort((short) n.length).put(n).array();
        this.maxCiphertext = (int) Zstd.compressBound(header.segmentSize()) + 1 + Gcm.TAG_BYTES;
    }

    /**
     * The codec for the object {@code name} with {@code header}, keyed from {@code dataKey}.
     *
     * @param level zstd level 1-19 used when sealing (ignored when the header says no compression)
     */
    public static SegmentCodec of(ObjectHeader header, ObjectKey name, DataKey dataKey, byte[] repositoryId, int level) {
        if (dataKey.version() != header.dataKeyVersion()) {
            throw new IllegalArgumentException("header names data key v" + header.dataKeyVersion() + ", given " + dataKey);
        }
        return new SegmentCodec(header, name, dataKey.objectKey(header.salt(), repositoryId), level);
    }

    public ObjectHeader header() {
        return header;
    }

    public ObjectKey name() {
        return name;
    }

    /** Largest {@code L} (ciphertext bytes) a segment of this object may have. */
    public int maxCiphertextLength() {
        return maxCiphertext;
    }

    /** The largest framed segment ({@code u32 L || ciphertext}): the size of a buffer for {@link #sealData(long, ByteBuffer, byte[])}. */
    public int maxFramedLength() {
        return 4 + maxCiphertext;
    }

    /**
     * Seals data segment {@code index}: 1 to segment-size bytes of plaintext (position to limit;
     * not consumed). Returns the framed segment ({@code u32 L || ciphertext}), ready to store.
     */
    public ByteBuffer sealData(long index, ByteBuffer plaintext) {
        return sealData(index, plaintext, null);
    }

    /**
     * As {@link #sealData(long, ByteBuffer)}, into {@code into} (at least {@link #maxFramedLength()}
     * bytes, reused by the caller across segments so that bulk sealing allocates nothing per
     * segment), or a fresh buffer when null. The result wraps {@code into}: hand it on before the
     * next call.
     */
    public ByteBuffer sealData(long index, ByteBuffer plaintext, byte[] into) {
        int n = plaintext.remaining();
        if (n < 1 || n > header.segmentSize()) {
            throw new IllegalArgumentException("a data segment holds 1.." + header.segmentSize() + " bytes, not " + n);
        }
        Scratch s = SCRATCH.get();
        byte[] buf = s.buffer(maxCiphertext);
        int body = -1;
        if (header.compression() == 1) {
            byte[] src;
            int off;
            if (plaintext.hasArray()) {
                src = plaintext.array();
                off = plaintext.arrayOffset() + plaintext.position();
            } else {
                src = new byte[n];
                plaintext.duplicate().get(src);
                off = 0;
            }
            ZstdCompressCtx z = s.compressor(level);
            int c = z.compressByteArray(buf, 1, buf.length - 1, src, off, n);
            if (c < n) {
                buf[0] = TYPE_ZSTD;
                body = c;
            }
        }
        if (body < 0) {
            buf[0] = TYPE_RAW;
            plaintext.duplicate().get(buf, 1, n);
            body = n;
        }
        int framed = 4 + 1 + body + Gcm.TAG_BYTES;
        ByteBuffer out = into == null ? ByteBuffer.allocate(framed) : ByteBuffer.wrap(into, 0, framed);
        out.putInt(1 + body + Gcm.TAG_BYTES);
        Gcm.get().encrypt(key, nonce(index, false), aad, ByteBuffer.wrap(buf, 0, 1 + body), out);
        return out.flip();
    }

    /**
     * Seals the footer. Its nonce has the fixed counter {@link #FOOTER_INDEX} and the last flag, so
     * it can be authenticated from the object's tail alone; it names the data segment count itself.
     */
    public ByteBuffer sealFooter(Footer footer) {
        ByteBuffer out = ByteBuffer.allocate(Footer.SEGMENT_LENGTH);
        out.putInt(FOOTER_CIPHERTEXT);
        Gcm.get().encrypt(key, nonce(FOOTER_INDEX, true), aad, ByteBuffer.wrap(footer.encode()), out);
        return out.flip();
    }

    /** What a segment turned out to be when opened. */
    public sealed interface Opened permits Data, End {
    }

    /** A data segment's plaintext (a fresh buffer the caller owns, or the caller's own buffer when it gave one). */
    public record Data(ByteBuffer plaintext) implements Opened {
    }

    /** The footer: the object ends here. */
    public record End(Footer footer) implements Opened {
    }

    /**
     * Opens segment {@code index} from its ciphertext ({@code L} bytes, without the length prefix).
     * A ciphertext of exactly the footer's length is tried as the footer first, then as data.
     *
     * @throws HoldfastException {@code INTEGRITY_FAILURE} when it does not authenticate or breaks a rule
     */
    public Opened open(long index, ByteBuffer ciphertext) {
        return open(index, ciphertext, null);
    }

    /**
     * As {@link #open(long, ByteBuffer)}, with a data segment's plaintext written into {@code into}
     * (at least the segment size, reused by the caller across segments), or a fresh buffer when
     * null. The plaintext wraps {@code into}: consume it before the next call.
     */
    public Opened open(long index, ByteBuffer ciphertext, byte[] into) {
        String what = "object '" + name + "' segment " + index;
        int len = ciphertext.remaining();
        if (len < 1 + Gcm.TAG_BYTES || len > maxCiphertext) {
            throw ObjectHeader.integrity(what, "has an impossible length " + len);
        }
        Scratch s = SCRATCH.get();
        byte[] buf = s.buffer(maxCiphertext);
        if (len == FOOTER_CIPHERTEXT) {
            ByteBuffer out = ByteBuffer.wrap(buf, 0, Footer.PLAINTEXT_LENGTH);
            if (Gcm.get().tryDecrypt(key, nonce(FOOTER_INDEX, true), aad, ciphertext.duplicate(), out)) {
                out.flip();
                Footer f = Footer.decode(out, "object '" + name + "'");
                if (f.dataSegments() != index) {
                    throw ObjectHeader.integrity(what, "is a footer for " + f.dataSegments() + " data segments");
                }
                return new End(f);
            }
            // not the footer: a data segment of the same length, tried below
        }
        ByteBuffer out = ByteBuffer.wrap(buf);
        Gcm.get().decrypt(key, nonce(index, false), aad, ciphertext, out, what);
        int m = out.position();
        switch (buf[0]) {
            case TYPE_RAW: {
                if (m - 1 < 1 || m - 1 > header.segmentSize()) {
                    throw ObjectHeader.integrity(what, "holds " + (m - 1) + " bytes");
                }
                byte[] plain = into != null ? into : new byte[m - 1];
                System.arraycopy(buf, 1, plain, 0, m - 1);
                return new Data(ByteBuffer.wrap(plain, 0, m - 1));
            }
            case TYPE_ZSTD: {
                long frame = Zstd.findFrameCompressedSize(buf, 1, m - 1);
                long size = Zstd.getFrameContentSize(buf, 1, m - 1);
                if (frame != m - 1 || size < 1 || size > header.segmentSize()) {
                    throw ObjectHeader.integrity(what, "holds a malformed zstd frame");
                }
                byte[] plain = into != null ? into : new byte[(int) size];
                int got;
                try {
                    got = s.decompressor().decompressByteArray(plain, 0, (int) size, buf, 1, m - 1);
                } catch (RuntimeException e) {
                    throw ObjectHeader.integrity(what, "does not decompress: " + e.getMessage());
                }
                if (got != size) {
                    throw ObjectHeader.integrity(what, "decompresses to " + got + " bytes, not " + size);
                }
                return new Data(ByteBuffer.wrap(plain, 0, (int) size));
            }
            default:
                throw ObjectHeader.integrity(what, "has unknown segment type " + (buf[0] & 0xff));
        }
    }

    /**
     * Opens a footer segment read from the object's tail ({@link Footer#SEGMENT_LENGTH} bytes,
     * length prefix included), without reading the data segments.
     */
    public Footer openFooter(ByteBuffer framed) {
        String what = "object '" + name + "'";
        if (framed.remaining() != Footer.SEGMENT_LENGTH || framed.getInt(framed.position()) != FOOTER_CIPHERTEXT) {
            throw ObjectHeader.integrity(what, "does not end with a footer");
        }
        ByteBuffer ct = framed.duplicate();
        ct.position(ct.position() + 4);
        ByteBuffer out = ByteBuffer.allocate(Footer.PLAINTEXT_LENGTH);
        Gcm.get().decrypt(key, nonce(FOOTER_INDEX, true), aad, ct, out, what + " footer");
        return Footer.decode(out.flip(), what);
    }

    private byte[] nonce(long index, boolean last) {
        if (index < 0 || index > FOOTER_INDEX || (index == FOOTER_INDEX && !last)) {
            throw new IllegalArgumentException("segment index out of range: " + index);
        }
        byte[] nonce = new byte[Gcm.NONCE_BYTES];
        System.arraycopy(header.noncePrefix(), 0, nonce, 0, 7);
        nonce[7] = (byte) (index >>> 24);
        nonce[8] = (byte) (index >>> 16);
        nonce[9] = (byte) (index >>> 8);
        nonce[10] = (byte) index;
        nonce[11] = (byte) (last ? 1 : 0);
        return nonce;
    }

    @Override
    public String toString() {
        return "SegmentCodec[" + name + ", " + header + "]";
    }

    /** Per-thread scratch space and zstd contexts, reused across objects. */
    private static final class Scratch {
        private byte[] buffer = new byte[0];
        private ZstdCompressCtx compressor;
        private int compressorLevel;
        private ZstdDecompressCtx decompressor;

        byte[] buffer(int size) {
            if (buffer.length < size) {
                buffer = new byte[size];
            }
            return buffer;
        }

        ZstdCompressCtx compressor(int level) {
            if (compressor == null) {
                compressor = new ZstdCompressCtx();
                compressor.setContentSize(true);
                compressor.setChecksum(false); // GCM already authenticates every byte
            }
            if (level != compressorLevel) {
                compressor.setLevel(level);
                compressorLevel = level;
            }
            return compressor;
        }

        ZstdDecompressCtx decompressor() {
            if (decompressor == null) {
                decompressor = new ZstdDecompressCtx();
            }
            return decompressor;
        }
    }
}
