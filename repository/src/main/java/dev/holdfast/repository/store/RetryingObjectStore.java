package dev.holdfast.repository.store;

import dev.holdfast.error.ErrorCode;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries the operations of any {@link ObjectStore} that fail with a {@link StoreException} whose
 * {@link StoreException#retryable()} is true, with exponential backoff and full jitter
 * ({@link RetryPolicy}). Backends do not retry by themselves, so this is the one retry layer.
 *
 * <p>Every operation is retried, multipart ones included (start, each part, complete, abort);
 * {@link #openStream} retries opening only, not failures while reading. Waits are scheduled on the
 * injected {@link ScheduledExecutorService}; no caller's thread ever sleeps. When the attempts are
 * spent the last failure surfaces, its message saying how many attempts were made.
 *
 * <h2>Ambiguous outcomes</h2>
 * A retryable failure (timeout, reset connection, 5xx) does not tell whether the write happened.
 * Two cases are resolved explicitly instead of being reported as errors the caller did not cause:
 * <ul>
 *   <li>A retried {@link #create} that meets {@code OBJECT_EXISTS}: when the object now present has
 *       the size of {@code data} and the same content (its ETag equals the data's MD5, or else the
 *       bytes read back are identical), the earlier attempt wrote it and the create succeeded.
 *       Otherwise {@code OBJECT_EXISTS} surfaces.</li>
 *   <li>A retried {@link MultipartUpload#complete} that meets {@code OBJECT_NOT_FOUND} (S3's
 *       NoSuchUpload: the upload is gone because it completed) or {@code OBJECT_EXISTS}: when the
 *       object now present has the total size of the uploaded parts, and the ETag the backend
 *       predicts ({@link PredictsEtag}) where it can, the earlier attempt completed it.</li>
 * </ul>
 * A retried {@link #startMultipart} whose lost first attempt did start an upload leaves that upload
 * orphaned (invisible, aborted by lifecycle rules or an explicit sweep).
 */
public final class RetryingObjectStore implements ObjectStore {
    private static final Logger log = LoggerFactory.getLogger(RetryingObjectStore.class);
    private static final HexFormat HEX = HexFormat.of();

    private final ObjectStore delegate;
    private final RetryPolicy policy;
    private final ScheduledExecutorService scheduler;
    private final RandomGenerator random;
    private final boolean ownsScheduler;

    /**
     * Wraps {@code delegate}. The scheduler runs only the (short) re-submissions after each delay and
     * is not shut down by {@link #close()}; {@code random} (used under this store's lock, so it need
     * not be thread-safe) draws the jitter.
     */
    public RetryingObjectStore(ObjectStore delegate, RetryPolicy policy, ScheduledExecutorService scheduler, RandomGenerator random) {
        this(delegate, policy, scheduler, random, false);
    }

    private RetryingObjectStore(ObjectStore delegate, RetryPolicy policy, ScheduledExecutorService scheduler,
                                RandomGenerator random, boolean ownsScheduler) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.random = Objects.requireNonNull(random, "random");
        this.ownsScheduler = ownsScheduler;
    }

    /** Wraps {@code delegate} with its own single daemon scheduler thread, shut down by {@link #close()}. */
    public static RetryingObjectStore wrap(ObjectStore delegate, RetryPolicy policy) {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "holdfast-store-retry");
            t.setDaemon(true);
            return t;
        });
        return new RetryingObjectStore(delegate, policy, s, RandomGenerator.getDefault(), true);
    }

    /**
     * Implemented by a backend's {@link MultipartUpload} that can tell the ETag its completed object
     * will have (S3: from the parts' ETags), so that an ambiguous complete is checked by content
     * fingerprint and not by size alone.
     */
    public interface PredictsEtag {
        /** The expected ETag (without quotes), or empty when it cannot be predicted. */
        Optional<String> expectedEtag();
    }

    public ObjectStore delegate() {
        return delegate;
    }

    public RetryPolicy policy() {
        return policy;
    }

    @Override
    public String describe() {
        return delegate.describe();
    }

    @Override
    public StoreCapabilities capabilities() {
        return delegate.capabilities();
    }

    @Override
    public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
        return retry("create object '" + key + "'", () -> delegate.create(key, data, options), failure -> {
            if (failure.code() != ErrorCode.OBJECT_EXISTS) {
                return CompletableFuture.failedFuture(failure);
            }
            return sameContent(key, data).thenCompose(same -> {
                if (same) {
                    log.debug("create of {} was retried after an ambiguous failure and found its own object", key);
                    return CompletableFuture.completedFuture(null);
                }
                return CompletableFuture.failedFuture(failure);
            });
        });
    }

    @Override
    public CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options) {
        return retry("start multipart upload of '" + key + "'", () -> delegate.startMultipart(key, options), null)
                .thenApply(RetryingUpload::new);
    }

    @Override
    public CompletableFuture<byte[]> get(ObjectKey key) {
        return retry("read object '" + key + "'", () -> delegate.get(key), null);
    }

    @Override
    public CompletableFuture<byte[]> getRange(ObjectKey key, long offset, long length) {
        return retry("read a range of object '" + key + "'", () -> delegate.getRange(key, offset, length), null);
    }

    @Override
    public CompletableFuture<InputStream> openStream(ObjectKey key) {
        return retry("open object '" + key + "'", () -> delegate.openStream(key), null);
    }

    @Override
    public CompletableFuture<Optional<ObjectInfo>> head(ObjectKey key) {
        return retry("look up object '" + key + "'", () -> delegate.head(key), null);
    }

    @Override
    public CompletableFuture<ListPage> list(String prefix, Optional<String> continuation, int maxKeys) {
        return retry("list objects under '" + prefix + "'", () -> delegate.list(prefix, continuation, maxKeys), null);
    }

    @Override
    public CompletableFuture<Void> delete(ObjectKey key) {
        return retry("delete object '" + key + "'", () -> delegate.delete(key), null);
    }

    @Override
    public void close() {
        try {
            delegate.close();
        } finally {
            if (ownsScheduler) {
                scheduler.shutdownNow();
            }
        }
    }

    /** Whether the object at {@code key} holds exactly {@code data}: size, then ETag as MD5, then the bytes. */
    private CompletableFuture<Boolean> sameContent(ObjectKey key, ByteBuffer data) {
        int size = data.remaining();
        return retry("look up object '" + key + "'", () -> delegate.head(key), null).thenCompose(info -> {
            if (info.isEmpty() || info.get().size() != size) {
                return CompletableFuture.completedFuture(false);
            }
            if (info.get().etag().equalsIgnoreCase(md5Hex(data))) {
                return CompletableFuture.completedFuture(true);
            }
            // No ETag, or one that is not an MD5 (multipart, SSE-KMS): compare the bytes themselves.
            return retry("read object '" + key + "'", () -> delegate.get(key), null)
                    .thenApply(stored -> ByteBuffer.wrap(stored).equals(data.duplicate()));
        });
    }

    private static String md5Hex(ByteBuffer data) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update(data.duplicate());
            return HEX.formatHex(md5.digest());
        } catch (NoSuchAlgorithmException e) {
            return "";
        }
    }

    /**
     * Runs {@code op} until it succeeds, fails for good, or the attempts are spent. When it fails
     * for good after an earlier attempt's retryable failure (the outcome of which is unknown),
     * {@code ambiguous} (if given) decides the result.
     */
    private <T> CompletableFuture<T> retry(String what, Supplier<CompletableFuture<T>> op,
                                           Function<StoreException, CompletableFuture<T>> ambiguous) {
        CompletableFuture<T> result = new CompletableFuture<>();
        attempt(what, op, ambiguous, 1, result);
        return result;
    }

    private <T> void attempt(String what, Supplier<CompletableFuture<T>> op, Function<StoreException, CompletableFuture<T>> ambiguous,
                             int n, CompletableFuture<T> result) {
        CompletableFuture<T> f;
        try {
            f = op.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((value, thrown) -> {
            if (thrown == null) {
                result.complete(value);
                return;
            }
            Throwable cause = unwrap(thrown);
            if (!(cause instanceof StoreException failure)) {
                result.completeExceptionally(cause);
                return;
            }
            if (!failure.retryable()) {
                if (n > 1 && ambiguous != null) {
                    CompletableFuture<T> resolved;
                    try {
                        resolved = ambiguous.apply(failure);
                    } catch (RuntimeException e) {
                        resolved = CompletableFuture.failedFuture(e);
                    }
                    resolved.whenComplete((v, t) -> {
                        if (t == null) {
                            result.complete(v);
                        } else {
                            result.completeExceptionally(unwrap(t));
                        }
                    });
                } else {
                    result.completeExceptionally(failure);
                }
                return;
            }
            if (n >= policy.maxAttempts()) {
                result.completeExceptionally(new StoreException(failure.code(),
                        failure.getMessage() + " (gave up after " + n + (n == 1 ? " attempt)" : " attempts)"), true, failure));
                return;
            }
            Duration delay;
            synchronized (this) {
                delay = policy.delay(n + 1, random);
            }
            log.debug("retrying {} in {} ms (attempt {} of {}) after: {}", what, delay.toMillis(), n + 1, policy.maxAttempts(),
                    failure.getMessage());
            try {
                scheduler.schedule(() -> attempt(what, op, ambiguous, n + 1, result), delay.toNanos(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                result.completeExceptionally(new StoreException(failure.code(), failure.getMessage()
                        + " (not retried: the store is closing)", false, failure));
            }
        });
    }

    private static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    /** Retries each step of one upload, and remembers part sizes to settle an ambiguous complete. */
    private final class RetryingUpload implements MultipartUpload {
        private final MultipartUpload upload;
        private final Map<Integer, Long> partSizes = new ConcurrentHashMap<>();

        RetryingUpload(MultipartUpload upload) {
            this.upload = upload;
        }

        @Override
        public ObjectKey key() {
            return upload.key();
        }

        @Override
        public CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data) {
            long size = data.remaining();
            return retry("upload part " + partNumber + " of '" + key() + "'", () -> upload.uploadPart(partNumber, data), null)
                    .thenRun(() -> partSizes.put(partNumber, size));
        }

        @Override
        public CompletableFuture<Void> complete() {
            ObjectKey key = key();
            return retry("complete multipart upload of '" + key + "'", upload::complete, failure -> {
                if (failure.code() != ErrorCode.OBJECT_NOT_FOUND && failure.code() != ErrorCode.OBJECT_EXISTS) {
                    return CompletableFuture.failedFuture(failure);
                }
                long expectedSize = partSizes.values().stream().mapToLong(Long::longValue).sum();
                Optional<String> expectedEtag = upload instanceof PredictsEtag p ? p.expectedEtag() : Optional.empty();
                return retry("look up object '" + key + "'", () -> delegate.head(key), null).thenCompose(info -> {
                    boolean ours = info.isPresent() && info.get().size() == expectedSize
                            && (expectedEtag.isEmpty() || info.get().etag().isEmpty()
                            || info.get().etag().toLowerCase(Locale.ROOT).equals(expectedEtag.get().toLowerCase(Locale.ROOT)));
                    if (ours) {
                        log.debug("complete of {} was retried after an ambiguous failure and found its own object", key);
                        return CompletableFuture.completedFuture(null);
                    }
                    return CompletableFuture.failedFuture(failure);
                });
            });
        }

        @Override
        public CompletableFuture<Void> abort() {
            return retry("abort multipart upload of '" + key() + "'", upload::abort, null);
        }
    }
}
