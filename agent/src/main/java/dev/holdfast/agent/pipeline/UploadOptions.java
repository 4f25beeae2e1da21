package dev.holdfast.agent.pipeline;

import dev.holdfast.repository.seal.ObjectHeader;
import java.util.Objects;

/**
 * How an {@link UploadPipeline} seals and uploads: a data object with fluent setters, in the
 * Vert.x style. Every setter validates its argument and throws {@link IllegalArgumentException}
 * naming the option; checks that need the store (the part size against its minimum) happen when
 * the pipeline is created. See {@link UploadPipeline} for how these options bound memory.
 *
 * <p>Not thread-safe; the pipeline takes a copy, so changing an options object afterwards has no
 * effect on pipelines created from it.
 */
public final class UploadOptions {
    public static final int DEFAULT_SEGMENT_SIZE = 1024 * 1024;
    public static final int DEFAULT_ZSTD_LEVEL = 3;
    public static final boolean DEFAULT_SHA256 = true;
    public static final int DEFAULT_PART_SIZE = 8 * 1024 * 1024;
    public static final int DEFAULT_MAX_IN_FLIGHT_PARTS = 2;
    /** 0: derive the limit from the thread count, see {@link #effectiveMaxSegmentsInFlight()}. */
    public static final int DEFAULT_MAX_SEGMENTS_IN_FLIGHT = 0;
    public static final String DEFAULT_WORKER_POOL_NAME = "holdfast-seal";
    public static final int MIN_ZSTD_LEVEL = 1;
    public static final int MAX_ZSTD_LEVEL = 19;

    private int segmentSize = DEFAULT_SEGMENT_SIZE;
    private int zstdLevel = DEFAULT_ZSTD_LEVEL;
    private int threads = Runtime.getRuntime().availableProcessors();
    private boolean sha256 = DEFAULT_SHA256;
    private int partSize = DEFAULT_PART_SIZE;
    private int maxInFlightParts = DEFAULT_MAX_IN_FLIGHT_PARTS;
    private int maxSegmentsInFlight = DEFAULT_MAX_SEGMENTS_IN_FLIGHT;
    private String workerPoolName = DEFAULT_WORKER_POOL_NAME;

    public UploadOptions() {
    }

    public UploadOptions(UploadOptions other) {
        this.segmentSize = other.segmentSize;
        this.zstdLevel = other.zstdLevel;
        this.threads = other.threads;
        this.sha256 = other.sha256;
        this.partSize = other.partSize;
        this.maxInFlightParts = other.maxInFlightParts;
        this.maxSegmentsInFlight = other.maxSegmentsInFlight;
        this.workerPoolName = other.workerPoolName;
    }

    public int getSegmentSize() {
        return segmentSize;
    }

    /**
     * Plaintext bytes per sealed segment: a power of two from 64 KiB to 16 MiB (docs/format.md
     * section 6.1). Default 1 MiB. Larger segments compress slightly better and cost more memory
     * per segment in flight.
     */
    public UploadOptions setSegmentSize(int segmentSize) {
        if (!ObjectHeader.validSegmentSize(segmentSize)) {
            throw new IllegalArgumentException("segmentSize must be a power of two from " + ObjectHeader.MIN_SEGMENT
                    + " to " + ObjectHeader.MAX_SEGMENT + ", not " + segmentSize);
        }
        this.segmentSize = segmentSize;
        return this;
    }

    public int getZstdLevel() {
        return zstdLevel;
    }

    /** zstd level, 1 (fastest) to 19. Default 3. A segment zstd does not shrink is stored raw. */
    public UploadOptions setZstdLevel(int zstdLevel) {
        if (zstdLevel < MIN_ZSTD_LEVEL || zstdLevel > MAX_ZSTD_LEVEL) {
            throw new IllegalArgumentException("zstdLevel must be " + MIN_ZSTD_LEVEL + ".." + MAX_ZSTD_LEVEL + ", not " + zstdLevel);
        }
        this.zstdLevel = zstdLevel;
        return this;
    }

    public int getThreads() {
        return threads;
    }

    /**
     * Size of the worker pool that seals segments and feeds digests. Default: the number of
     * available processors. Pipelines with the same {@link #setWorkerPoolName worker pool name}
     * share one pool, sized by the first of them to be created.
     */
    public UploadOptions setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        }
        this.threads = threads;
        return this;
    }

    public boolean isSha256() {
        return sha256;
    }

    /**
     * Whether to compute SHA-256 of the plaintext into the footer (CRC32C is always computed).
     * Default true. It costs about as much CPU as zstd level 3 (docs/format.md section 10).
     */
    public UploadOptions setSha256(boolean sha256) {
        this.sha256 = sha256;
        return this;
    }

    public int getPartSize() {
        return partSize;
    }

    /**
     * Bytes per multipart-upload part; objects no larger than one part are stored with a single
     * create. Default 8 MiB. Must be at least the store's minimum part size (5 MiB on S3), which
     * {@link UploadPipeline#create} checks, and caps an object at {@code maxParts * partSize}.
     */
    public UploadOptions setPartSize(int partSize) {
        if (partSize < 1) {
            throw new IllegalArgumentException("partSize must be >= 1, not " + partSize);
        }
        this.partSize = partSize;
        return this;
    }

    public int getMaxInFlightParts() {
        return maxInFlightParts;
    }

    /** Parts uploading at once per object; the upload side holds at most one more part than this. Default 2. */
    public UploadOptions setMaxInFlightParts(int maxInFlightParts) {
        if (maxInFlightParts < 1) {
            throw new IllegalArgumentException("maxInFlightParts must be >= 1, not " + maxInFlightParts);
        }
        this.maxInFlightParts = maxInFlightParts;
        return this;
    }

    public int getMaxSegmentsInFlight() {
        return maxSegmentsInFlight;
    }

    /**
     * Segments being sealed or waiting to be handed to the upload, per object; the source is
     * paused while this many are in flight. 0 (the default) means {@code 2 * threads + 2}: enough
     * to keep every worker busy while the in-order writer waits for a slow segment.
     */
    public UploadOptions setMaxSegmentsInFlight(int maxSegmentsInFlight) {
        if (maxSegmentsInFlight < 0) {
            throw new IllegalArgumentException("maxSegmentsInFlight must be >= 1, or 0 for the default, not " + maxSegmentsInFlight);
        }
        this.maxSegmentsInFlight = maxSegmentsInFlight;
        return this;
    }

    /** The limit in force: {@link #getMaxSegmentsInFlight()}, or {@code 2 * threads + 2} when that is 0. */
    public int effectiveMaxSegmentsInFlight() {
        return maxSegmentsInFlight > 0 ? maxSegmentsInFlight : 2 * threads + 2;
    }

    public String getWorkerPoolName() {
        return workerPoolName;
    }

    /** Name of the Vert.x shared worker pool (and prefix of its threads' names). Default {@code holdfast-seal}. */
    public UploadOptions setWorkerPoolName(String workerPoolName) {
        if (workerPoolName == null || workerPoolName.isBlank()) {
            throw new IllegalArgumentException("workerPoolName must not be empty");
        }
        this.workerPoolName = workerPoolName;
        return this;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UploadOptions u && segmentSize == u.segmentSize && zstdLevel == u.zstdLevel
                && threads == u.threads && sha256 == u.sha256 && partSize == u.partSize
                && maxInFlightParts == u.maxInFlightParts && maxSegmentsInFlight == u.maxSegmentsInFlight
                && workerPoolName.equals(u.workerPoolName);
    }

    @Override
    public int hashCode() {
        return Objects.hash(segmentSize, zstdLevel, threads, sha256, partSize, maxInFlightParts, maxSegmentsInFlight,
                workerPoolName);
    }

    @Override
    public String toString() {
        return "UploadOptions[segmentSize=" + segmentSize + ", zstdLevel=" + zstdLevel + ", threads=" + threads
                + ", sha256=" + sha256 + ", partSize=" + partSize + ", maxInFlightParts=" + maxInFlightParts
                + ", maxSegmentsInFlight=" + effectiveMaxSegmentsInFlight() + ", workerPoolName=" + workerPoolName + "]";
    }
}
