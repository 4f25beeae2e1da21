package dev.holdfast.agent.redis;

import static dev.holdfast.agent.redis.AofScannerTest.cmd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link AofRestore} on AOF objects written directly (no Redis): holes and gaps. */
class AofRestoreTest {
    @TempDir
    Path tmp;

    private static final long T0 = 1_800_000_000L;
    private final AofLayout layout = new AofLayout("cache");

    private Repository open(RepositoryLocation loc) {
        return Repository.open(loc.openStore(Clock.systemUTC()), KeyFile.load(loc.keyFile()), Clock.systemUTC(), new SecureRandom());
    }

    private static void put(Repository repo, dev.holdfast.repository.store.ObjectKey key, String content) throws IOException {
        repo.put(key, new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)), true);
    }

    /** An epoch with a base of {@code baseTime} and incr files 1.. given as lists of ranges. */
    private void epoch(Repository repo, long epoch, long baseTime, boolean gapBefore, List<List<String>> incrs) throws IOException {
        String base = "REDIS0011-base-" + epoch;
        put(repo, layout.base(epoch), base);
        AofEpoch d = new AofEpoch(epoch, Instant.ofEpochSecond(baseTime), "appendonly.aof", "appendonly.aof." + epoch + ".base.rdb", epoch,
                base.length(), "00", Instant.ofEpochSecond(baseTime), List.of(), gapBefore);
        put(repo, layout.descriptor(epoch), new String(d.toJson(), StandardCharsets.UTF_8));
        for (int i = 0; i < incrs.size(); i++) {
            long off = 0;
            for (String range : incrs.get(i)) {
                long len = range.getBytes(StandardCharsets.UTF_8).length;
                put(repo, layout.incr(epoch, i + 1, off, off + len), range);
                off += len;
            }
        }
    }

    private AofRestore.Result restore(Repository repo, String name, Optional<Instant> to) throws IOException {
        return new AofRestore(repo, new SecureRandom()).restore(new AofRestore.Options("cache", tmp.resolve("restore").resolve(name),
                List.of(tmp.resolve("restore")), false, to));
    }

    @Test
    void aHoleInAnIncrFileEndsTheRestoreThereAndNoLaterIncrFileIsReplayed() throws Exception {
        RepositoryLocation loc = TestAgent.repository(tmp);
        String a = "#TS:" + (T0 + 1) + "\r\n" + cmd("SET", "a", "1");
        String b = cmd("SET", "b", "2");
        String c = cmd("SET", "c", "3");
        String d = "#TS:" + (T0 + 2) + "\r\n" + cmd("SET", "d", "4");
        try (Repository repo = open(loc)) {
            epoch(repo, 1, T0, false, List.of(List.of(a, b, c), List.of(d)));
            // the middle range of incr file 1 is lost
            repo.store().delete(layout.incr(1, 1, a.length(), a.length() + b.length())).join();
            AofRestore.Result r = restore(repo, "latest", Optional.empty());
            assertTrue(r.hole());
            assertFalse(r.complete());
            assertEquals(Optional.of("appendonly.aof.1.incr.aof at byte " + a.length()), r.holeAt());
            assertEquals(1, r.incrFiles());
            assertEquals(1, r.commands());
            Path dir = tmp.resolve("restore/latest/appendonlydir");
            assertEquals(a, Files.readString(dir.resolve("appendonly.aof.1.incr.aof")));
            assertFalse(Files.exists(dir.resolve("appendonly.aof.2.incr.aof")));
            assertFalse(Files.readString(dir.resolve("appendonly.aof.manifest")).contains(".2.incr.aof"));
        }
    }

    @Test
    void aTimeInsideAGapIsRefusedAndATimeBeforeItIsNot() throws Exception {
        RepositoryLocation loc = TestAgent.repository(tmp);
        String s1 = "#TS:" + (T0 + 1) + "\r\n" + cmd("SET", "a", "1");
        String s2 = "#TS:" + (T0 + 2) + "\r\n" + cmd("SET", "b", "2");
        try (Repository repo = open(loc)) {
            epoch(repo, 1, T0, false, List.of(List.of(s1 + s2)));
            epoch(repo, 2, T0 + 100, true, List.of(List.of("#TS:" + (T0 + 101) + "\r\n" + cmd("SET", "c", "3"))));
            HoldfastException e = assertThrows(HoldfastException.class,
                    () -> restore(repo, "in-gap", Optional.of(Instant.ofEpochSecond(T0 + 50))));
            assertEquals(ErrorCode.WAL_GAP, e.code());
            assertTrue(e.getMessage().contains("00000001") && e.getMessage().contains("00000002"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("restore/in-gap/appendonlydir")));
            // the last stored second may have lost commands too
            assertEquals(ErrorCode.WAL_GAP, assertThrows(HoldfastException.class,
                    () -> restore(repo, "last", Optional.of(Instant.ofEpochSecond(T0 + 2)))).code());
            AofRestore.Result before = restore(repo, "before", Optional.of(Instant.ofEpochSecond(T0 + 1)));
            assertEquals(1, before.epoch());
            assertTrue(before.cut());
            assertTrue(before.complete());
            AofRestore.Result after = restore(repo, "after", Optional.of(Instant.ofEpochSecond(T0 + 100)));
            assertEquals(2, after.epoch());
        }
    }

    @Test
    void aTimeLaterThanEverythingStoredIsReportedAsNotReached() throws Exception {
        RepositoryLocation loc = TestAgent.repository(tmp);
        try (Repository repo = open(loc)) {
            epoch(repo, 1, T0, false, List.of(List.of("#TS:" + (T0 + 1) + "\r\n" + cmd("SET", "a", "1"))));
            AofRestore.Result r = restore(repo, "late", Optional.of(Instant.ofEpochSecond(T0 + 60)));
            assertFalse(r.cut());
            assertFalse(r.complete());
            assertEquals(OptionalLong.of(T0 + 1), r.lastTimestamp());
            AofRestore.Result latest = restore(repo, "latest", Optional.empty());
            assertTrue(latest.complete());
        }
    }

    @Test
    void anEpochWhoseWritesAllFellInTheRewritesSecondRestoresWholeAfterAnAnnotatedEpoch() throws Exception {
        // CI saw it: the writes after a BGREWRITEAOF all came within one second, so the new incr file
        // had no annotation; with an earlier, annotated epoch that is not "timestamps off".
        RepositoryLocation loc = TestAgent.repository(tmp);
        try (Repository repo = open(loc)) {
            epoch(repo, 1, T0, false, List.of(List.of("#TS:" + (T0 + 1) + "\r\n" + cmd("SET", "a", "1"))));
            epoch(repo, 2, T0 + 2, false, List.of(List.of(cmd("SET", "b", "2") + cmd("SET", "c", "3"))));
            AofRestore.Result late = restore(repo, "late", Optional.of(Instant.ofEpochSecond(T0 + 60)));
            assertEquals(2, late.epoch());
            assertEquals(2, late.commands());
            assertFalse(late.cut());
            assertFalse(late.complete(), "known to reach the base's time only");
            AofRestore.Result atBase = restore(repo, "at-base", Optional.of(Instant.ofEpochSecond(T0 + 2)));
            assertTrue(atBase.complete());
        }
        // The same epoch alone cannot tell: refused as timestamps off.
        Path other = Files.createDirectories(tmp.resolve("other"));
        RepositoryLocation loc2 = TestAgent.repository(other);
        try (Repository repo = open(loc2)) {
            epoch(repo, 1, T0, false, List.of(List.of(cmd("SET", "b", "2"))));
            assertEquals(ErrorCode.USAGE, assertThrows(HoldfastException.class,
                    () -> restore(repo, "alone", Optional.of(Instant.ofEpochSecond(T0 + 60)))).code());
        }
    }
}
