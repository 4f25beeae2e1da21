package dev.holdfast.agent.files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ForwardingObjectStore;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tail mode: appends shipped once, rotation by rename, copytruncate, resume after a restart, restore by concatenation. */
class TailShipperTest {
    @TempDir
    Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void append(OutputStream out, String s, ByteArrayOutputStream expected) throws Exception {
        out.write(bytes(s));
        out.flush();
        expected.write(bytes(s));
    }

    @Test
    void appendsRotationCopytruncateAndRestart() throws Exception {
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Path log = logs.resolve("audit.log");
        FilesSourceConfig c = new FilesSourceConfig("logs", List.of(), List.of(), List.of(log.toString()));
        List<String> messages = new ArrayList<>();
        try (FilesFixture f = new FilesFixture(dir)) {
            ByteArrayOutputStream gen1 = new ByteArrayOutputStream();
            ByteArrayOutputStream gen2 = new ByteArrayOutputStream();
            ByteArrayOutputStream gen3 = new ByteArrayOutputStream();
            OutputStream w1 = Files.newOutputStream(log, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND);
            try (TailShipper s = new TailShipper(f.repository, c, Clock.systemUTC(), messages::add)) {
                append(w1, "line 1\n".repeat(10), gen1);
                s.tick();
                assertEquals(2, f.store.objects.get(), "meta and one segment");
                append(w1, "line 2\n", gen1);
                s.tick();
                int before = f.store.objects.get();
                s.tick();
                assertEquals(before, f.store.objects.get(), "nothing appended: nothing written");
                assertEquals(gen1.size(), s.bytesShipped());

                // rotation by rename: the writer keeps appending to the old inode before it reopens
                append(w1, "before rename\n", gen1);
                Files.move(log, logs.resolve("audit.log.1"));
                append(w1, "after rename, old inode\n", gen1);
                w1.close();
                OutputStream w2 = Files.newOutputStream(log, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND);
                append(w2, "new file\n", gen2);
                s.tick();
                assertEquals(gen1.size() + gen2.size(), s.bytesShipped(), "the old inode finished, the new file from 0");

                // copytruncate: copy then truncate in place; the writer goes on at the start
                append(w2, "more\n", gen2);
                s.tick();
                try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
                    ch.truncate(0);
                }
                w2.close();
                OutputStream w3 = Files.newOutputStream(log, StandardOpenOption.WRITE);
                append(w3, "after truncate\n", gen3);
                s.tick();
                w3.close();
            }
            assertTrue(messages.stream().anyMatch(m -> m.contains("copytruncate")), messages.toString());

            // an agent restart: the state comes back from the repository; nothing is shipped twice
            long objects = f.store.objects.get();
            try (OutputStream w4 = Files.newOutputStream(log, StandardOpenOption.APPEND);
                 TailShipper again = new TailShipper(f.repository, c, Clock.systemUTC(), messages::add)) {
                again.tick();
                assertEquals(0, again.bytesShipped());
                assertEquals(objects, f.store.objects.get());
                append(w4, "after restart\n", gen3);
                again.tick();
                assertEquals(bytes("after restart\n").length, again.bytesShipped());
            }
            assertTrue(messages.stream().anyMatch(m -> m.contains("resuming generation 3")), messages.toString());

            // restore: each generation concatenated; the newest under the file's name
            Path allowed = Files.createDirectories(dir.resolve("restore"));
            FilesRestore.Result r = new FilesRestore(f.repository, new SecureRandom()).restore(
                    new FilesRestore.Options("logs", "latest", Optional.empty(), allowed.resolve("t"), List.of(allowed), false),
                    FilesSnapshot.Listener.none());
            assertEquals(3, r.tailed());
            Path out = allowed.resolve("t").resolve(log.toString().substring(1));
            assertArrayEquals(gen3.toByteArray(), Files.readAllBytes(out));
            assertArrayEquals(gen2.toByteArray(), Files.readAllBytes(out.resolveSibling("audit.log.gen-00000002")));
            assertArrayEquals(gen1.toByteArray(), Files.readAllBytes(out.resolveSibling("audit.log.gen-00000001")));
        }
    }

    /** A store whose next create of a key starting with {@code lose} stores the object, then fails: a lost acknowledgement. */
    static final class LossyStore extends ForwardingObjectStore {
        volatile String lose;
        volatile boolean metaOnly;
        int lost;

        LossyStore(ObjectStore store) {
            super(store);
        }

        @Override
        public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
            String l = lose;
            if (l != null && key.value().startsWith(l) && key.value().endsWith("/meta") == metaOnly) {
                lose = null;
                lost++;
                return super.create(key, data, options).thenCompose(v -> CompletableFuture.failedFuture(
                        new HoldfastException(ErrorCode.IO_ERROR, "connection reset (the object was stored)")));
            }
            return super.create(key, data, options);
        }
    }

    private FilesRestore.Result restore(Repository repository, String target) throws Exception {
        Path allowed = Files.createDirectories(dir.resolve("restore"));
        return new FilesRestore(repository, new SecureRandom()).restore(
                new FilesRestore.Options("logs", "latest", Optional.empty(), allowed.resolve(target), List.of(allowed), false),
                FilesSnapshot.Listener.none());
    }

    private Path restored(String target, Path file) {
        return dir.resolve("restore").resolve(target).resolve(file.toString().substring(1));
    }

    @Test
    void lostAcknowledgementOfASegmentOrAMetaNeitherBlocksNorBreaksTailing() throws Exception {
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Path a = logs.resolve("a.log");
        Path b = logs.resolve("b.log");
        FilesSourceConfig c = new FilesSourceConfig("logs", List.of(), List.of(), List.of(logs + "/*.log"));
        List<String> messages = new ArrayList<>();
        try (FilesFixture f = new FilesFixture(dir)) {
            LossyStore lossy = new LossyStore(f.store);
            Repository repo = Repository.open(lossy, KeyFile.load(f.location.keyFile()), Clock.systemUTC(), new SecureRandom());
            String aPrefix = FilesLayout.tailPrefix("logs") + new ContentIds(repo).pathId(a.toString()) + "/";
            ByteArrayOutputStream a1 = new ByteArrayOutputStream();
            ByteArrayOutputStream a2 = new ByteArrayOutputStream();
            ByteArrayOutputStream b1 = new ByteArrayOutputStream();
            try (OutputStream wa = Files.newOutputStream(a, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND);
                 OutputStream wb = Files.newOutputStream(b, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND);
                 TailShipper s = new TailShipper(repo, c, Clock.systemUTC(), messages::add)) {
                append(wa, "a first\n", a1);
                append(wb, "b first\n", b1);
                s.tick();

                // a segment of a.log lands but the call fails; b.log is shipped in the same tick all the same
                lossy.lose = aPrefix;
                append(wa, "a second\n", a1);
                append(wb, "b second\n", b1);
                long before = s.bytesShipped();
                assertThrows(HoldfastException.class, s::tick);
                assertEquals(1, lossy.lost);
                assertEquals(before + bytes("b second\n").length, s.bytesShipped(), "the other file was shipped in the failed tick");
                append(wa, "a third\n", a1); // the file grew: a retry from the old offset would overlap the landed segment
                s.tick();
                s.tick();

                // a meta lands but the call fails (rotation of a.log): the next tick goes on, it does not meet OBJECT_EXISTS forever
                wa.close();
                Files.move(a, logs.resolve("a.log.1"));
                try (OutputStream wa2 = Files.newOutputStream(a, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND)) {
                    append(wa2, "a new file\n", a2);
                    lossy.lose = aPrefix;
                    lossy.metaOnly = true;
                    assertThrows(HoldfastException.class, s::tick);
                    assertEquals(2, lossy.lost);
                    s.tick();
                    append(wa2, "a new file, more\n", a2);
                    s.tick();
                }
            }
            FilesRestore.Result r = restore(repo, "t");
            assertEquals(3, r.tailed());
            assertArrayEquals(a2.toByteArray(), Files.readAllBytes(restored("t", a)));
            assertArrayEquals(a1.toByteArray(), Files.readAllBytes(restored("t", a).resolveSibling("a.log.gen-00000001")));
            assertArrayEquals(b1.toByteArray(), Files.readAllBytes(restored("t", b)));
            repo.close();
        }
    }

    @Test
    void whatTheWriterAppendsToTheRenamedFileIsShipped() throws Exception {
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Path log = logs.resolve("app.log");
        FilesSourceConfig c = new FilesSourceConfig("logs", List.of(), List.of(), List.of(log.toString()));
        List<String> messages = new ArrayList<>();
        try (FilesFixture f = new FilesFixture(dir)) {
            ByteArrayOutputStream gen1 = new ByteArrayOutputStream();
            ByteArrayOutputStream gen2 = new ByteArrayOutputStream();
            try (TailShipper s = new TailShipper(f.repository, c, Clock.systemUTC(), messages::add);
                 OutputStream old = Files.newOutputStream(log, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND)) {
                append(old, "before\n", gen1);
                s.tick();
                Files.move(log, logs.resolve("app.log.1"));
                try (OutputStream fresh = Files.newOutputStream(log, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND)) {
                    append(fresh, "new file\n", gen2);
                    s.tick();
                    for (int i = 0; i < 3; i++) { // the application has not reopened yet: it writes to the old descriptor
                        append(old, "still old " + i + "\n", gen1);
                        s.tick();
                    }
                    old.close();
                    for (int i = 0; i < TailShipper.DRAIN_QUIET_TICKS + 1; i++) {
                        s.tick();
                    }
                    append(fresh, "more\n", gen2);
                    s.tick();
                }
                assertEquals(gen1.size() + gen2.size(), s.bytesShipped());
            }
            assertTrue(messages.stream().anyMatch(m -> m.contains("rotated generation 1 closed")), messages.toString());
            restore(f.repository, "t");
            assertArrayEquals(gen2.toByteArray(), Files.readAllBytes(restored("t", log)));
            assertArrayEquals(gen1.toByteArray(), Files.readAllBytes(restored("t", log).resolveSibling("app.log.gen-00000001")));
        }
    }

    @Test
    void copytruncateWhileNoAgentRanIsANewGenerationNotASplice() throws Exception {
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Path log = logs.resolve("app.log");
        FilesSourceConfig c = new FilesSourceConfig("logs", List.of(), List.of(), List.of(log.toString()));
        List<String> messages = new ArrayList<>();
        try (FilesFixture f = new FilesFixture(dir)) {
            ByteArrayOutputStream gen1 = new ByteArrayOutputStream();
            ByteArrayOutputStream gen2 = new ByteArrayOutputStream();
            try (TailShipper s = new TailShipper(f.repository, c, Clock.systemUTC(), messages::add);
                 OutputStream w = Files.newOutputStream(log, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND)) {
                append(w, "old line\n".repeat(5), gen1);
                s.tick();
            }
            // the agent is down: copytruncate, then the writer goes on and writes more than there was
            try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
                ch.truncate(0);
            }
            try (OutputStream w = Files.newOutputStream(log, StandardOpenOption.APPEND)) {
                append(w, "NEW LINE, LONGER\n".repeat(5), gen2);
            }
            try (TailShipper again = new TailShipper(f.repository, c, Clock.systemUTC(), messages::add)) {
                again.tick();
                assertEquals(gen2.size(), again.bytesShipped(), "the new content from 0");
                assertTrue(again.lastNotice() != null && again.lastNotice().contains("while no agent followed it"), messages.toString());
            }
            restore(f.repository, "t");
            assertArrayEquals(gen2.toByteArray(), Files.readAllBytes(restored("t", log)));
            assertArrayEquals(gen1.toByteArray(), Files.readAllBytes(restored("t", log).resolveSibling("app.log.gen-00000001")));
        }
    }

    @Test
    void aSegmentCoveredByALongerOneFromTheSameOffsetDoesNotBreakARestore() throws Exception {
        // what an agent without the reload left behind: [a,b) landed though reported failed, then [a,c)
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Path log = logs.resolve("app.log");
        FilesSourceConfig c = new FilesSourceConfig("logs", List.of(), List.of(), List.of(log.toString()));
        try (FilesFixture f = new FilesFixture(dir)) {
            ByteArrayOutputStream gen1 = new ByteArrayOutputStream();
            try (TailShipper s = new TailShipper(f.repository, c, Clock.systemUTC(), m -> { });
                 OutputStream w = Files.newOutputStream(log, StandardOpenOption.CREATE_NEW, StandardOpenOption.APPEND)) {
                append(w, "first\n", gen1);
                s.tick();
                append(w, "second\n", gen1);
                append(w, "third\n", gen1);
                s.tick(); // [6, 19)
                String pathId = new ContentIds(f.repository).pathId(log.toString());
                ObjectKey key = FilesLayout.tailSegment("logs", pathId, 1, 6, 13);
                ByteArrayOutputStream sealed = new ByteArrayOutputStream();
                try (var out = new dev.holdfast.repository.seal.SealingOutputStream(sealed, f.repository.newCodec(key, false))) {
                    out.write(bytes("second\n"));
                }
                dev.holdfast.repository.store.Futures.await(f.store.create(key, ByteBuffer.wrap(sealed.toByteArray()), PutOptions.DEFAULT));
                append(w, "fourth\n", gen1);
                s.tick();
            }
            restore(f.repository, "t");
            assertArrayEquals(gen1.toByteArray(), Files.readAllBytes(restored("t", log)));
        }
    }
}
