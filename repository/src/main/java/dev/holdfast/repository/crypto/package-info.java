/**
 * Key handling (docs/format.md section 5): the master key file, data keys and the envelopes that
 * wrap them, HKDF, and AES-256-GCM called the way that is fast on JDK 17. Raw key bytes never
 * leave these classes except wrapped; every {@code toString()} prints ids and versions only.
 */
package dev.holdfast.repository.crypto;
