package dev.holdfast.repository.crypto;

import java.nio.ByteBuffer;

/**
 * Brings the JDK's AES-GCM to its compiled, intrinsic speed (docs/format.md, "Implementation
 * notes"): from cold it runs at under 100 MB/s until enough calls have been made for the JIT to
 * compile it. Processes that move bulk data start it at launch, in the background.
 */
public final class GcmWarmUp {
    private static Thread background;
    private static volatile boolean done;

    private GcmWarmUp() {
    }

    /**
     * Runs the warm-up on the calling thread (benchmarks call it, as they must measure warm code).
     * Two sizes, because the JDK takes a different path for large inputs: 64 KiB (the encryption
     * slices) and a whole default segment (decryption is one call per segment). Measured here:
     * without the second phase, 1 MiB decryptions stay near 80 MB/s indefinitely, even after the
     * first; with it they reach 4-5 GB/s. About a second and a half of one core.
     */
    public static void run() {
        exercise(64 * 1024, 3000);
        exercise((1 << 20) + 1, 256);
        done = true;
    }

    private static void exercise(int size, int calls) {
        byte[] key = new byte[32];
        byte[] nonce = new byte[Gcm.NONCE_BYTES];
        byte[] aad = new byte[64];
        ByteBuffer plain = ByteBuffer.allocate(size);
        ByteBuffer sealed = ByteBuffer.allocate(size + Gcm.TAG_BYTES);
        ByteBuffer opened = ByteBuffer.allocate(size);
        Gcm gcm = Gcm.get();
        byte[] sealedWith = null;
        for (int i = 0; i < calls; i++) {
            if (i < 8 || i % 16 == 0) {
                // A distinct nonce per encryption: the JDK refuses to reuse a key and nonce for it.
                nonce[0] = (byte) i;
                nonce[1] = (byte) (i >>> 8);
                nonce[2] = (byte) size;
                nonce[3] = (byte) (size >>> 8);
                plain.clear();
                sealed.clear();
                gcm.encrypt(key, nonce, aad, plain, sealed);
                sealed.flip();
                sealedWith = nonce.clone();
            }
            opened.clear();
            gcm.decrypt(key, sealedWith, aad, sealed.duplicate(), opened, "warm-up");
        }
    }

    /** Starts {@link #run()} on a daemon thread, once per process. */
    public static synchronized void startInBackground() {
        if (done) {
            return;
        }
        done = true;
        background = new Thread(GcmWarmUp::run, "holdfast-gcm-warm-up");
        background.setDaemon(true);
        background.setPriority(Thread.MIN_PRIORITY);
        background.start();
    }

    /**
     * Waits until the warm-up is over, starting it first if nobody did: bulk decryption must not
     * begin before it, or 1 MiB decryptions may stay on the slow path (see {@link #run()}).
     */
    public static void await() {
        startInBackground();
        Thread t;
        synchronized (GcmWarmUp.class) {
            t = background;
        }
        if (t == null) {
            return;
        }
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
