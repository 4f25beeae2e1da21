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
     * Encryption: 64 KiB calls (the encryption slices). Decryption is one call per segment, and a
     * long call runs the JDK's GHASH as plain Java until the method is compiled with its intrinsic,
     * which takes several hundred calls: measured here, 1 MiB decryptions stay near 85 MB/s for
     * hundreds of calls, then jump to 4-5 GB/s once compiled. So: many short decryptions (4 KiB)
     * to get it compiled, checked with 1 MiB ones until one runs at compiled speed (over 1.7 GB/s;
     * the compiler works in the background, slowly on a busy machine), for at most {@link #LIMIT};
     * then the encryption slices. Typically half a second of one core.
     */
    public static void run() {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        do {
            exercise(4096, 1000);
        } while (exercise((1 << 20) + 1, 1) > 600_000L && System.nanoTime() < deadline);
        exercise(64 * 1024, 3000);
        while (exercise((1 << 20) + 1, 1) > 600_000L && System.nanoTime() < deadline) {
            exercise(4096, 200);
        }
        done = true;
    }

    /** How long {@link #run()} waits at most for compiled decryption. */
    private static final java.time.Duration LIMIT = java.time.Duration.ofSeconds(5);

    /** {@code calls} decryptions of {@code size} bytes (and some encryptions); returns the nanoseconds of the last decryption. */
    private static long exercise(int size, int calls) {
        byte[] key = new byte[32];
        byte[] nonce = new byte[Gcm.NONCE_BYTES];
        byte[] aad = new byte[64];
        ByteBuffer plain = ByteBuffer.allocate(size);
        ByteBuffer sealed = ByteBuffer.allocate(size + Gcm.TAG_BYTES);
        ByteBuffer opened = ByteBuffer.allocate(size);
        Gcm gcm = Gcm.get();
        byte[] sealedWith = null;
        long last = 0;
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
            last = System.nanoTime();
            gcm.decrypt(key, sealedWith, aad, sealed.duplicate(), opened, "warm-up");
            last = System.nanoTime() - last;
        }
        return last;
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
