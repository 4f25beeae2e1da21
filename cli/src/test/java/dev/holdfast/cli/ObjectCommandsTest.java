package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** keys, repo and object commands end to end against a file:// repository. */
class ObjectCommandsTest {
    @TempDir
    Path dir;
    Path key;
    Path repo;
    String[] loc;

    @BeforeEach
    void createRepository() {
        key = dir.resolve("master.key");
        repo = dir.resolve("repo");
        Cli init = Cli.run("keys", "init", "--out", key.toString());
        assertEquals(0, init.status(), init::toString);
        loc = new String[] {"--repo", repo.toUri().toString(), "--key-file", key.toString()};
        Cli r = Cli.run(args("repo", "init"));
        assertEquals(0, r.status(), r::toString);
    }

    private String[] args(String... a) {
        return Stream.concat(Stream.of(a), Stream.of(loc)).toArray(String[]::new);
    }

    private Path file(String name, int size) throws Exception {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        for (int i = 0; i < size / 2; i++) {
            b[i] = (byte) ('a' + i % 5); // half compressible
        }
        Path p = dir.resolve(name);
        Files.write(p, b);
        return p;
    }

    @Test
    void putGetRoundTripsAndInspectShowsSizesButNoKeyMaterial() throws Exception {
        Path in = file("in.bin", 3 * 1024 * 1024 + 7);
        Cli put = Cli.run(args("object", "put", in.toString(), "files/in.bin", "--json"));
        assertEquals(0, put.status(), put::toString);
        JsonNode p = Json.MAPPER.readTree(put.out());
        assertEquals(Files.size(in), p.get("bytes").asLong());
        assertEquals(4, p.get("segments").asInt());

        Path out = dir.resolve("out.bin");
        Cli get = Cli.run(args("object", "get", "files/in.bin", out.toString()));
        assertEquals(0, get.status(), get::toString);
        assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(out));

        Cli inspect = Cli.run(args("object", "inspect", "files/in.bin", "--json"));
        assertEquals(0, inspect.status(), inspect::toString);
        JsonNode i = Json.MAPPER.readTree(inspect.out());
        assertEquals(Files.size(in), i.get("bytes").asLong());
        assertEquals(p.get("sha256").asText(), i.get("sha256").asText());
        assertEquals(1, i.get("data_key_version").asInt());
        String keyText = Files.readString(key);
        String b64 = keyText.replaceAll("(?s).*\"key\" : \"([^\"]+)\".*", "$1");
        assertFalse(inspect.out().contains(b64) || put.out().contains(b64) || get.out().contains(b64), "no key material printed");

        Cli ls = Cli.run(args("object", "ls", "files/", "--json"));
        assertEquals(0, ls.status(), ls::toString);
        assertEquals("files/in.bin", Json.MAPPER.readTree(ls.out()).get("objects").get(0).get("name").asText());
    }

    @Test
    void refusesToOverwriteAnObjectOrAFileAndNamesTheCode() throws Exception {
        Path in = file("in.bin", 1000);
        assertEquals(0, Cli.run(args("object", "put", in.toString(), "x")).status());
        Cli again = Cli.run(args("object", "put", in.toString(), "x"));
        assertEquals(21, again.status(), again::toString);
        assertTrue(again.err().contains("object_exists"), again::toString);

        Path out = dir.resolve("exists");
        Files.writeString(out, "keep me");
        Cli get = Cli.run(args("object", "get", "x", out.toString()));
        assertEquals(5, get.status(), get::toString);
        assertEquals("keep me", Files.readString(out));
        assertEquals(0, Cli.run(args("object", "get", "x", out.toString(), "--overwrite")).status());
        assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(out));
    }

    @Test
    void aTamperedObjectFailsClosedAndLeavesNoOutputBehind() throws Exception {
        Path in = file("in.bin", 2 * 1024 * 1024 + 100);
        assertEquals(0, Cli.run(args("object", "put", in.toString(), "t/victim")).status());
        Path stored = repo.resolve("t/victim");
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length - 200] ^= 0x40; // inside the last data segment: earlier segments are authentic
        Files.write(stored, bytes);

        Path outDir = Files.createDirectory(dir.resolve("restore"));
        Cli get = Cli.run(args("object", "get", "t/victim", outDir.resolve("victim").toString()));
        assertEquals(14, get.status(), get::toString);
        assertTrue(get.err().contains("integrity_failure") && get.err().contains("t/victim"), get::toString);
        try (Stream<Path> left = Files.list(outDir)) {
            assertEquals(0, left.count(), "no output file and no temporary file left behind");
        }
    }

    @Test
    void theWrongKeyNamesBothKeyIds() throws Exception {
        Path other = dir.resolve("other.key");
        Cli init = Cli.run("keys", "init", "--out", other.toString(), "--json");
        String otherId = Json.MAPPER.readTree(init.out()).get("key_id").asText();
        String rightId = Cli.run("keys", "export", "--key-file", key.toString()).out().replaceAll("(?s).*(mk-[0-9a-f]{16}).*", "$1");
        Cli ls = Cli.run("object", "inspect", "x", "--repo", repo.toUri().toString(), "--key-file", other.toString());
        assertEquals(12, ls.status(), ls::toString);
        assertTrue(ls.err().contains(otherId) && ls.err().contains(rightId), ls::toString);
    }

    @Test
    void missingObjectsAndReservedNamesAreClearErrors() throws Exception {
        Cli get = Cli.run(args("object", "get", "nope", dir.resolve("x").toString()));
        assertEquals(20, get.status(), get::toString);
        Path in = file("in.bin", 10);
        Cli reserved = Cli.run(args("object", "put", in.toString(), "keys/evil"));
        assertEquals(2, reserved.status(), reserved::toString);
        assertEquals(2, Cli.run(args("object", "put", in.toString(), "config.copy")).status());
        Cli similar = Cli.run(args("object", "put", in.toString(), "configs/app.yaml"));
        assertEquals(0, similar.status(), "only the metadata names themselves are reserved: " + similar);
        Cli badName = Cli.run(args("object", "put", in.toString(), "../escape"));
        assertEquals(2, badName.status(), badName::toString);
        assertTrue(badName.err().contains("invalid object name"), badName::toString);
        Cli missingFile = Cli.run(args("object", "put", dir.resolve("absent").toString(), "y"));
        assertEquals(4, missingFile.status(), missingFile::toString);
    }

    @Test
    void repoInitRefusesANonEmptyRepositoryAndCheckStoragePasses() throws Exception {
        Cli again = Cli.run(args("repo", "init"));
        assertEquals(11, again.status(), again::toString);
        Cli check = Cli.run(args("repo", "check-storage", "--json"));
        assertEquals(0, check.status(), check::toString);
        JsonNode c = Json.MAPPER.readTree(check.out());
        assertTrue(c.get("ok").asBoolean());
        assertEquals(8, c.get("steps").size());
        assertTrue(c.get("atomic_create").asBoolean());
        assertTrue(Cli.run(args("object", "ls", "check-storage/", "--json")).out().contains("\"objects\" : [ ]"), "cleaned up");
    }

    @Test
    void rotationThroughTheCliKeepsEveryObjectReadable() throws Exception {
        Path in = file("in.bin", 5000);
        assertEquals(0, Cli.run(args("object", "put", in.toString(), "before")).status());
        Cli rotate = Cli.run(args("keys", "rotate", "--new-data-key", "--json"));
        assertEquals(0, rotate.status(), rotate::toString);
        JsonNode r = Json.MAPPER.readTree(rotate.out());
        assertEquals(2, r.get("data_keys_wrapped").asInt());
        assertEquals(0, Cli.run(args("object", "put", in.toString(), "after")).status());
        Cli retire = Cli.run(args("keys", "retire", "--json"));
        assertEquals(0, retire.status(), retire::toString);
        assertEquals(2, Json.MAPPER.readTree(retire.out()).get("deleted").size());
        for (String name : new String[] {"before", "after"}) {
            Path out = dir.resolve(name + ".out");
            Cli get = Cli.run(args("object", "get", name, out.toString()));
            assertEquals(0, get.status(), get::toString);
            assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(out));
        }
        assertEquals(2, Json.MAPPER.readTree(Cli.run(args("object", "inspect", "after", "--json")).out()).get("data_key_version").asInt());
    }

    @Test
    void theEscrowCopyRebuildsAWorkingKeyFile() throws Exception {
        Path in = file("in.bin", 100);
        assertEquals(0, Cli.run(args("object", "put", in.toString(), "o")).status());
        Cli paper = Cli.run("keys", "export", "--format", "paper", "--key-file", key.toString());
        assertEquals(0, paper.status(), paper::toString);
        Path typed = dir.resolve("typed.txt");
        Files.writeString(typed, paper.out());
        Path rebuilt = dir.resolve("rebuilt.key");
        Cli imp = Cli.run("keys", "import", "--from-paper", typed.toString(), "--out", rebuilt.toString());
        assertEquals(0, imp.status(), imp::toString);
        Cli get = Cli.run("object", "get", "o", dir.resolve("o.out").toString(), "--repo", repo.toUri().toString(), "--key-file", rebuilt.toString());
        assertEquals(0, get.status(), get::toString);
    }
}
