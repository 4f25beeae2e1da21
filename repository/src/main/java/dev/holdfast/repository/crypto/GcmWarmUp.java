package dev.holdfast.repository.crypto;

import java.nio.ByteBuffer;

/**
 * Brings the JDK's AES-GCM to its compiled, intrinsic speed (docs/format.md, "Implementation
 * notes"): from cold it runs at under 100 MB/s until enough calls have been made for the JIT to
 * compile it. About a second of one core; processes that move bulk data start it at launch.
 */
public final class GcmWarmUp {
    private static volatile boolean done;

    private GcmWarmUp() {
    }

    /** Runs the warm-up on the calling thread (for benchmarks, which must measure warm code). */
    public static void run() {
        byte[] key = new byte[32];
        byte[] nonce = new byte[Gcm.NONCE_BYTES];
        byte[] aad = new byte[64];
        ByteBuffer plain = ByteBuffer.allocate(64 * 1024);
        ByteBuffer sealed = ByteBuffer.allocate(64 * 1024 + Gcm.TAG_BYTES);
        ByteBuffer opened = ByteBuffer.allocate(64 * 1024);
        Gcm gcm = Gcm.get();
        for (int i = 0; i < 3000; i++) {
            // A distinct nonce per call: the JDK refuses to reuse a key and nonce for encryption.
            nonce[0] = (byte) i;
            nonce[1] = (byte) (i >>> 8);
            plain.clear();
            sealed.clear();
            gcm.encrypt(key, nonce, aad, plain, sealed);
            sealed.flip();
            opened.clear();
            gcm.decrypt(key, nonce, aad, sealed, opened, "warm-up");
        }
        done = true;
    }

    /** Starts {@link #run()} on a daemon thread, once per process. */
    public static synchronized void startInBackground() {
        if (done) {
            return;
        }
        done = true;
        Thread t = new Thread(GcmWarmUp::run, "holdfast-gcm-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }
}
