/**
 * Object storage: the {@link dev.holdfast.repository.store.ObjectStore} interface, the value types
 * it speaks ({@link dev.holdfast.repository.store.ObjectKey}, options, listings), the decorators
 * that wrap any store (retry with backoff and jitter) and {@link
 * dev.holdfast.repository.store.StreamingUpload}, which turns a stream of bytes into one object with
 * a bounded number of parts in memory. Backends live in sibling packages ({@code fs}, {@code s3})
 * and translate their vendor's errors into {@link dev.holdfast.repository.store.StoreException}.
 */
package dev.holdfast.repository.store;
