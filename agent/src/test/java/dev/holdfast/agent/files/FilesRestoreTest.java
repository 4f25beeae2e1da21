package dev.holdfast.agent.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Restores refuse traversal by construction and check every blob against its content id. */
class FilesRestoreTest {
    private static final String SOME_ID = "a".repeat(64);
    private static final Instant T = Instant.parse("2026-11-24T09:00:00Z");

    @TempDir
    Path dir;

    private static FileEntry file(String path, String content, long size) {
        return new FileEntry(path, FileEntry.Type.FILE, 0644, 0, 0, "root", "root", T, size, Optional.of(content), Optional.empty(), 1, T);
    }

    private static FileEntry link(String path, String target) {
        return new FileEntry(path, FileEntry.Type.SYMLINK, 0, 0, 0, "root", "root", T, 0, Optional.empty(), Optional.of(target), 1, T);
    }

    private static FileEntry directory(String path) {
        return new FileEntry(path, FileEntry.Type.DIR, 0755, 0, 0, "root", "root", T, 0, Optional.empty(), Optional.empty(), 1, T);
    }

    private int counter;

    /** Stores a crafted manifest as the source's next snapshot; returns its id. */
    private String craft(FilesFixture f, List<FileEntry> entries) throws Exception {
        String id = FilesLayout.snapshotId(T.plusMillis(++counter));
        FilesManifest m = new FilesManifest(1, id, "evil", "h", T, T, List.of("/"), List.of(), entries, List.of(), 0);
        f.repository.put(FilesLayout.snapshot("evil", id), new ByteArrayInputStream(m.toBytes()), false);
        return id;
    }

    private HoldfastException refused(FilesFixture f, String id, Path target, List<Path> allowed) {
        return assertThrows(HoldfastException.class, () -> new FilesRestore(f.repository, new SecureRandom()).restore(
                new FilesRestore.Options("evil", id, Optional.empty(), target, allowed, false), FilesSnapshot.Listener.none()));
    }

    private static long count(Path p) throws Exception {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(p)) {
            return s.count() - 1;
        }
    }

    @Test
    void traversalInTheManifestIsRefusedWithNothingWritten() throws Exception {
        Path allowed = Files.createDirectories(dir.resolve("restore"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        List<List<FileEntry>> evil = new ArrayList<>();
        evil.add(List.of(file("/../x", SOME_ID, 1)));
        evil.add(List.of(directory("/etc"), file("/etc/../../x", SOME_ID, 1)));
        evil.add(List.of(file("//x", SOME_ID, 1)));
        evil.add(List.of(file("/a/./b", SOME_ID, 1)));
        evil.add(List.of(file("relative/x", SOME_ID, 1)));
        evil.add(List.of(file("/a/b\0c", SOME_ID, 1)));
        evil.add(List.of(file("/a", SOME_ID, 1), link("/a", "/")));
        evil.add(List.of(file("/a/", SOME_ID, 1)));
        evil.add(List.of(file("/a", "../../etc/passwd", 1)));
        try (FilesFixture f = new FilesFixture(dir.resolve("repo"))) {
            for (List<FileEntry> entries : evil) {
                String id = craft(f, entries);
                Path target = allowed.resolve("t" + counter);
                HoldfastException e = refused(f, id, target, List.of(allowed));
                assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("nothing was written"), e.getMessage());
                assertFalse(Files.exists(target, LinkOption.NOFOLLOW_LINKS), "target created for " + entries.get(0).path());
            }
            assertEquals(0, count(outside));
        }
    }

    @Test
    void targetsOutsideTheAllowlistOrThroughALinkAreRefused() throws Exception {
        Path allowed = Files.createDirectories(dir.resolve("restore"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.createSymbolicLink(allowed.resolve("escape"), outside);
        try (FilesFixture f = new FilesFixture(dir.resolve("repo"))) {
            String id = craft(f, List.of(directory("/etc")));
            assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(f, id, outside.resolve("t"), List.of(allowed)).code());
            assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(f, id, allowed.resolve("../outside/t"), List.of(allowed)).code());
            assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(f, id, allowed.resolve("escape/t"), List.of(allowed)).code());
            assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(f, id, allowed.resolve("t"), List.of()).code());
            assertEquals(0, count(outside));
        }
    }

    @Test
    void aLinkInTheSnapshotIsNeverWrittenThrough() throws Exception {
        Path allowed = Files.createDirectories(dir.resolve("restore"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path src = dir.resolve("src");
        FilesFixture.write(src.resolve("x"), "payload");
        try (FilesFixture f = new FilesFixture(dir.resolve("repo"))) {
            FilesSnapshot.Result r = new FilesSnapshot(f.repository, new FilesSourceConfig("s", List.of(src.toString()), List.of(), List.of()),
                    "h", Clock.systemUTC(), 1).run(FilesSnapshot.Listener.none());
            FileEntry x = r.manifest().entries().stream().filter(e -> e.path().endsWith("/x")).findFirst().orElseThrow();
            // a link /a/l -> outside, then a file "below" it: the file must never land outside
            String id = craft(f, List.of(directory("/a"), link("/a/l", outside.toString()), file("/a/l/x", x.content().get(), x.size())));
            Path target = allowed.resolve("t");
            assertThrows(HoldfastException.class, () -> new FilesRestore(f.repository, new SecureRandom()).restore(
                    new FilesRestore.Options("evil", id, Optional.empty(), target, List.of(allowed), false), FilesSnapshot.Listener.none()));
            assertEquals(0, count(outside));
            assertFalse(Files.isSymbolicLink(target.resolve("a/l")));
        }
    }

    @Test
    void aBlobThatDoesNotMatchItsContentIdFailsTheRestore() throws Exception {
        Path allowed = Files.createDirectories(dir.resolve("restore"));
        Path src = dir.resolve("src");
        FilesFixture.write(src.resolve("one"), "first content");
        FilesFixture.write(src.resolve("two"), "second content, longer");
        try (FilesFixture f = new FilesFixture(dir.resolve("repo"))) {
            FilesSnapshot.Result r = new FilesSnapshot(f.repository, new FilesSourceConfig("s", List.of(src.toString()), List.of(), List.of()),
                    "h", Clock.systemUTC(), 1).run(FilesSnapshot.Listener.none());
            FileEntry one = r.manifest().entries().stream().filter(e -> e.path().endsWith("/one")).findFirst().orElseThrow();
            FileEntry two = r.manifest().entries().stream().filter(e -> e.path().endsWith("/two")).findFirst().orElseThrow();
            // the blob of "two" swapped in under the id of "one": move the object, as an attacker with bucket access could
            byte[] sealedTwo = dev.holdfast.repository.store.Futures.await(f.store.get(FilesLayout.blob(two.content().get())));
            String fakeId = "0".repeat(64);
            dev.holdfast.repository.store.Futures.await(f.store.create(FilesLayout.blob(fakeId), java.nio.ByteBuffer.wrap(sealedTwo),
                    dev.holdfast.repository.store.PutOptions.DEFAULT));
            String id = craft(f, List.of(file("/one", fakeId, one.size())));
            HoldfastException e = refused(f, id, allowed.resolve("a"), List.of(allowed));
            assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code(), e.getMessage()); // the seal binds the name: opening fails
            // right blob, wrong size claimed
            String id2 = craft(f, List.of(file("/one", two.content().get(), one.size())));
            HoldfastException e2 = refused(f, id2, allowed.resolve("b"), List.of(allowed));
            assertEquals(ErrorCode.INTEGRITY_FAILURE, e2.code(), e2.getMessage());
            assertFalse(Files.exists(allowed.resolve("b/one")));
            try (Stream<Path> s = Files.list(allowed.resolve("b"))) {
                assertEquals(0, s.count(), "no temporary file left behind");
            }
        }
    }
}
