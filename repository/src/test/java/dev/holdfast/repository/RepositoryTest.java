package dev.holdfast.repository;

import dev.holdfast.repository.store.Futures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryTest {
    private final Clock clock = Clock.fixed(Instant.parse("2026-11-24T01:00:00Z"), ZoneOffset.UTC);
    private final SecureRandom random = new SecureRandom();
    @TempDir
    Path dir;

    private ObjectStore store() {
        return FsObjectStore.open(dir.resolve("repo"), clock);
    }

    private KeyFile key(String name) {
        return KeyFile.create(dir.resolve(name), clock, random);
    }

    private Repository init(KeyFile key) {
        return Repository.init(store(), key, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test", clock, random);
    }

    private static byte[] read(Repository repo, ObjectKey name) throws IOException {
        try (OpeningInputStream in = repo.open(name)) {
            return in.readAllBytes();
        }
    }

    private static Map<String, Long> sizes(ObjectStore store, String prefix) {
        return Futures.await(store.listAll(prefix)).stream().collect(Collectors.toMap(o -> o.key().value(), ObjectInfo::size));
    }

    @Test
    void initWritesConfigAndEnvelopesWithCopiesAndOpenReadsThemBack() throws IOException {
        KeyFile key = key("k");
        byte[] data = "hello holdfast".getBytes();
        try (Repository repo = init(key)) {
            repo.put(ObjectKey.of("a/b"), new ByteArrayInputStream(data), true);
            List<String> names = Futures.await(repo.store().listAll("")).stream().map(o -> o.key().value()).toList();
            String mk = key.current().id();
            assertEquals(List.of("a/b", "config", "config.copy", "keys/" + mk + "/dk-00000001", "keys/" + mk + "/dk-00000001.copy"), names);
        }
        try (Repository repo = Repository.open(store(), KeyFile.load(key.path()), clock, random)) {
            assertArrayEquals(data, read(repo, ObjectKey.of("a/b")));
            Repository.Inspection in = repo.inspect(ObjectKey.of("a/b"));
            assertEquals(data.length, in.footer().plaintextLength());
            assertEquals(1, in.header().dataKeyVersion());
        }
    }

    @Test
    void initRefusesANonEmptyLocation() {
        try (ObjectStore s = store()) {
            Futures.await(s.create(ObjectKey.of("something"), ByteBuffer.allocate(1), PutOptions.DEFAULT));
        }
        HoldfastException e = assertThrows(HoldfastException.class, () -> init(key("k")));
        assertEquals(ErrorCode.REPOSITORY_NOT_EMPTY, e.code());
        assertTrue(e.getMessage().contains("something"), e.getMessage());
    }

    @Test
    void openingWithTheWrongKeyNamesTheExpectedAndTheGivenKeyIds() {
        KeyFile right = key("right");
        KeyFile wrong = key("wrong");
        init(right).close();
        HoldfastException e = assertThrows(HoldfastException.class, () -> Repository.open(store(), wrong, clock, random));
        assertEquals(ErrorCode.KEY_MISMATCH, e.code());
        assertTrue(e.getMessage().contains(right.current().id()) && e.getMessage().contains(wrong.current().id()), e.getMessage());
    }

    @Test
    void anEmptyLocationIsRepositoryNotFound() {
        HoldfastException e = assertThrows(HoldfastException.class, () -> Repository.open(store(), key("k"), clock, random));
        assertEquals(ErrorCode.REPOSITORY_NOT_FOUND, e.code());
    }

    @Test
    void rotationRewrapsKeysNeverTouchesDataAndOldObjectsStayReadable() throws IOException {
        KeyFile key = key("k");
        byte[] before = "written before rotation".getBytes();
        try (Repository repo = init(key)) {
            repo.put(ObjectKey.of("data/old"), new ByteArrayInputStream(before), false);
        }
        Path oldObject = dir.resolve("repo/data/old");
        byte[] oldBytes = Files.readAllBytes(oldObject);
        Object oldInode = Files.readAttributes(oldObject, java.nio.file.attribute.BasicFileAttributes.class).fileKey();

        KeyFile rotated;
        try (Repository repo = Repository.open(store(), key, clock, random)) {
            rotated = repo.rotateMasterKey(key, true);
        }
        assertEquals(2, rotated.keys().size());
        assertEquals(2, KeyFile.load(key.path()).keys().size(), "the key file on disk has both versions");
        String newId = rotated.current().id();
        assertNotEquals(key.current().id(), newId);

        try (Repository repo = Repository.open(store(), KeyFile.load(key.path()), clock, random)) {
            assertEquals(newId, repo.masterKeyId());
            assertEquals(2, repo.keyring().current().version(), "the new data key is used for new objects");
            assertArrayEquals(before, read(repo, ObjectKey.of("data/old")));
            repo.put(ObjectKey.of("data/new"), new ByteArrayInputStream("after".getBytes()), false);
            assertEquals(2, repo.inspect(ObjectKey.of("data/new")).header().dataKeyVersion());
        }
        assertArrayEquals(oldBytes, Files.readAllBytes(oldObject), "the data object was never rewritten");
        assertEquals(oldInode, Files.readAttributes(oldObject, java.nio.file.attribute.BasicFileAttributes.class).fileKey());

        // A host that still has only the old key file keeps reading old objects, and is told clearly about new ones.
        try (Repository old = Repository.open(store(), key, clock, random)) {
            assertArrayEquals(before, read(old, ObjectKey.of("data/old")));
            HoldfastException e = assertThrows(HoldfastException.class, () -> read(old, ObjectKey.of("data/new")));
            assertEquals(ErrorCode.KEY_MISMATCH, e.code());
            assertTrue(e.getMessage().contains("data key version 2"), e.getMessage());
        }

        // Retiring deletes the old master key's envelopes; the old key file no longer opens the repository.
        try (Repository repo = Repository.open(store(), KeyFile.load(key.path()), clock, random)) {
            assertEquals(2, repo.retireOtherMasterKeys().size());
        }
        HoldfastException e = assertThrows(HoldfastException.class, () -> Repository.open(store(), key, clock, random));
        assertEquals(ErrorCode.KEY_MISMATCH, e.code());
        assertEquals(4, sizes(store(), "keys/").size(), "two data keys, each with its copy, under the new master key");
    }

    @Test
    void aDamagedConfigFallsBackToItsCopyButDifferingCopiesFailClosed() throws IOException {
        KeyFile key = key("k");
        init(key).close();
        Path config = dir.resolve("repo/config");
        byte[] good = Files.readAllBytes(config);
        Files.write(config, "{not json".getBytes());
        try (Repository repo = Repository.open(store(), key, clock, random)) {
            assertEquals(1, repo.keyring().current().version());
        }
        Files.write(config, new String(good).replace("\"segment_size\" : 1048576", "\"segment_size\" : 65536").getBytes());
        HoldfastException e = assertThrows(HoldfastException.class, () -> Repository.open(store(), key, clock, random));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
        assertTrue(e.getMessage().contains("differ"), e.getMessage());
    }

    @Test
    void aDamagedEnvelopeFallsBackToItsCopyAndATamperedPairFailsClosed() throws IOException {
        KeyFile key = key("k");
        init(key).close();
        Path env = dir.resolve("repo/keys/" + key.current().id() + "/dk-00000001");
        String good = Files.readString(env);
        Files.writeString(env, good.replaceFirst("\"wrapped\" : \"(.)", "\"wrapped\" : \"" + (good.contains("\"wrapped\" : \"A") ? "B" : "A")));
        Repository.open(store(), key, clock, random).close();
        Path copy = dir.resolve("repo/keys/" + key.current().id() + "/dk-00000001.copy");
        Files.writeString(copy, Files.readString(env));
        HoldfastException e = assertThrows(HoldfastException.class, () -> Repository.open(store(), key, clock, random));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
    }

    @Test
    void anEnvelopeMovedToAnotherVersionFailsToUnwrap() throws IOException {
        KeyFile key = key("k");
        try (Repository repo = init(key)) {
            repo.addDataKey();
        }
        Path keys = dir.resolve("repo/keys/" + key.current().id());
        Files.copy(keys.resolve("dk-00000001"), keys.resolve("dk-00000002"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(keys.resolve("dk-00000001"), keys.resolve("dk-00000002.copy"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        HoldfastException e = assertThrows(HoldfastException.class, () -> Repository.open(store(), key, clock, random));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
        assertTrue(e.getMessage().contains("dk-00000002"), e.getMessage());
    }

    @Test
    void anInterruptedPutLeavesNothingVisible() {
        KeyFile key = key("k");
        try (Repository repo = init(key)) {
            java.io.InputStream failing = new java.io.InputStream() {
                private int n;

                @Override
                public int read() throws IOException {
                    if (n++ > 3_000_000) {
                        throw new IOException("disk error while reading the source");
                    }
                    return n & 0xff;
                }
            };
            assertThrows(IOException.class, () -> repo.put(ObjectKey.of("data/partial"), failing, false));
            assertTrue(Futures.await(repo.store().head(ObjectKey.of("data/partial"))).isEmpty());
        }
    }
}
