package dev.holdfast.agent.files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.FilesSourceConfig;
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
}
