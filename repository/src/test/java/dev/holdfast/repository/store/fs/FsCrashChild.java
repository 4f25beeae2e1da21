package dev.holdfast.repository.store.fs;

import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.StreamingUpload;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;

/**
 * The child process of {@link FsObjectStoreCrashTest}: uploads a deterministic multipart object and
 * announces its progress on stdout, so the parent can kill -9 it at a chosen moment.
 * Usage: {@code FsCrashChild ROOT KEY PARTS MODE} where MODE is {@code hang} (stop before
 * finishing) or {@code finish}.
 */
public final class FsCrashChild {
    public static final int PART = 1 << 20;

    public static void main(String[] args) throws Exception {
        FsObjectStore store = FsObjectStore.open(Path.of(args[0]), Clock.systemUTC());
        int parts = Integer.parseInt(args[2]);
        StreamingUpload up = new StreamingUpload(store, ObjectKey.of(args[1]), PutOptions.DEFAULT, PART, 2);
        for (int i = 0; i < parts; i++) {
            up.write(ByteBuffer.wrap(part(i))).join();
        }
        if (args[3].equals("hang")) {
            System.out.println("PARTS-WRITTEN");
            System.out.flush();
            Thread.sleep(120_000);
            return;
        }
        System.out.println("COMPLETING");
        System.out.flush();
        up.finish().join();
        System.out.println("DONE");
        System.out.flush();
        Thread.sleep(120_000);
    }

    /** Part i's deterministic content. */
    public static byte[] part(int i) {
        byte[] b = new byte[PART];
        new java.util.Random(i).nextBytes(b);
        return b;
    }
}
