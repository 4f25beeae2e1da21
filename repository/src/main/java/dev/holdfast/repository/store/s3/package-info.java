/**
 * The S3 backend: {@link dev.holdfast.repository.store.s3.S3ObjectStore} keeps a repository under a
 * key prefix in an S3 bucket (AWS or any S3-compatible server), configured by
 * {@link dev.holdfast.repository.store.s3.S3StoreConfig}. It passes the {@code ObjectStoreContract}
 * against a real S3 API server over HTTP. Guarantees: objects are never overwritten (PutObject and
 * CompleteMultipartUpload carry {@code If-None-Match: *} where the server honours it, probed at open,
 * else a HEAD precedes the write and {@code atomicCreate} is reported false); nothing is visible
 * before a write completes; Object Lock retention and legal holds are applied when asked for, or the
 * write fails with {@code STORE_ERROR} naming Object Lock, never silently unlocked; every SDK and
 * network failure is translated at this boundary into a {@code StoreException} whose
 * {@code retryable()} drives {@link dev.holdfast.repository.store.RetryingObjectStore}, the only
 * retry layer (the SDK's own retries are off); messages and {@code toString()} never carry
 * credentials.
 */
package dev.holdfast.repository.store.s3;
