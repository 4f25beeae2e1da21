package dev.holdfast.bench;

import dev.holdfast.agent.pipeline.UploadOptions;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.pipeline.UploadResult;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.Keyring;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.fs.FsObjectStore;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * End to end through the agent's Vert.x pipeline: {@link UploadPipeline#uploadFile} of the corpus,
 * written once as one file in a scratch directory (tmpfs /dev/shm by default), into an
 * {@link FsObjectStore} in the same directory. One object per pass, deleted after the pass
 * (untimed). Everything the pipeline does is timed: reading with an AsyncFile, splitting, sealing
 * and digesting on its worker pool, putting back in order, StreamingUpload parts and the final
 * assembly of the object by the store.
 */
final class EndToEnd implements Workload {
    private final Env env;
    private final int threads;
    private final int level;
    private final boolean sha256;
    private final UploadPipeline pipeline;
    private ObjectKey last;

    EndToEnd(Env env, int threads, int level, boolean sha256) {
        this.env = env;
        this.threads = threads;
        this.level = level;
        this.sha256 = sha256;
        UploadOptions options = new UploadOptions()
                .setSegmentSize(env.corpus.segmentSize())
                .setThreads(threads)
                .setZstdLevel(level)
                .setSha256(sha256)
                // One shared Vert.x worker pool per thread count (pipelines with one name share one pool).
                .setWorkerPoolName("bench-seal-" + threads);
        if (env.maxSegmentsInFlight > 0) {
            options.setMaxSegmentsInFlight(env.maxSegmentsInFlight);
        }
        this.pipeline = UploadPipeline.create(env.vertx, env.store, env.keyring, env.repositoryId, options);
    }

    @Override
    public String label() {
        return "end to end zstd-" + level + (sha256 ? " (CRC32C+SHA-256)" : " (CRC32C)");
    }

    @Override
    public int level() {
        return level;
    }

    @Override
    public Kind kind() {
        return sha256 ? Kind.END_TO_END_SHA : Kind.END_TO_END_CRC;
    }

    @Override
    public boolean selfDriven() {
        return true;
    }

    @Override
    public long runPass(long pass) {
        ObjectKey key = ObjectKey.of("bench/e2e-" + threads + "t-" + level + (sha256 ? "-sha" : "") + "-" + pass);
        last = key;
        UploadResult r;
        try {
            r = pipeline.uploadFile(key, env.file.toString()).result().toCompletionStage().toCompletableFuture()
                    .get(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new IllegalStateException(label() + " on " + threads + " threads failed", e);
        }
        if (r.plaintextLength() != env.corpus.bytes() || r.segments() != env.corpus.size() || r.crc32c() != env.crc32c
                || r.sha256().isPresent() != sha256) {
            throw new IllegalStateException(label() + " stored a wrong object: " + r);
        }
        return r.storedLength();
    }

    @Override
    public void afterPass() {
        if (last != null) {
            env.store.delete(last).join();
            last = null;
        }
    }

    @Override
    public void begin(long pass) {
        throw new UnsupportedOperationException("self-driven");
    }

    @Override
    public long process(int i) {
        throw new UnsupportedOperationException("self-driven");
    }

    @Override
    public long end() {
        throw new UnsupportedOperationException("self-driven");
    }

    /** Vert.x, the store and the source file, shared by the end-to-end lines. */
    static final class Env implements AutoCloseable {
        final Corpus corpus;
        final Path dir;
        final Path file;
        final Vertx vertx;
        final FsObjectStore store;
        final Keyring keyring;
        final byte[] repositoryId;
        final int crc32c;
        /** The pipeline's read size, or 0 for its default. */
        /** The pipeline's segments in flight, or 0 for its default. */
        final int maxSegmentsInFlight;
        private final Thread hook;

        Env(Corpus corpus, Path parent, DataKey dataKey, byte[] repositoryId, int maxSegmentsInFlight) {
            this.corpus = corpus;
            this.maxSegmentsInFlight = maxSegmentsInFlight;
            this.repositoryId = repositoryId.clone();
            this.keyring = new Keyring("bench", Map.of(dataKey.version(), dataKey));
            try {
                this.dir = Files.createTempDirectory(parent, "holdfast-bench-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a scratch directory in " + parent, e);
            }
            this.hook = new Thread(this::deleteDir, "bench-cleanup");
            Runtime.getRuntime().addShutdownHook(hook);
            this.file = dir.resolve("corpus.bin");
            CRC32C crc = new CRC32C();
            try (OutputStream out = Files.newOutputStream(file)) {
                for (int i = 0; i < corpus.size(); i++) {
                    out.write(corpus.array(i));
                    crc.update(corpus.array(i));
                }
            } catch (IOException e) {
                deleteDir();
                throw new UncheckedIOException("cannot write " + file, e);
            }
            this.crc32c = (int) crc.getValue();
            this.vertx = Vertx.vertx();
            this.store = FsObjectStore.open(dir.resolve("store"), Clock.systemUTC());
        }

        @Override
        public void close() {
            try {
                store.close();
            } catch (RuntimeException e) {
                // best effort
            }
            try {
                vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                // best effort: daemon threads, the JVM is about to exit
            }
            deleteDir();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
        }

        private void deleteDir() {
            if (!Files.exists(dir)) {
                return;
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | UncheckedIOException e) {
                System.err.println("could not remove " + dir + ": " + e.getMessage());
            }
        }
    }
}
