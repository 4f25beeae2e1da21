package dev.holdfast.agent.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.RetryPolicy;
import dev.holdfast.repository.store.RetryingObjectStore;
import dev.holdfast.repository.store.s3.S3ObjectStore;
import dev.holdfast.testkit.S3TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshots and restore against a real S3 API server (S3Proxy over HTTP): head, create, multipart for a large file. */
class FilesS3Test {
    @TempDir
    Path dir;

    @Test
    void snapshotsDedupAndRestoreOverS3() throws Exception {
        Path src = dir.resolve("src");
        for (int i = 0; i < 50; i++) {
            FilesFixture.write(src.resolve("d" + (i % 5) + "/f" + i + ".conf"), "setting " + i + "\n");
        }
        byte[] big = new byte[3 * 1024 * 1024 + 17]; // streamed, multipart
        new Random(1).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Files.createSymbolicLink(src.resolve("link"), Path.of("d0/f0.conf"));
        for (var p : Files.walk(src).filter(Files::isRegularFile).toList()) {
            Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.fromMillis(1_700_000_000_000L));
        }
        try (S3TestServer s3 = S3TestServer.startInProcess(Files.createDirectories(dir.resolve("s3")))) {
            Clock clock = Clock.systemUTC();
            SecureRandom random = new SecureRandom();
            FilesFixture.CountingStore store = new FilesFixture.CountingStore(
                    // As StoreFactory opens it (S3Proxy now and then drops a keep-alive connection; production retries that).
                    RetryingObjectStore.wrap(S3ObjectStore.open(s3.storeConfig().prefix("files-test/").build()).get(60, TimeUnit.SECONDS),
                            RetryPolicy.DEFAULT));
            KeyFile key = KeyFile.create(dir.resolve("k.key"), clock, random);
            try (Repository repo = Repository.init(store, key, 1 << 20, 3, "test", clock, random)) {
                FilesSourceConfig c = new FilesSourceConfig("s3files", List.of(src.toString()), List.of(), List.of());
                FilesSnapshot.Result one = new FilesSnapshot(repo, c, "h", clock, 4).run(FilesSnapshot.Listener.none());
                assertEquals(51, one.filesUploaded());
                int objects = store.objects.get();
                FilesSnapshot.Result two = new FilesSnapshot(repo, c, "h", clock, 4).run(FilesSnapshot.Listener.none());
                assertFalse(two.stored());
                assertEquals(objects, store.objects.get(), "nothing written the second time");

                Files.writeString(src.resolve("d1/f1.conf"), "changed\n");
                FilesSnapshot.Result three = new FilesSnapshot(repo, c, "h", clock, 4).run(FilesSnapshot.Listener.none());
                assertTrue(three.stored());
                assertEquals(1, three.filesUploaded());

                Path allowed = Files.createDirectories(dir.resolve("restore"));
                FilesRestore.Result r = new FilesRestore(repo, random).restore(
                        new FilesRestore.Options("s3files", "latest", Optional.empty(), allowed.resolve("t"), List.of(allowed), false),
                        FilesSnapshot.Listener.none());
                assertEquals(51, r.files());
                assertEquals(FilesFixture.describe(src), FilesFixture.describe(allowed.resolve("t").resolve(src.toString().substring(1))));
            }
        }
    }
}
