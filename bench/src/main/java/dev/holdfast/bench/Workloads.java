package dev.holdfast.bench;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.Gcm;
import dev.holdfast.repository.seal.ObjectHeader;
import dev.holdfast.repository.seal.PlaintextDigest;
import dev.holdfast.repository.seal.SegmentCodec;
import dev.holdfast.repository.store.ObjectKey;
import java.nio.ByteBuffer;
import java.security.SecureRandom;

/** The measured lines: raw zstd, AES-GCM alone, and the sealed pipeline core. */
final class Workloads {
    private Workloads() {
    }

    /**
     * Raw zstd alone: each segment compressed to one frame with a per-thread
     * {@link ZstdCompressCtx} at the given level, set up like {@code SegmentCodec}'s (content size
     * on, frame checksum off), into a reused buffer. Nothing else.
     */
    static final class RawZstd implements Workload {
        private static final ThreadLocal<Ctx> CTX = ThreadLocal.withInitial(Ctx::new);
        private final Corpus corpus;
        private final int level;

        RawZstd(Corpus corpus, int level) {
            this.corpus = corpus;
            this.level = level;
        }

        @Override
        public String label() {
            return "raw zstd-" + level;
        }

        @Override
        public int level() {
            return level;
        }

        @Override
        public Kind kind() {
            return Kind.RAW_ZSTD;
        }

        @Override
        public void begin(long pass) {
        }

        @Override
        public long process(int i) {
            Ctx c = CTX.get();
            if (c.dst == null) {
                c.dst = new byte[(int) Zstd.compressBound(corpus.segmentSize())];
            }
            if (c.level != level) {
                c.z.setLevel(level);
                c.level = level;
            }
            byte[] src = corpus.array(i);
            return c.z.compressByteArray(c.dst, 0, c.dst.length, src, 0, src.length);
        }

        @Override
        public long end() {
            return 0;
        }

        private static final class Ctx {
            final ZstdCompressCtx z = new ZstdCompressCtx();
            int level = Integer.MIN_VALUE;
            byte[] dst;

            Ctx() {
                z.setContentSize(true);
                z.setChecksum(false);
            }
        }
    }

    /**
     * AES-256-GCM alone through the production {@link Gcm} (64 KiB update slices, one cipher per
     * thread), one call per whole plaintext segment, with an AAD as long as a sealed object's, into
     * a reused buffer. A distinct nonce per call (pass, segment).
     */
    static final class GcmAlone implements Workload {
        private static final ThreadLocal<ByteBuffer> OUT = new ThreadLocal<>();
        private final Corpus corpus;
        private final byte[] key = new byte[32];
        private final byte[] aad;
        private volatile long pass;

        GcmAlone(Corpus corpus, SecureRandom random) {
            this.corpus = corpus;
            random.nextBytes(key);
            this.aad = new byte[ObjectHeader.LENGTH + 2 + "bench/pipeline".length()];
            random.nextBytes(aad);
        }

        @Override
        public String label() {
            return "AES-256-GCM alone";
        }

        @Override
        public int level() {
            return 0;
        }

        @Override
        public Kind kind() {
            return Kind.GCM;
        }

        @Override
        public void begin(long pass) {
            this.pass = pass;
        }

        @Override
        public long process(int i) {
            ByteBuffer out = OUT.get();
            if (out == null) {
                out = ByteBuffer.allocate(corpus.segmentSize() + Gcm.TAG_BYTES);
                OUT.set(out);
            }
            out.clear();
            long p = pass;
            byte[] nonce = new byte[Gcm.NONCE_BYTES];
            nonce[0] = (byte) (p >>> 24);
            nonce[1] = (byte) (p >>> 16);
            nonce[2] = (byte) (p >>> 8);
            nonce[3] = (byte) p;
            nonce[4] = (byte) (i >>> 24);
            nonce[5] = (byte) (i >>> 16);
            nonce[6] = (byte) (i >>> 8);
            nonce[7] = (byte) i;
            Gcm.get().encrypt(key, nonce, aad, corpus.segment(i), out);
            return out.position();
        }

        @Override
        public long end() {
            return 0;
        }
    }

    /**
     * The sealed pipeline core: {@link SegmentCodec#sealData} per segment on the workers (zstd
     * frame, or raw when zstd does not shrink it, then AES-256-GCM; a fresh output buffer per
     * segment, as production), and the {@link PlaintextDigest} fed strictly in segment order.
     *
     * <p>The digest is fed in order the way the agent's pipeline does it, on the same workers and
     * without blocking one: after sealing segment {@code i} a worker offers it to an
     * {@link InOrder} feeder; whichever worker holds the next segment in order feeds the digest
     * with it and with any later segments already offered, while the other workers go on sealing.
     * So the line uses the same threads as raw zstd, and whatever the in-order digest serialises
     * shows in its figure. With {@code digest == false} no digest is fed (the breakdown line). One
     * object per pass (fresh header, salt and key), closed with its footer.
     */
    static final class Sealed implements Workload {
        private final Corpus corpus;
        private final int level;
        private final boolean digesting;
        private final boolean sha256;
        private final DataKey dataKey;
        private final byte[] repositoryId;
        private final SecureRandom random;
        private final InOrder feeder;
        private SegmentCodec codec;
        private PlaintextDigest digest;

        Sealed(Corpus corpus, int level, boolean digesting, boolean sha256, DataKey dataKey, byte[] repositoryId,
               SecureRandom random) {
            this.corpus = corpus;
            this.level = level;
            this.digesting = digesting;
            this.sha256 = sha256;
            this.dataKey = dataKey;
            this.repositoryId = repositoryId;
            this.random = random;
            this.feeder = new InOrder(i -> digest.update(corpus.segment(i)));
        }

        @Override
        public String label() {
            return "sealed zstd-" + level + (!digesting ? " (no digest)" : sha256 ? " (CRC32C+SHA-256)" : " (CRC32C)");
        }

        @Override
        public int level() {
            return level;
        }

        @Override
        public Kind kind() {
            return !digesting ? Kind.SEALED_NO_DIGEST : sha256 ? Kind.SEALED_SHA : Kind.SEALED_CRC;
        }

        @Override
        public void begin(long pass) {
            ObjectHeader header = ObjectHeader.fresh(1, dataKey.version(), corpus.segmentSize(), sha256, random);
            codec = SegmentCodec.of(header, ObjectKey.of("bench/pipeline-" + pass), dataKey, repositoryId, level);
            digest = new PlaintextDigest(sha256);
            feeder.reset(corpus.size());
        }

        @Override
        public long process(int i) {
            long n = codec.sealData(i, corpus.segment(i)).remaining();
            if (digesting) {
                feeder.offer(i);
            }
            return n;
        }

        @Override
        public long end() {
            if (digesting && feeder.fed() != corpus.size()) {
                throw new IllegalStateException("digest fed " + feeder.fed() + " of " + corpus.size() + " segments");
            }
            return codec.sealFooter(digest.footer(corpus.size())).remaining();
        }
    }

    /**
     * Feeds segments to a consumer strictly in index order, whatever order they are offered in, on
     * the offering threads and without blocking any: an offer either finds another thread already
     * feeding (which will take this segment when its turn comes) or feeds itself, from the next
     * segment in order for as long as the following ones have been offered.
     */
    static final class InOrder {
        private final java.util.function.IntConsumer feed;
        private boolean[] ready = new boolean[0];
        private int next;
        private boolean feeding;

        InOrder(java.util.function.IntConsumer feed) {
            this.feed = feed;
        }

        synchronized void reset(int segments) {
            if (ready.length < segments) {
                ready = new boolean[segments];
            } else {
                java.util.Arrays.fill(ready, false);
            }
            next = 0;
            feeding = false;
        }

        void offer(int i) {
            int k;
            synchronized (this) {
                ready[i] = true;
                if (feeding || i != next) {
                    return;
                }
                feeding = true;
                k = next;
            }
            while (true) {
                try {
                    feed.accept(k);
                } catch (RuntimeException | Error e) {
                    synchronized (this) {
                        feeding = false;
                    }
                    throw e;
                }
                synchronized (this) {
                    next = k + 1;
                    if (next >= ready.length || !ready[next]) {
                        feeding = false;
                        return;
                    }
                    k = next;
                }
            }
        }

        synchronized int fed() {
            return next;
        }
    }
}
