package dev.holdfast.repository;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every build must keep reading repositories written by format version 1 (docs/format.md
 * section 8). The fixture was written once by the version-1 code and is never regenerated.
 */
class FormatV1FixtureTest {
    private static final Path FIXTURE = Path.of("src/test/resources/fixtures/repository-v1");
    @TempDir
    Path dir;

    @Test
    void aVersion1RepositoryStillOpensAndEveryObjectVerifies() throws Exception {
        try (Stream<Path> walk = Files.walk(FIXTURE)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path to = dir.resolve(FIXTURE.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
        Path key = dir.resolve("master.key");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        List<String> expected = Files.readAllLines(dir.resolve("expected.txt"));
        assertEquals(3, expected.size());
        try (Repository repo = Repository.open(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), KeyFile.load(key),
                Clock.systemUTC(), new SecureRandom())) {
            assertEquals(65536, repo.config().segmentSize());
            for (String line : expected) {
                String[] f = line.split(" ");
                ObjectKey name = ObjectKey.of(f[0]);
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                long n = 0;
                try (OpeningInputStream in = repo.open(name)) {
                    byte[] buf = new byte[8192];
                    for (int r; (r = in.read(buf)) > 0; ) {
                        sha.update(buf, 0, r);
                        n += r;
                    }
                }
                assertEquals(Long.parseLong(f[1]), n, name::value);
                Repository.Inspection in = repo.inspect(name);
                assertEquals(Long.parseLong(f[1]), in.footer().plaintextLength());
                if (f[2].equals("-")) {
                    assertEquals(false, in.header().sha256(), "written without SHA-256");
                    assertEquals(java.util.Optional.empty(), in.footer().sha256Hex());
                } else {
                    assertEquals(f[2], HexFormat.of().formatHex(sha.digest()), name::value);
                    assertEquals(f[2], in.footer().sha256Hex().orElseThrow());
                }
            }
            assertEquals(4, repo.inspect(ObjectKey.of("fixtures/text")).footer().dataSegments());
        }
    }
}
