/**
 * The agent's non-blocking upload pipeline: a Vert.x {@code ReadStream} (a file, WAL, a dump) is
 * cut into fixed-size segments, sealed with zstd and AES-256-GCM on a worker pool in parallel,
 * put back in order, digested (CRC32C, SHA-256) in order, and streamed into a
 * {@code StreamingUpload}, so that one object is written per stream with nothing visible until it
 * is complete. The event loop only moves buffers and futures; back-pressure runs from the store to
 * the source, which bounds memory per upload (the formula is in {@link
 * dev.holdfast.agent.pipeline.UploadPipeline}). {@link dev.holdfast.agent.pipeline.UploadPipeline}
 * and {@link dev.holdfast.agent.pipeline.UploadOptions} are the API; the repository's
 * {@code SealingOutputStream} is the synchronous reference for the bytes written.
 */
package dev.holdfast.agent.pipeline;
