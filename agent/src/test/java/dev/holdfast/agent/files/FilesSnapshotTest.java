package dev.holdfast.agent.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.repository.store.Futures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FilesSnapshotTest {
    @TempDir
    Path dir;

    private FilesSnapshot.Result snapshot(FilesFixture f, FilesSourceConfig c) {
        return new FilesSnapshot(f.repository, c, "testhost", Clock.systemUTC(), 4).run(FilesSnapshot.Listener.none());
    }

    private FilesRestore.Result restore(FilesFixture f, String source, String id, Optional<String> path, Path target) {
        return new FilesRestore(f.repository, new SecureRandom()).restore(
                new FilesRestore.Options(source, id, path, target, List.of(dir.resolve("restore")), false), FilesSnapshot.Listener.none());
    }

    /** Sets a file's mtime to a whole second well in the past, so it is "old" for the change shortcut. */
    private static void age(Path p, long epochSecond) throws Exception {
        Files.setLastModifiedTime(p, FileTime.from(Instant.ofEpochSecond(epochSecond)));
    }

    @Test
    void changeDeleteRenameSymlinkAndPermissionsAcrossTwoSnapshotsRestoreExactly() throws Exception {
        Path src = dir.resolve("src");
        FilesFixture.write(src.resolve("a.conf"), "alpha v1\n");
        FilesFixture.write(src.resolve("sub/b.conf"), "bravo\n");
        FilesFixture.write(src.resolve("sub/c.conf"), "charlie\n");
        FilesFixture.write(src.resolve("run.sh"), "#!/bin/sh\necho hi\n");
        Files.setPosixFilePermissions(src.resolve("run.sh"), PosixFilePermissions.fromString("rwxr-x---"));
        Files.createDirectories(src.resolve("empty"));
        Files.setPosixFilePermissions(src.resolve("empty"), PosixFilePermissions.fromString("rwx------"));
        Files.createSymbolicLink(src.resolve("link"), Path.of("sub/b.conf"));
        Files.createSymbolicLink(src.resolve("outside"), Path.of("/etc/hostname")); // recorded as a link, never followed
        FilesFixture.write(src.resolve("big.bin"), "x".repeat(FilesSnapshot.SMALL + 12345)); // the streaming path
        for (Path p : List.of(src.resolve("a.conf"), src.resolve("sub/b.conf"), src.resolve("sub/c.conf"), src.resolve("run.sh"), src.resolve("big.bin"))) {
            age(p, 1_700_000_000L);
        }
        FilesSourceConfig c = new FilesSourceConfig("cfg", List.of(src + "/**"), List.of(), List.of());
        try (FilesFixture f = new FilesFixture(dir)) {
            FilesSnapshot.Result one = snapshot(f, c);
            assertTrue(one.stored());
            Map<String, String> tree1 = FilesFixture.describe(src);

            // change, delete, rename, permissions, re-pointed link, new file
            Files.writeString(src.resolve("a.conf"), "alpha v2, longer\n");
            age(src.resolve("a.conf"), 1_700_000_100L);
            Files.delete(src.resolve("sub/b.conf"));
            Files.move(src.resolve("sub/c.conf"), src.resolve("sub/renamed.conf"));
            Files.setPosixFilePermissions(src.resolve("run.sh"), PosixFilePermissions.fromString("rwx------"));
            Files.delete(src.resolve("link"));
            Files.createSymbolicLink(src.resolve("link"), Path.of("sub/renamed.conf"));
            FilesFixture.write(src.resolve("sub/new.conf"), "new\n");
            age(src.resolve("sub"), 1_700_000_200L);
            int before = f.store.objects.get();
            FilesSnapshot.Result two = snapshot(f, c);
            assertTrue(two.stored());
            // the renamed file's content is stored already: only a.conf's and new.conf's new contents, and the manifest
            assertEquals(2, two.filesUploaded(), "blobs uploaded by the second snapshot");
            assertEquals(3, f.store.objects.get() - before);
            Map<String, String> tree2 = FilesFixture.describe(src);
            assertFalse(tree1.equals(tree2));

            Path t1 = dir.resolve("restore/one");
            FilesRestore.Result r1 = restore(f, "cfg", one.manifest().id(), Optional.empty(), t1);
            assertEquals(tree1, FilesFixture.describe(t1.resolve(src.toString().substring(1))));
            assertEquals(r1.ownersApplied(), FilesRestore.runningAsRoot());
            Path t2 = dir.resolve("restore/two");
            restore(f, "cfg", "latest", Optional.empty(), t2);
            assertEquals(tree2, FilesFixture.describe(t2.resolve(src.toString().substring(1))));
            assertEquals(Path.of("/etc/hostname"), Files.readSymbolicLink(t2.resolve(src.toString().substring(1)).resolve("outside")));

            // one file, one subtree
            Path t3 = dir.resolve("restore/file");
            FilesRestore.Result r3 = restore(f, "cfg", one.manifest().id(), Optional.of(src + "/sub/b.conf"), t3);
            assertEquals(1, r3.files());
            assertEquals("bravo\n", Files.readString(t3.resolve(src.toString().substring(1)).resolve("sub/b.conf")));
            Path t4 = dir.resolve("restore/sub");
            FilesRestore.Result r4 = restore(f, "cfg", "latest", Optional.of(src + "/sub/"), t4);
            assertEquals(2, r4.files());
            Set<String> names;
            try (var s = Files.list(t4.resolve(src.toString().substring(1)).resolve("sub"))) {
                names = s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
            }
            assertEquals(Set.of("renamed.conf", "new.conf"), names);
        }
    }

    @Test
    void anUnchangedTenThousandFileTreeUploadsNothingTheSecondTime() throws Exception {
        Path src = dir.resolve("many");
        for (int d = 0; d < 100; d++) {
            for (int i = 0; i < 100; i++) {
                Path p = FilesFixture.write(src.resolve("d" + d + "/f" + i + ".txt"), "file " + d + "/" + i + "\n".repeat(i));
                age(p, 1_700_000_000L);
            }
        }
        FilesSourceConfig c = new FilesSourceConfig("many", List.of(src.toString()), List.of(), List.of());
        try (FilesFixture f = new FilesFixture(dir)) {
            FilesSnapshot.Result one = snapshot(f, c);
            assertEquals(10_000, one.filesUploaded());
            assertEquals(10_000 + 100 + 1, one.manifest().entries().size());
            int objects = f.store.objects.get();
            long bytes = f.store.bytes.get();
            int listed = Futures.await(f.store.listAll("files/")).size();

            FilesSnapshot.Result two = snapshot(f, c);
            assertFalse(two.stored(), "an identical tree stores no manifest");
            assertEquals(0, two.filesUploaded());
            assertEquals(0, two.filesHashed(), "unchanged files are not even read");
            assertEquals(objects, f.store.objects.get(), "objects written by the second snapshot");
            assertEquals(bytes, f.store.bytes.get(), "bytes written by the second snapshot");
            assertEquals(listed, Futures.await(f.store.listAll("files/")).size());

            // one changed file: one blob and one manifest
            Files.writeString(src.resolve("d7/f7.txt"), "changed");
            FilesSnapshot.Result three = snapshot(f, c);
            assertTrue(three.stored());
            assertEquals(1, three.filesUploaded());
            assertEquals(objects + 2, f.store.objects.get());
        }
    }

    @Test
    void filesThatLookLikeSecretsAreLeftOutReportedAndNeverUploaded() throws Exception {
        Path src = dir.resolve("etc");
        Map<String, String> secret = Map.of(
                "ssh/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
                "ssh/id_ed25519", "key material",
                "tls/server.key", "key",
                "tls/server.pem", "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n",
                "app/.env", "HOST=db\nDB_PASSWORD=hunter2\n",
                "app/prod.env", "API_TOKEN=abc\n",
                "app/my-Secret.txt", "x",
                "app/store.p12", "p12",
                "app/credentials.json", "{}",
                "app/jwt.keystore", "ks");
        Map<String, String> kept = Map.of(
                "ssh/id_rsa.pub", "ssh-rsa AAAA public",
                "tls/ca.pem", "-----BEGIN CERTIFICATE-----\nMII\n",
                "app/.env.example", "HOST=db\nDEBUG=1\n",
                "app/app.conf", "port=80\n",
                "app/included.key", "explicitly kept");
        for (var e : secret.entrySet()) {
            FilesFixture.write(src.resolve(e.getKey()), e.getValue());
        }
        for (var e : kept.entrySet()) {
            FilesFixture.write(src.resolve(e.getKey()), e.getValue());
        }
        FilesSourceConfig c = new FilesSourceConfig("etc", List.of(src + "/**"), List.of(), List.of(), List.of("**/included.key"));
        try (FilesFixture f = new FilesFixture(dir)) {
            FilesSnapshot.Result r = snapshot(f, c);
            Set<String> reported = r.secrets().stream().map(FilesManifest.Excluded::path).collect(Collectors.toSet());
            assertEquals(secret.keySet().stream().map(k -> src.resolve(k).toString()).collect(Collectors.toSet()), reported);
            r.secrets().forEach(s -> assertTrue(s.reason().startsWith("secret: "), s.reason()));
            Set<String> files = r.manifest().entries().stream().filter(e -> e.type() == FileEntry.Type.FILE).map(FileEntry::path)
                    .collect(Collectors.toSet());
            assertEquals(kept.keySet().stream().map(k -> src.resolve(k).toString()).collect(Collectors.toSet()), files);
            assertEquals(secret.size(), r.manifest().excluded().size(), "the manifest reports them too");
            ContentIds ids = new ContentIds(f.repository);
            for (String content : secret.values()) {
                byte[] b = content.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                assertTrue(Futures.await(f.store.head(FilesLayout.blob(ids.of(b, 0, b.length)))).isEmpty(), "a secret's content was uploaded");
            }
            assertEquals(kept.size(), r.filesUploaded());
        }
    }

    @Test
    void contentIdsAreKeyedNotPlainHashes() throws Exception {
        try (FilesFixture f = new FilesFixture(dir)) {
            byte[] b = "hello\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            String id = new ContentIds(f.repository).of(b, 0, b.length);
            assertTrue(FilesLayout.isContentId(id));
            assertFalse(id.equals(FilesFixture.sha256(b)));
            try (FilesFixture other = new FilesFixture(dir.resolve("other"))) {
                assertFalse(id.equals(new ContentIds(other.repository).of(b, 0, b.length)), "another repository, another key");
            }
        }
    }
}
