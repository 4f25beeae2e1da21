package dev.holdfast.repository.crypto;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a 16-byte tag, through the JDK's provider, called the way that stays fast on
 * JDK 17 (docs/format.md, "Implementation notes"): encryption is fed in 64 KiB {@code update}
 * slices and decryption goes through the {@code ByteBuffer} API. One instance per thread: a
 * {@link Cipher} is not thread-safe.
 */
public final class Gcm {
    public static final int TAG_BYTES = 16;
    public static final int NONCE_BYTES = 12;
    private static final int SLICE = 64 * 1024;
    private static final ThreadLocal<Gcm> PER_THREAD = ThreadLocal.withInitial(Gcm::new);

    private final Cipher cipher;

    private Gcm() {
        try {
            cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no AES/GCM/NoPadding", e);
        }
    }

    /** This thread's instance. */
    public static Gcm get() {
        return PER_THREAD.get();
    }

    /**
     * Encrypts {@code plaintext} (position to limit; consumed) into {@code out}, appending
     * ciphertext and tag ({@code plaintext.remaining() + 16} bytes).
     */
    public void encrypt(byte[] key, byte[] nonce, byte[] aad, ByteBuffer plaintext, ByteBuffer out) {
        try {
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BYTES * 8, nonce));
            cipher.updateAAD(aad);
            while (plaintext.remaining() > SLICE) {
                ByteBuffer slice = plaintext.slice();
                slice.limit(SLICE);
                cipher.update(slice, out);
                plaintext.position(plaintext.position() + SLICE);
            }
            cipher.doFinal(plaintext, out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * Like {@link #decrypt} but answers false instead of throwing when the tag does not verify
     * ({@code out} is then untouched). For trying a segment as the footer before trying it as data.
     */
    public boolean tryDecrypt(byte[] key, byte[] nonce, byte[] aad, ByteBuffer ciphertext, ByteBuffer out) {
        try {
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BYTES * 8, nonce));
            cipher.updateAAD(aad);
            cipher.doFinal(ciphertext, out);
            return true;
        } catch (AEADBadTagException e) {
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM decryption failed", e);
        }
    }

    /**
     * Decrypts {@code ciphertext} (ciphertext || tag, position to limit; consumed) into {@code out}.
     * Nothing is written to {@code out} unless the tag verifies.
     *
     * @throws HoldfastException {@code INTEGRITY_FAILURE} with {@code what} in the message when the
     *                           tag does not verify
     */
    public void decrypt(byte[] key, byte[] nonce, byte[] aad, ByteBuffer ciphertext, ByteBuffer out, String what) {
        try {
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BYTES * 8, nonce));
            cipher.updateAAD(aad);
            cipher.doFinal(ciphertext, out);
        } catch (AEADBadTagException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " failed authentication (tampered, truncated, "
                    + "moved from another name, or sealed under another key)");
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " could not be decrypted: " + e.getMessage());
        }
    }
}
