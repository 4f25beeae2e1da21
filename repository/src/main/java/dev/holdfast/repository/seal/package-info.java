/**
 * Sealed objects (docs/format.md section 6): the header, the segment codec (zstd, then AES-256-GCM
 * in the STREAM construction), the footer with length and checksums, and the streams that write
 * and read whole objects. Nothing here knows about stores or Vert.x; the codec is thread-safe so
 * callers may seal or open segments in parallel.
 */
package dev.holdfast.repository.seal;
