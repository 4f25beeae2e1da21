package dev.holdfast.repository.store.s3;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ListPage;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectLock;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.RetryingObjectStore;
import dev.holdfast.repository.store.StoreCapabilities;
import dev.holdfast.repository.store.StoreException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ObjectLockEnabled;
import software.amazon.awssdk.services.s3.model.ObjectLockLegalHoldStatus;
import software.amazon.awssdk.services.s3.model.ObjectLockMode;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A repository in an S3 bucket (AWS or an S3-compatible server), over the SDK's asynchronous
 * client with the Netty HTTP client. {@code package-info.java} states what it guarantees.
 *
 * <p>Open with {@link #open(S3StoreConfig)}, which probes the server once (conditional writes,
 * Object Lock) according to the configuration, so that {@link #capabilities()} tells the truth.
 *
 * <p><b>Retries live elsewhere.</b> The SDK's own retry is switched off ({@code doNotRetry}): every
 * failure is translated here, once, into a {@link StoreException} whose {@code retryable()} says
 * whether trying again can help, and {@link RetryingObjectStore} is the one place that retries. Two
 * retry layers would multiply attempts and hide the ambiguous cases (a create that succeeded but
 * whose answer was lost) that the decorator resolves explicitly. Wrap this store in a
 * {@link RetryingObjectStore} for production use.
 */
public final class S3ObjectStore implements ObjectStore {
    /** S3's smallest part but the last. */
    public static final long MIN_PART_SIZE = 5L * 1024 * 1024;
    /** S3's most parts per upload. */
    public static final int MAX_PARTS = 10_000;
    /** Name stem of the short-lived object the conditional-write probe writes; never a valid {@link ObjectKey}. */
    static final String PROBE_STEM = ".holdfast-probe-";

    private static final Logger log = LoggerFactory.getLogger(S3ObjectStore.class);
    private static final HexFormat HEX = HexFormat.of();

    private final S3StoreConfig config;
    private final Client client;
    private final S3AsyncClient s3;
    private final boolean nativeCreate;
    private final boolean nativeComplete;
    private final LockProbe lock;

    private S3ObjectStore(S3StoreConfig config, Client client, boolean[] conditional, LockProbe lock) {
        this.config = config;
        this.client = client;
        this.s3 = client.s3();
        this.nativeCreate = conditional[0];
        this.nativeComplete = conditional[1];
        this.lock = lock;
    }

    /** Whether the bucket takes Object Lock options, and if not, why (for the error message). */
    private record LockProbe(boolean enabled, String reason) {
    }

    private record Probes(boolean[] conditional, LockProbe lock) {
    }

    /** How many times open() runs its probes when they fail in a way a retry can fix. */
    private static final int PROBE_ATTEMPTS = 3;

    /**
     * The probes, tried again (up to {@value #PROBE_ATTEMPTS} times in all) after a failure a retry
     * can fix. The probes are idempotent (a fresh probe object each time, deleted at the end), and
     * the common transient failure is benign: a server that closes a kept-alive connection after
     * an error answer (S3Proxy's Jetty does after the 412 the probe provokes) while the client
     * reuses it for the next request ("the connection was closed during the request").
     */
    private static CompletableFuture<Probes> probes(S3AsyncClient client, S3StoreConfig config, int attempt) {
        CompletableFuture<boolean[]> conditional = switch (config.conditionalWrites()) {
            case NATIVE -> CompletableFuture.completedFuture(new boolean[] {true, true});
            case EMULATED -> CompletableFuture.completedFuture(new boolean[] {false, false});
            case AUTO -> send(() -> probeConditionalWrites(client, config));
        };
        CompletableFuture<LockProbe> lock = switch (config.objectLock()) {
            case ENABLED -> CompletableFuture.completedFuture(new LockProbe(true, ""));
            case DISABLED -> CompletableFuture.completedFuture(new LockProbe(false, "Object Lock is disabled in the store configuration"));
            case AUTO -> conditional.thenCompose(c -> probeObjectLock(client, config));
        };
        return conditional.thenCombine(lock, Probes::new).handle((p, t) -> {
            if (t == null) {
                return CompletableFuture.completedFuture(p);
            }
            StoreException e = translate(t, "open " + config.describe(), null, config);
            if (attempt < PROBE_ATTEMPTS && e.retryable()) {
                log.info("{}: probe failed ({}), trying again", config.describe(), e.getMessage());
                return probes(client, config, attempt + 1);
            }
            return CompletableFuture.<Probes>failedFuture(t);
        }).thenCompose(f -> f);
    }

    /**
     * Builds the client and, as configured, probes the server: whether it honours
     * {@code If-None-Match: *} on PutObject and CompleteMultipartUpload (by writing, overwriting
     * attempt and deleting one short-lived object named {@code <prefix>.holdfast-probe-<random>}),
     * and whether the bucket has Object Lock enabled. Fails with a {@link StoreException}
     * (retryable when the server was unavailable); the client is closed on failure.
     */
    public static CompletableFuture<S3ObjectStore> open(S3StoreConfig config) {
        Client built;
        try {
            built = buildClient(config);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(translate(e, "open " + config.describe(), null, config));
        }
        S3AsyncClient client = built.s3();
        return probes(client, config, 1).thenApply(p -> new S3ObjectStore(config, built, p.conditional(), p.lock()))
                .whenComplete((store, t) -> {
                    if (t != null) {
                        built.close();
                    } else {
                        log.info("opened {}: conditional writes {}, Object Lock {}", store.describe(),
                                store.nativeCreate && store.nativeComplete ? "native" : "emulated (HEAD before write)",
                                store.lock.enabled() ? "enabled" : "unavailable (" + store.lock.reason() + ")");
                    }
                })
                .handle((store, t) -> {
                    if (t != null) {
                        throw new CompletionException(translate(t, "open " + config.describe(), null, config));
                    }
                    return store;
                });
    }

    /**
     * The SDK client and its Netty event loops. The loops are ours, not the SDK's shared group, so
     * that closing a store ends them at once (the shared group lingers for Netty's 2 s quiet period
     * inside {@code close()}, which a CLI would pay at every exit).
     */
    private record Client(S3AsyncClient s3, SdkEventLoopGroup loops, AwsCredentialsProvider credentials) {
        void close() {
            try {
                s3.close();
                // The client does not close a provider it was given; the default chain holds HTTP clients.
                if (credentials instanceof AutoCloseable c) {
                    c.close();
                }
            } catch (Exception e) {
                log.debug("closing the S3 client: {}", e.toString());
            } finally {
                // In-flight requests were failed by the client's close; nothing more to wait for.
                loops.eventLoopGroup().shutdownGracefully(0, 5, TimeUnit.SECONDS);
            }
        }
    }

    private static Client buildClient(S3StoreConfig config) {
        AwsCredentialsProvider credentials = config.credentials()
                .<AwsCredentialsProvider>map(c -> StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())))
                .orElseGet(() -> DefaultCredentialsProvider.builder().build());
        SdkEventLoopGroup loops = SdkEventLoopGroup.builder().build();
        S3AsyncClientBuilder b = S3AsyncClient.builder()
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .eventLoopGroup(loops)
                        .maxConcurrency(config.maxConcurrency())
                        .connectionTimeout(config.connectTimeout())
                        .readTimeout(config.ioTimeout())
                        .writeTimeout(config.ioTimeout()))
                .region(Region.of(config.region()))
                .forcePathStyle(config.pathStyle())
                .credentialsProvider(credentials)
                // One retry layer only: RetryingObjectStore (see the class comment). The SDK's
                // default checksums (CRC32 on uploads, validation on downloads) stay on.
                .overrideConfiguration(o -> o
                        .retryStrategy(AwsRetryStrategy.doNotRetry())
                        .apiCallAttemptTimeout(config.attemptTimeout()));
        config.endpoint().ifPresent(b::endpointOverride);
        try {
            return new Client(b.build(), loops, credentials);
        } catch (RuntimeException e) {
            loops.eventLoopGroup().shutdownGracefully(0, 5, TimeUnit.SECONDS);
            throw e;
        }
    }

    // ---- probes, run once by open() ----

    private static CompletableFuture<boolean[]> probeConditionalWrites(S3AsyncClient s3, S3StoreConfig config) {
        byte[] r = new byte[8];
        new SecureRandom().nextBytes(r);
        String key = config.prefix() + PROBE_STEM + HEX.formatHex(r);
        boolean[] result = new boolean[2];
        Supplier<CompletableFuture<?>> put = () -> s3.putObject(b -> b.bucket(config.bucket()).key(key).ifNoneMatch("*"),
                AsyncRequestBody.fromBytes(new byte[0]));
        CompletableFuture<Void> probe = put.get().handle((v, t) -> t)
                .thenCompose(first -> {
                    if (first != null) {
                        if (refusesCondition(first)) {
                            return CompletableFuture.completedFuture(null);
                        }
                        return CompletableFuture.failedFuture(first);
                    }
                    // The probe object exists now: a second conditional put must be refused.
                    return put.get().handle((v, t) -> t).thenCompose(second -> {
                        if (second == null) {
                            return CompletableFuture.completedFuture(null); // the server ignored If-None-Match
                        }
                        if (status(second) == 412) {
                            result[0] = true;
                            return probeConditionalComplete(s3, config, key, result);
                        }
                        return refusesCondition(second) ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(second);
                    });
                });
        return probe.handle((v, t) -> t)
                .thenCompose(t -> s3.deleteObject(b -> b.bucket(config.bucket()).key(key)).handle((d, dt) -> t))
                .thenApply(t -> {
                    if (t == null) {
                        return result;
                    }
                    if (status(t) == 403) {
                        // Read-only credentials (a restore) cannot probe; they never write either.
                        log.warn("{}: could not probe conditional writes (access denied); creates are emulated with HEAD",
                                config.describe());
                        return new boolean[] {false, false};
                    }
                    throw new CompletionException(unwrap(t));
                });
    }

    /** With the probe object present, a conditional complete of a one-part upload of the same key must be refused. */
    private static CompletableFuture<Void> probeConditionalComplete(S3AsyncClient s3, S3StoreConfig config, String key, boolean[] result) {
        return s3.createMultipartUpload(b -> b.bucket(config.bucket()).key(key)).thenCompose(created -> {
            String id = created.uploadId();
            return s3.uploadPart(b -> b.bucket(config.bucket()).key(key).uploadId(id).partNumber(1),
                            AsyncRequestBody.fromBytes(new byte[] {1}))
                    .thenCompose(part -> s3.completeMultipartUpload(b -> b.bucket(config.bucket()).key(key).uploadId(id).ifNoneMatch("*")
                            .multipartUpload(m -> m.parts(CompletedPart.builder().partNumber(1).eTag(part.eTag()).build()))))
                    .handle((v, t) -> t)
                    .thenCompose(t -> s3.abortMultipartUpload(b -> b.bucket(config.bucket()).key(key).uploadId(id))
                            .handle((a, at) -> t))
                    .thenCompose(t -> {
                        if (t == null) {
                            return CompletableFuture.completedFuture(null); // completed over the object: not honoured
                        }
                        if (status(t) == 412) {
                            result[1] = true;
                            return CompletableFuture.completedFuture(null);
                        }
                        return refusesCondition(t) ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(t);
                    });
        });
    }

    /** The answers of a server that does not implement a conditional header (rather than failing for another reason). */
    private static boolean refusesCondition(Throwable t) {
        int s = status(t);
        return s == 501 || s == 400 || s == 405;
    }

    private static CompletableFuture<LockProbe> probeObjectLock(S3AsyncClient s3, S3StoreConfig config) {
        return s3.getObjectLockConfiguration(b -> b.bucket(config.bucket())).handle((r, t) -> {
            if (t == null) {
                boolean on = r.objectLockConfiguration() != null
                        && r.objectLockConfiguration().objectLockEnabled() == ObjectLockEnabled.ENABLED;
                return new LockProbe(on, on ? "" : "bucket '" + config.bucket() + "' does not have Object Lock enabled");
            }
            int s = status(t);
            String code = errorCode(t);
            if (s == 404 && !"NoSuchBucket".equals(code)) {
                return new LockProbe(false, "bucket '" + config.bucket() + "' has no Object Lock configuration"
                        + " (Object Lock can only be enabled when a bucket is created)");
            }
            if (s == 501 || s == 400 || s == 405) {
                return new LockProbe(false, "the server does not implement Object Lock (" + s + (code == null ? "" : " " + code) + ")");
            }
            if (s == 403) {
                return new LockProbe(false, "the credentials may not read the bucket's Object Lock configuration"
                        + " (s3:GetBucketObjectLockConfiguration); set objectLock=ENABLED to assert that it is enabled");
            }
            throw new CompletionException(unwrap(t));
        });
    }

    // ---- ObjectStore ----

    @Override
    public String describe() {
        return config.describe();
    }

    /** The configuration this store was opened with (its {@code toString()} hides the secret). */
    public S3StoreConfig config() {
        return config;
    }

    @Override
    public StoreCapabilities capabilities() {
        return new StoreCapabilities(nativeCreate && nativeComplete, lock.enabled(), MIN_PART_SIZE, MAX_PARTS);
    }

    @Override
    public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
        String what = "create object '" + key + "'" + lockSuffix(options);
        StoreException refused = refuseUnsupported(key, options);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        PutObjectRequest.Builder b = PutObjectRequest.builder()
                .bucket(config.bucket())
                .key(s3Key(key))
                .contentLength((long) data.remaining());
        options.storageClass().ifPresent(b::storageClass);
        options.lock().ifPresent(l -> b.objectLockMode(ObjectLockMode.fromValue(l.mode().name())).objectLockRetainUntilDate(l.retainUntil()));
        if (options.legalHold()) {
            b.objectLockLegalHoldStatus(ObjectLockLegalHoldStatus.ON);
        }
        if (nativeCreate) {
            b.ifNoneMatch("*");
        }
        PutObjectRequest request = b.build();
        // Borrowed buffer: the SDK reads a duplicate, so the caller's position never moves and a
        // retry can send the same buffer again. No copy of possibly large data.
        Supplier<CompletableFuture<Void>> put = () -> call(what, key,
                () -> s3.putObject(request, AsyncRequestBody.fromByteBufferUnsafe(data.duplicate()))).thenApply(r -> null);
        return nativeCreate ? put.get() : failIfExists(key, what).thenCompose(v -> put.get());
    }

    @Override
    public CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options) {
        String what = "start multipart upload of '" + key + "'" + lockSuffix(options);
        StoreException refused = refuseUnsupported(key, options);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        CreateMultipartUploadRequest.Builder b = CreateMultipartUploadRequest.builder()
                .bucket(config.bucket())
                .key(s3Key(key))
                // Each part carries a CRC32 that the server checks, and complete lists them, so the
                // server also verifies the assembled object against what we sent.
                .checksumAlgorithm(ChecksumAlgorithm.CRC32);
        options.storageClass().ifPresent(b::storageClass);
        options.lock().ifPresent(l -> b.objectLockMode(ObjectLockMode.fromValue(l.mode().name())).objectLockRetainUntilDate(l.retainUntil()));
        if (options.legalHold()) {
            b.objectLockLegalHoldStatus(ObjectLockLegalHoldStatus.ON);
        }
        CreateMultipartUploadRequest request = b.build();
        return call(what, key, () -> s3.createMultipartUpload(request)).thenApply(r -> new S3Upload(key, r.uploadId()));
    }

    @Override
    public CompletableFuture<byte[]> get(ObjectKey key) {
        return call("read object '" + key + "'", key,
                () -> s3.getObject(b -> b.bucket(config.bucket()).key(s3Key(key)), AsyncResponseTransformer.toBytes()))
                .thenApply(r -> r.asByteArrayUnsafe());
    }

    @Override
    public CompletableFuture<byte[]> getRange(ObjectKey key, long offset, long length) {
        if (offset < 0 || length < 0) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("negative offset or length: " + offset + ", " + length));
        }
        String what = "read " + length + " bytes at " + offset + " of object '" + key + "'";
        if (length == 0) {
            // HTTP cannot express an empty range; the object must still exist.
            return head(key).thenApply(info -> {
                if (info.isEmpty()) {
                    throw StoreException.notFound(key);
                }
                return new byte[0];
            });
        }
        long last = length > Long.MAX_VALUE - offset ? Long.MAX_VALUE - 1 : offset + length - 1;
        String range = "bytes=" + offset + "-" + last;
        return send(() -> s3.getObject(b -> b.bucket(config.bucket()).key(s3Key(key)).range(range), AsyncResponseTransformer.toBytes()))
                .handle((r, t) -> {
                    if (t == null) {
                        return r.asByteArrayUnsafe();
                    }
                    // 416: the offset is at or past the end (or the object is empty), which the
                    // contract answers with an empty array rather than an error.
                    if (status(t) == 416) {
                        return new byte[0];
                    }
                    throw new CompletionException(translate(t, what, key, config));
                });
    }

    @Override
    public CompletableFuture<InputStream> openStream(ObjectKey key) {
        String what = "read object '" + key + "'";
        return call(what, key, () -> s3.getObject(b -> b.bucket(config.bucket()).key(s3Key(key)),
                        AsyncResponseTransformer.<GetObjectResponse>toBlockingInputStream()))
                .thenApply(in -> new TranslatingInputStream(in, what, key));
    }

    @Override
    public CompletableFuture<Optional<ObjectInfo>> head(ObjectKey key) {
        return send(() -> s3.headObject(b -> b.bucket(config.bucket()).key(s3Key(key)))).handle((r, t) -> {
            if (t == null) {
                ObjectInfo plain = info(key, r.contentLength(), r.lastModified(), r.eTag());
                // The lock headers come back only with s3:GetObjectRetention / s3:GetObjectLegalHold (docs/s3-policy.md).
                ObjectLock.Mode mode = r.objectLockMode() == null ? null
                        : r.objectLockMode() == ObjectLockMode.COMPLIANCE ? ObjectLock.Mode.COMPLIANCE : ObjectLock.Mode.GOVERNANCE;
                boolean hold = r.objectLockLegalHoldStatus() == ObjectLockLegalHoldStatus.ON;
                return Optional.of(new ObjectInfo(plain.key(), plain.size(), plain.lastModified(), plain.etag(),
                        new ObjectInfo.LockState(mode, r.objectLockRetainUntilDate(), hold)));
            }
            // HEAD answers carry no body, so a 404 cannot be told apart from a missing bucket here.
            if (status(t) == 404) {
                return Optional.<ObjectInfo>empty();
            }
            throw new CompletionException(translate(t, "look up object '" + key + "'", key, config));
        });
    }

    @Override
    public CompletableFuture<ListPage> list(String prefix, Optional<String> continuation, int maxKeys) {
        if (maxKeys < 1) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("maxKeys must be at least 1"));
        }
        ListObjectsV2Request.Builder b = ListObjectsV2Request.builder()
                .bucket(config.bucket())
                .prefix(config.prefix() + prefix)
                .maxKeys(maxKeys);
        continuation.ifPresent(b::continuationToken);
        ListObjectsV2Request request = b.build();
        return call("list objects under '" + prefix + "'", null, () -> s3.listObjectsV2(request)).thenApply(r -> {
            List<ObjectInfo> objects = new ArrayList<>(r.contents().size());
            for (S3Object o : r.contents()) {
                String k = o.key();
                if (!k.startsWith(config.prefix())) {
                    continue;
                }
                String rel = k.substring(config.prefix().length());
                // Foreign objects and this store's own probe objects are not repository objects.
                if (ObjectKey.isValid(rel)) {
                    objects.add(info(ObjectKey.of(rel), o.size(), o.lastModified(), o.eTag()));
                }
            }
            boolean more = Boolean.TRUE.equals(r.isTruncated()) && r.nextContinuationToken() != null;
            return new ListPage(objects, more ? Optional.of(r.nextContinuationToken()) : Optional.empty());
        });
    }

    @Override
    public CompletableFuture<Void> delete(ObjectKey key) {
        return send(() -> s3.deleteObject(b -> b.bucket(config.bucket()).key(s3Key(key)))).handle((r, t) -> {
            if (t == null) {
                return null;
            }
            StoreException e = translate(t, "delete object '" + key + "'", key, config);
            if (e.code() == ErrorCode.OBJECT_NOT_FOUND) {
                return null; // idempotent
            }
            throw new CompletionException(e);
        });
    }

    /**
     * Aborts the multipart uploads under this store's prefix that were started before
     * {@code cutoff}: the parts a crashed or cut-off writer left behind (its abort could not reach the
     * server). They are never visible as objects, but they cost storage until aborted. Bucket
     * lifecycle rules ("abort incomplete multipart uploads after N days") do the same server-side.
     * Returns how many were aborted.
     */
    public CompletableFuture<Integer> abortUploadsStartedBefore(Instant cutoff) {
        return abortUploadsFrom(cutoff, null, null, 0, 0);
    }

    private CompletableFuture<Integer> abortUploadsFrom(Instant cutoff, String keyMarker, String idMarker, int aborted, int page) {
        return call("list incomplete multipart uploads", null, () -> s3.listMultipartUploads(b -> b.bucket(config.bucket())
                .prefix(config.prefix()).keyMarker(keyMarker).uploadIdMarker(idMarker)))
                .thenCompose(r -> {
                    List<CompletableFuture<Void>> aborts = new ArrayList<>();
                    for (software.amazon.awssdk.services.s3.model.MultipartUpload u : r.uploads()) {
                        if (u.initiated() != null && u.initiated().isBefore(cutoff)) {
                            aborts.add(call("abort stale multipart upload of '" + u.key() + "'", null,
                                    () -> s3.abortMultipartUpload(b -> b.bucket(config.bucket()).key(u.key()).uploadId(u.uploadId())))
                                    .handle((v, t) -> {
                                        StoreException e = t == null ? null : (StoreException) HoldfastException.find(t);
                                        if (e != null && e.code() != ErrorCode.OBJECT_NOT_FOUND) {
                                            throw new CompletionException(e);
                                        }
                                        return null;
                                    }));
                        }
                    }
                    int total = aborted + aborts.size();
                    return CompletableFuture.allOf(aborts.toArray(CompletableFuture[]::new)).thenCompose(v -> {
                        // Bounded: S3 pages end, and a server that keeps answering "truncated" is cut off.
                        if (Boolean.TRUE.equals(r.isTruncated()) && page < 10_000 && hasNextMarker(r)) {
                            return abortUploadsFrom(cutoff, r.nextKeyMarker(), r.nextUploadIdMarker(), total, page + 1);
                        }
                        return CompletableFuture.completedFuture(total);
                    });
                });
    }

    private static boolean hasNextMarker(ListMultipartUploadsResponse r) {
        return r.nextKeyMarker() != null && !r.nextKeyMarker().isEmpty();
    }

    /** Closes the client (failing requests still in flight) and stops its event loops without waiting. */
    @Override
    public void close() {
        client.close();
    }

    // ---- helpers ----

    private String s3Key(ObjectKey key) {
        return config.prefix() + key.value();
    }

    private StoreException refuseUnsupported(ObjectKey key, PutOptions options) {
        if (options.requiresObjectLock() && !lock.enabled()) {
            return new StoreException(ErrorCode.STORE_ERROR, "unable to write object '" + key + "' with Object Lock"
                    + " retention or legal hold: " + lock.reason() + " (" + describe() + ")", false, null);
        }
        return null;
    }

    private static String lockSuffix(PutOptions options) {
        StringBuilder s = new StringBuilder();
        options.lock().ifPresent(l -> s.append(" with Object Lock ").append(l.mode()).append(" until ").append(l.retainUntil()));
        if (options.legalHold()) {
            s.append(" with an Object Lock legal hold");
        }
        return s.toString();
    }

    /** Emulated create-if-absent: HEAD first. Racy between two writers; capabilities() says so. */
    private CompletableFuture<Void> failIfExists(ObjectKey key, String what) {
        return send(() -> s3.headObject(b -> b.bucket(config.bucket()).key(s3Key(key)))).handle((r, t) -> {
            if (t == null) {
                throw new CompletionException(StoreException.exists(key));
            }
            if (status(t) == 404) {
                return null;
            }
            throw new CompletionException(translate(t, what, key, config));
        });
    }

    /** Starts one SDK call; an exception thrown while building or sending it becomes a failed future. */
    private static <T> CompletableFuture<T> send(Supplier<CompletableFuture<T>> request) {
        try {
            return request.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Runs one SDK call, translating any failure (thrown or in the future) at this boundary. */
    private <T> CompletableFuture<T> call(String what, ObjectKey key, Supplier<CompletableFuture<T>> request) {
        return send(request).handle((r, t) -> {
            if (t != null) {
                throw new CompletionException(translate(t, what, key, config));
            }
            return r;
        });
    }

    /**
     * The one place where SDK and I/O failures become {@link StoreException}s. Messages name the
     * operation, the key and the server's error code, never credentials or request signatures.
     */
    static StoreException translate(Throwable thrown, String what, ObjectKey key, S3StoreConfig config) {
        Throwable t = unwrap(thrown);
        if (t instanceof StoreException s) {
            return s;
        }
        if (t instanceof HoldfastException h) {
            return new StoreException(h.code(), h.getMessage(), false, h);
        }
        String where = " (" + config.describe() + ")";
        if (t instanceof AwsServiceException e) {
            int status = e.statusCode();
            String code = errorCode(e);
            String detail = status + (code == null ? "" : " " + code)
                    + (e.awsErrorDetails() != null && e.awsErrorDetails().errorMessage() != null
                    ? ": " + e.awsErrorDetails().errorMessage() : "");
            String message = "unable to " + what + where + ": " + detail;
            if (status == 404) {
                if ("NoSuchBucket".equals(code)) {
                    return new StoreException(ErrorCode.STORE_ERROR, "unable to " + what + ": bucket '" + config.bucket()
                            + "' does not exist" + where, false, e);
                }
                if ("NoSuchUpload".equals(code)) {
                    return new StoreException(ErrorCode.OBJECT_NOT_FOUND, "unable to " + what
                            + ": the multipart upload no longer exists (completed or aborted)" + where, false, e);
                }
                return key != null ? new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' does not exist" + where, false, e)
                        : new StoreException(ErrorCode.STORE_ERROR, message, false, e);
            }
            if (status == 412) {
                return key != null ? new StoreException(ErrorCode.OBJECT_EXISTS, "object '" + key + "' already exists" + where, false, e)
                        : new StoreException(ErrorCode.STORE_ERROR, message, false, e);
            }
            if (status == 403 || status == 401) {
                return new StoreException(ErrorCode.STORE_ACCESS_DENIED, "access denied: " + message, false, e);
            }
            if (isRetryable(status, code)) {
                return new StoreException(ErrorCode.STORE_UNAVAILABLE, message, true, e);
            }
            if (status == 501) {
                return new StoreException(ErrorCode.STORE_ERROR, "unable to " + what + where
                        + ": the server does not implement this (" + detail + ")", false, e);
            }
            return new StoreException(ErrorCode.STORE_ERROR, message, false, e);
        }
        if (t instanceof SdkClientException e) {
            if (isTransient(e)) {
                return new StoreException(ErrorCode.STORE_UNAVAILABLE, "unable to " + what + where + ": " + firstLine(e.getMessage()), true, e);
            }
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage());
            if (m.startsWith("Unable to load credentials")) {
                return new StoreException(ErrorCode.STORE_ACCESS_DENIED, "unable to " + what + where + ": no credentials: " + m, false, e);
            }
            return new StoreException(ErrorCode.STORE_ERROR, "unable to " + what + where + ": " + m, false, e);
        }
        if (t instanceof IOException || t instanceof TimeoutException) {
            return new StoreException(ErrorCode.STORE_UNAVAILABLE, "unable to " + what + where + ": " + t, true, t);
        }
        return new StoreException(ErrorCode.STORE_ERROR, "unable to " + what + where + ": unexpected " + t, false, t);
    }

    /** 5xx but 501, 429, throttling, S3's socket-level RequestTimeout, and conflicting concurrent conditional writes. */
    private static boolean isRetryable(int status, String code) {
        if (status >= 500 && status != 501) {
            return true;
        }
        if (status == 429) {
            return true;
        }
        if (code == null) {
            return false;
        }
        return switch (code) {
            case "SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "RequestLimitExceeded",
                 "RequestTimeout", "InternalError", "ServiceUnavailable", "ConditionalRequestConflict", "OperationAborted" -> true;
            default -> false;
        };
    }

    /** Timeouts, resets, refused or closed connections: the request may or may not have arrived. */
    private static boolean isTransient(SdkClientException e) {
        if (e instanceof ApiCallAttemptTimeoutException || e instanceof ApiCallTimeoutException || e.retryable()) {
            return true;
        }
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof IOException || c instanceof TimeoutException
                    || c.getClass().getName().startsWith("io.netty.channel.")
                    || c.getClass().getName().startsWith("io.netty.handler.timeout.")) {
                return true;
            }
        }
        return false;
    }

    static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    private static int status(Throwable t) {
        Throwable c = unwrap(t);
        return c instanceof AwsServiceException e ? e.statusCode() : -1;
    }

    private static String errorCode(Throwable t) {
        Throwable c = unwrap(t);
        if (c instanceof AwsServiceException e && e.awsErrorDetails() != null) {
            return e.awsErrorDetails().errorCode();
        }
        return null;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Metadata as the contract wants it: S3's quotes removed from the ETag, absent values made harmless. */
    private static ObjectInfo info(ObjectKey key, Long size, Instant lastModified, String etag) {
        return new ObjectInfo(key, size == null ? 0 : size, lastModified == null ? Instant.EPOCH : lastModified, unquote(etag));
    }

    private static String unquote(String etag) {
        if (etag == null) {
            return "";
        }
        return etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"") ? etag.substring(1, etag.length() - 1) : etag;
    }

    /**
     * One multipart upload. Part ETags and checksums are kept per part number in a concurrent sorted
     * map: parts may complete in any order and on any thread, and an uploaded-again part replaces
     * the earlier one.
     */
    private final class S3Upload implements MultipartUpload, RetryingObjectStore.PredictsEtag {
        private final ObjectKey key;
        private final String uploadId;
        private final Map<Integer, CompletedPart> parts = new ConcurrentSkipListMap<>();

        S3Upload(ObjectKey key, String uploadId) {
            this.key = key;
            this.uploadId = uploadId;
        }

        @Override
        public ObjectKey key() {
            return key;
        }

        @Override
        public CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data) {
            if (partNumber < 1 || partNumber > MAX_PARTS) {
                return CompletableFuture.failedFuture(new IllegalArgumentException("part number " + partNumber + " out of 1.." + MAX_PARTS));
            }
            String what = "upload part " + partNumber + " of '" + key + "'";
            return call(what, key, () -> s3.uploadPart(b -> b.bucket(config.bucket()).key(s3Key(key)).uploadId(uploadId)
                            .partNumber(partNumber).contentLength((long) data.remaining()).checksumAlgorithm(ChecksumAlgorithm.CRC32),
                    AsyncRequestBody.fromByteBufferUnsafe(data.duplicate())))
                    .thenAccept(r -> parts.put(partNumber, CompletedPart.builder()
                            .partNumber(partNumber).eTag(r.eTag()).checksumCRC32(r.checksumCRC32()).build()));
        }

        @Override
        public CompletableFuture<Void> complete() {
            String what = "complete multipart upload of '" + key + "'";
            List<CompletedPart> sorted = new ArrayList<>(parts.values());
            for (int i = 0; i < sorted.size(); i++) {
                // S3 would happily assemble parts 1, 2 and 4: refuse a gap instead of losing data.
                if (sorted.get(i).partNumber() != i + 1) {
                    return CompletableFuture.failedFuture(new StoreException(ErrorCode.INTERNAL, "unable to " + what
                            + ": part " + (i + 1) + " was not uploaded", false, null));
                }
            }
            if (sorted.isEmpty()) {
                return CompletableFuture.failedFuture(new StoreException(ErrorCode.INTERNAL, "unable to " + what
                        + ": no part was uploaded", false, null));
            }
            CompleteMultipartUploadRequest.Builder b = CompleteMultipartUploadRequest.builder()
                    .bucket(config.bucket()).key(s3Key(key)).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(sorted));
            if (nativeComplete) {
                b.ifNoneMatch("*");
            }
            CompleteMultipartUploadRequest request = b.build();
            Supplier<CompletableFuture<Void>> complete = () -> call(what, key, () -> s3.completeMultipartUpload(request)).thenApply(r -> null);
            return nativeComplete ? complete.get() : failIfExists(key, what).thenCompose(v -> complete.get());
        }

        @Override
        public CompletableFuture<Void> abort() {
            return send(() -> s3.abortMultipartUpload(b -> b.bucket(config.bucket()).key(s3Key(key)).uploadId(uploadId))).handle((r, t) -> {
                if (t == null) {
                    return null;
                }
                StoreException e = translate(t, "abort multipart upload of '" + key + "'", key, config);
                if (e.code() == ErrorCode.OBJECT_NOT_FOUND) {
                    return null; // NoSuchUpload: already aborted or completed; abort is idempotent
                }
                throw new CompletionException(e);
            });
        }

        /**
         * S3's ETag for a completed multipart object: the MD5 of the parts' binary MD5s, then
         * {@code -n}. Known only when every part's ETag is a plain MD5 (not with SSE-KMS or SSE-C).
         */
        @Override
        public Optional<String> expectedEtag() {
            List<CompletedPart> sorted = new ArrayList<>(parts.values());
            try {
                MessageDigest md5 = MessageDigest.getInstance("MD5");
                for (CompletedPart p : sorted) {
                    String e = unquote(p.eTag());
                    if (!e.matches("[0-9a-fA-F]{32}")) {
                        return Optional.empty();
                    }
                    md5.update(HEX.parseHex(e.toLowerCase(java.util.Locale.ROOT)));
                }
                return sorted.isEmpty() ? Optional.empty() : Optional.of(HEX.formatHex(md5.digest()) + "-" + sorted.size());
            } catch (NoSuchAlgorithmException e) {
                return Optional.empty();
            }
        }
    }

    /**
     * A response body whose failures surface as {@code IOException}s caused by a translated
     * {@link StoreException}, as {@link ObjectStore#openStream} promises.
     */
    private final class TranslatingInputStream extends FilterInputStream {
        private final String what;
        private final ObjectKey key;
        private boolean eof;

        TranslatingInputStream(ResponseInputStream<GetObjectResponse> in, String what, ObjectKey key) {
            super(in);
            this.what = what;
            this.key = key;
        }

        @Override
        public int read() throws IOException {
            try {
                int b = super.read();
                eof |= b < 0;
                return b;
            } catch (IOException | RuntimeException e) {
                throw wrap(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                int n = super.read(b, off, len);
                eof |= n < 0;
                return n;
            } catch (IOException | RuntimeException e) {
                throw wrap(e);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                return super.skip(n);
            } catch (IOException | RuntimeException e) {
                throw wrap(e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                if (!eof) {
                    // Abandoned part-way: drop the connection rather than drain the rest of the body.
                    ((ResponseInputStream<?>) in).abort();
                }
                super.close();
            } catch (IOException | RuntimeException e) {
                // closing a stream the reader is done with cannot fail the reader
            }
        }

        private IOException wrap(Exception e) {
            if (e instanceof IOException io && HoldfastException.find(io) != null) {
                return io;
            }
            StoreException s = translate(e, what, key, config);
            return new IOException(s.getMessage(), s);
        }
    }
}
