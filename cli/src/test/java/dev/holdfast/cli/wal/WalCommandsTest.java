package dev.holdfast.cli.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.cli.Cli;
import dev.holdfast.cli.Json;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** wal-push, wal-fetch and list end to end against a file:// repository, with synthetic WAL. */
class WalCommandsTest {
    static final String SYSID = "7300000000000000001";
    static final int SEG = 1 << 20;

    @TempDir
    Path dir;
    Path cfg;
    Path wal;

    @BeforeEach
    void setUp() throws Exception {
        Path key = dir.resolve("master.key");
        assertEquals(0, Cli.run("keys", "init", "--out", key.toString()).status());
        cfg = dir.resolve("agent.yaml");
        Path data = dir.resolve("data");
        wal = Files.createDirectories(data.resolve("pg_wal"));
        Files.writeString(cfg, "repository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + key + "\n"
                + "sources:\n  - name: main\n    type: postgres\n    data_dir: " + data + "\n"
                + "  - name: cache\n    type: redis\n");
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);
    }

    static byte[] segment(String sysid, int segNo, long seed) {
        byte[] b = new byte[SEG];
        new Random(seed).nextBytes(b);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 0xD110).putShort(2, (short) 7).putInt(4, 1)
                .putLong(8, (long) segNo * SEG).putLong(16, 0).putLong(24, Long.parseUnsignedLong(sysid)).putInt(32, SEG).putInt(36, 8192);
        return b;
    }

    private Path write(int segNo, byte[] bytes) throws Exception {
        return Files.write(wal.resolve(String.format("0000000100000000%08X", segNo)), bytes);
    }

    @Test
    void pushIsDurableOnceARetryIsFineADifferentFileExits21AndFetchReturnsTheBytes() throws Exception {
        byte[] seg3 = segment(SYSID, 3, 3);
        Path p3 = write(3, seg3);
        Cli push = Cli.run("wal-push", "--config", cfg.toString(), p3.toString());
        assertEquals(0, push.status(), push::toString);
        Cli again = Cli.run("wal-push", "--config", cfg.toString(), p3.toString());
        assertEquals(0, again.status(), again::toString);
        assertTrue(again.out().contains("already stored"), again::toString);

        byte[] changed = seg3.clone();
        changed[SEG - 1] ^= 1;
        Path other = Files.createDirectories(dir.resolve("elsewhere/pg_wal")).resolve(p3.getFileName());
        Files.write(other, changed);
        Cli conflict = Cli.run("wal-push", "--config", cfg.toString(), other.toString());
        assertEquals(21, conflict.status(), conflict::toString);
        assertTrue(conflict.err().contains("object_exists"), conflict::toString);

        Path dest = dir.resolve("restore/RECOVERYXLOG");
        Files.createDirectories(dest.getParent());
        // The hooks hand their arguments over unchanged when they fall back to the CLI, --socket included.
        Cli fetch = Cli.run("wal-fetch", "--config", cfg.toString(), "--socket", "/nonexistent/agent.sock", "000000010000000000000003",
                dest.toString());
        assertEquals(0, fetch.status(), fetch::toString);
        assertArrayEquals(seg3, Files.readAllBytes(dest), "the stored copy is the first one, unchanged");

        Cli missing = Cli.run("wal-fetch", "--config", cfg.toString(), "000000010000000000000009", dir.resolve("restore/x").toString());
        assertEquals(1, missing.status(), missing::toString);
        assertFalse(Files.exists(dir.resolve("restore/x")));
        try (var s = Files.list(dest.getParent())) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
        Cli bad = Cli.run("wal-fetch", "--config", cfg.toString(), "../../etc/passwd", dir.resolve("restore/y").toString());
        assertEquals(2, bad.status(), bad::toString);
    }

    @Test
    void aSegmentOfAnotherClusterIsRefused() throws Exception {
        assertEquals(0, Cli.run("wal-push", "--config", cfg.toString(), write(3, segment(SYSID, 3, 3)).toString()).status());
        Cli other = Cli.run("wal-push", "--config", cfg.toString(), write(4, segment("7399999999999999999", 4, 4)).toString());
        assertEquals(34, other.status(), other::toString);
    }

    @Test
    void withRepoAndNoConfigTheSourceIsRequired() throws Exception {
        Cli c = Cli.run("wal-push", "--repo", dir.resolve("repo").toUri().toString(), "--key-file", dir.resolve("master.key").toString(),
                write(3, segment(SYSID, 3, 3)).toString());
        assertEquals(2, c.status(), c::toString);
        assertTrue(c.err().contains("--source"), c::toString);
    }

    @Test
    void listShowsTheWalAndFlagsGaps() throws Exception {
        for (int n : new int[] {3, 4, 6}) {
            Cli push = Cli.run("wal-push", "--config", cfg.toString(), write(n, segment(SYSID, n, n)).toString());
            assertEquals(0, push.status(), push::toString);
        }
        Cli list = Cli.run("list", "--config", cfg.toString(), "--json");
        assertEquals(0, list.status(), list::toString);
        JsonNode root = Json.MAPPER.readTree(list.out());
        JsonNode main = null;
        for (JsonNode s : root.get("sources")) {
            if (s.get("name").asText().equals("main")) {
                main = s;
            }
        }
        assertTrue(main != null, list::toString);
        assertEquals("postgres", main.get("type").asText());
        assertEquals(SYSID, main.get("system_identifier").asText());
        JsonNode w = main.get("wal");
        assertEquals(1, w.get("timeline").asInt());
        assertEquals("000000010000000000000003", w.get("first_segment").asText());
        assertEquals("0/700000", w.get("last_durable_lsn").asText());
        assertTrue(w.get("last_durable_at").asText().endsWith("Z"), list::toString);
        assertEquals("000000010000000000000005", w.get("gaps").get(0).asText());
        assertTrue(main.get("pitr_window").isNull());
        assertEquals(0, main.get("backups").size());

        Cli human = Cli.run("list", "--config", cfg.toString(), "--source", "main");
        assertEquals(0, human.status(), human::toString);
        assertTrue(human.out().contains("SOURCE") && human.out().contains("0/700000") && human.out().contains("1 MISSING"), human::toString);
        assertTrue(human.out().contains("WARNING") && human.out().contains("000000010000000000000005"), human::toString);
    }
}
