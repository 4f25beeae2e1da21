package dev.holdfast.agent.postgres.stream;

import static dev.holdfast.agent.postgres.stream.WalRig.await;
import static dev.holdfast.agent.postgres.stream.WalRig.waitFor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalSegmentName;
import dev.holdfast.testkit.PgCluster;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stream mode against a real PostgreSQL 15 cluster and a real repository: what reaches the
 * repository is byte-identical to the server's WAL, the flush position the server sees is never
 * ahead of the repository, and restarts, timeline switches, wrong passwords and dropped slots end
 * in a correct continuation or a clear error.
 */
class WalStreamRunnerTest {
    static final String SOURCE = "main";
    static final String PASSWORD = "stream-test-pw-9f2";
    @TempDir
    Path dir;

    static PgCluster cluster(String... settings) {
        PgCluster.Builder b = PgCluster.builder();
        for (String s : settings) {
            b.setting(s);
        }
        PgCluster pg = b.start();
        pg.createRole("holdfast", PASSWORD, true, "scram-sha-256");
        pg.psql("CREATE TABLE t (id bigserial PRIMARY KEY, pad text)");
        return pg;
    }

    static WalStreamRunner runner(WalRig rig, PgCluster pg, String password, Duration interval) {
        return runner(rig, pg, password, interval, false);
    }

    static WalStreamRunner runner(WalRig rig, PgCluster pg, String password, Duration interval, boolean synchronous) {
        return new WalStreamRunner(rig.vertx, SOURCE, ConnInfo.parse(pg.conninfo("holdfast", password)),
                new StreamSettings("holdfast", interval, synchronous, "holdfast_main"), rig.repository, rig.pipeline, rig.meters,
                Clock.systemUTC(), new dev.holdfast.agent.daemon.EventLog(System.out, Clock.systemUTC(), dev.holdfast.agent.config.AgentConfig.LogLevel.INFO,
                false).with("source", SOURCE));
    }

    static void write(PgCluster pg, int rows) {
        pg.psql("INSERT INTO t (pad) SELECT repeat(md5(random()::text), 4) FROM generate_series(1, " + rows + ")");
    }

    static Lsn serverFlush(PgCluster pg) {
        return Lsn.parse(pg.psql("SELECT pg_current_wal_flush_lsn()"));
    }

    static Lsn durable(WalRig rig, PgCluster pg, int tli) throws Exception {
        try {
            return rig.index(SOURCE, pg).durableEnd(tli).orElse(Lsn.INVALID);
        } catch (java.util.concurrent.ExecutionException e) {
            dev.holdfast.error.HoldfastException h = dev.holdfast.error.HoldfastException.find(e);
            if (h != null && h.code() == dev.holdfast.error.ErrorCode.OBJECT_NOT_FOUND) {
                return Lsn.INVALID; // nothing shipped yet: no cluster descriptor
            }
            throw e;
        }
    }

    /** The flush position the server has from us; INVALID when we are not connected. */
    static Lsn reportedFlush(PgCluster pg) {
        String s = pg.psql("SELECT flush_lsn FROM pg_stat_replication WHERE application_name = 'holdfast_main'");
        return s.isEmpty() ? Lsn.INVALID : Lsn.parse(s);
    }

    static void waitDurable(WalRig rig, PgCluster pg, int tli, Lsn target) throws InterruptedException {
        waitFor("WAL durable to " + target, Duration.ofSeconds(90), () -> {
            try {
                return durable(rig, pg, tli).compareTo(target) >= 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Every segment of the server still in pg_wal below {@code end} matches what fetch returns. */
    static int compareWithServer(WalRig rig, PgCluster pg, int tli, Lsn end) throws Exception {
        WalRepository wal = rig.wal(SOURCE, pg);
        WalIndex index = await(wal.index());
        long segSize = index.segmentSize();
        int compared = 0;
        WalSegmentName first = index.firstSegment(tli).orElseThrow();
        for (WalSegmentName s = first; s.startLsn(segSize).compareTo(end) < 0; s = s.next(segSize)) {
            Path file = pg.walDir().resolve(s.toString());
            if (!Files.exists(file)) {
                continue; // recycled by the server since
            }
            byte[] server = Files.readAllBytes(file);
            Optional<Buffer> fetched = await(wal.fetch(s.toString()));
            assertTrue(fetched.isPresent(), s + " is in the repository");
            byte[] got = fetched.get().getBytes();
            assertEquals(segSize, got.length, s + " is fetched at full segment size");
            long valid = Math.min(segSize, end.minus(s.startLsn(segSize)));
            assertArrayEquals(Arrays.copyOf(server, (int) valid), Arrays.copyOf(got, (int) valid), s + ": bytes up to " + valid);
            if (valid < segSize && index.segment(s).isEmpty()) {
                for (long i = index.coveredTo(s); i < segSize; i++) {
                    if (got[(int) i] != 0) {
                        throw new AssertionError(s + ": padding at " + i + " is not zero");
                    }
                }
            }
            compared++;
        }
        return compared;
    }

    @Test
    void shipsPartsAndSegmentsByteIdenticalAndNeverReportsMoreThanIsDurable() throws Exception {
        try (PgCluster pg = cluster(); WalRig rig = new WalRig(dir)) {
            WalStreamRunner runner = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(runner.start());
            for (int round = 0; round < 12; round++) {
                write(pg, 1500);
                if (round % 4 == 3) {
                    pg.switchWal();
                }
                // Read what the server was told first, then the repository: the repository only grows,
                // so a flush position beyond it would be an acknowledgement of non-durable WAL.
                Lsn told = reportedFlush(pg);
                Lsn inRepo = durable(rig, pg, 1);
                assertTrue(told.compareTo(inRepo) <= 0, "the server was told " + told + " but the repository holds " + inRepo);
            }
            write(pg, 300); // leaves a segment half filled: it can only be in the repository as parts
            Lsn target = serverFlush(pg);
            waitDurable(rig, pg, 1, target);
            waitFor("the server to see the flush position", Duration.ofSeconds(30), () -> reportedFlush(pg).compareTo(target) >= 0);
            await(runner.stop(Duration.ofSeconds(20)));

            WalIndex index = rig.index(SOURCE, pg);
            assertEquals(java.util.List.of(), index.gaps(1), "contiguous");
            assertTrue(index.segmentCount() >= 3, "complete segments were stored: " + index.segmentCount());
            WalSegmentName last = WalSegmentName.of(1, target, index.segmentSize());
            assertTrue(index.segment(last).isEmpty() && !index.parts(last).isEmpty(), "the segment being filled is stored as parts");
            assertTrue(compareWithServer(rig, pg, 1, target) >= 2);
            assertTrue(index.supersededParts().isEmpty(), "parts of complete segments were deleted");
            assertTrue(rig.meters.get("holdfast.wal.segments.shipped").counter().count() >= 3);
            assertEquals(0.0, rig.meters.get("holdfast.wal.rpo.seconds").gauge().value(), 0.0001, "caught up");
        }
    }

    @Test
    void synchronousModeMakesEveryCommitWaitUntilItsWalIsInTheRepository() throws Exception {
        try (PgCluster pg = cluster(); WalRig rig = new WalRig(dir)) {
            // A 10 s part interval: without synchronous mode the repository would trail commits by seconds.
            WalStreamRunner runner = runner(rig, pg, PASSWORD, Duration.ofSeconds(10), true);
            await(runner.start());
            waitFor("the agent to stream", Duration.ofSeconds(30), () -> reportedFlush(pg).isValid());
            pg.psql("ALTER SYSTEM SET synchronous_standby_names = 'holdfast_main'");
            pg.psql("SELECT pg_reload_conf()");
            waitFor("the agent to be the synchronous standby", Duration.ofSeconds(30), () -> "sync".equals(
                    pg.psql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'holdfast_main'")));
            for (int i = 0; i < 15; i++) {
                // The row's WAL position, read inside the transaction; psql returns once the commit returned.
                Lsn row = Lsn.parse(pg.psql("INSERT INTO t (pad) VALUES ('sync " + i + "') RETURNING pg_current_wal_insert_lsn()"));
                Lsn inRepo = durable(rig, pg, 1);
                assertTrue(inRepo.compareTo(row) >= 0, "commit " + i + " returned while the repository held WAL only to " + inRepo
                        + ", before its row at " + row);
            }
            pg.psql("ALTER SYSTEM RESET synchronous_standby_names");
            pg.psql("SELECT pg_reload_conf()");
            await(runner.stop(Duration.ofSeconds(20)));
        }
    }

    @Test
    void resumesAfterAServerRestartAndAnAgentRestartWithoutAGap() throws Exception {
        try (PgCluster pg = cluster(); WalRig rig = new WalRig(dir)) {
            WalStreamRunner runner = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(runner.start());
            write(pg, 3000);
            waitDurable(rig, pg, 1, serverFlush(pg));
            pg.restart();
            write(pg, 3000);
            pg.switchWal();
            write(pg, 500);
            waitDurable(rig, pg, 1, serverFlush(pg));
            await(runner.stop(Duration.ofSeconds(20)));

            write(pg, 2000); // while no agent runs: the slot keeps it
            WalStreamRunner again = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(again.start());
            Lsn target = serverFlush(pg);
            waitDurable(rig, pg, 1, target);
            await(again.stop(Duration.ofSeconds(20)));
            assertEquals(java.util.List.of(), rig.index(SOURCE, pg).gaps(1));
            assertTrue(compareWithServer(rig, pg, 1, target) >= 2);
        }
    }

    @Test
    void aSegmentLeftIncompleteByACrashIsStreamedAgainNotSkipped() throws Exception {
        try (PgCluster pg = cluster("wal_keep_size = 256MB"); WalRig rig = new WalRig(dir)) {
            WalStreamRunner runner = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(runner.start());
            for (int i = 0; i < 4; i++) {
                write(pg, 1500);
                pg.switchWal();
            }
            write(pg, 300);
            Lsn target = serverFlush(pg);
            waitDurable(rig, pg, 1, target);
            await(runner.stop(Duration.ofSeconds(20)));

            // What a kill -9 can leave: the complete object of an earlier segment never landed (only a
            // part of its start did), while parts of the next segment did.
            WalRepository wal = rig.wal(SOURCE, pg);
            WalIndex index = await(wal.index());
            long segSize = index.segmentSize();
            WalSegmentName last = WalSegmentName.of(1, target, segSize);
            WalSegmentName hole = WalSegmentName.ofNumber(1, last.segmentNumber(segSize) - 2, segSize);
            dev.holdfast.repository.store.Futures.await(rig.store.delete(wal.layout().segment(hole)));
            byte[] server = Files.readAllBytes(pg.walDir().resolve(hole.toString()));
            await(wal.putPart(hole, 0, Buffer.buffer(Arrays.copyOf(server, 4096))));
            // The slot of that agent would still be at the hole (flush never passed it); a new slot
            // says nothing, so the repository alone must show where to resume.
            pg.psql("SELECT pg_drop_replication_slot('holdfast')");
            assertEquals(java.util.List.of(hole), rig.index(SOURCE, pg).gaps(1));

            WalStreamRunner again = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(again.start());
            write(pg, 300);
            Lsn target2 = serverFlush(pg);
            waitDurable(rig, pg, 1, target2);
            waitFor("the hole to be filled", Duration.ofSeconds(60), () -> {
                try {
                    return rig.index(SOURCE, pg).gaps(1).isEmpty();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await(again.stop(Duration.ofSeconds(20)));
            assertTrue(compareWithServer(rig, pg, 1, target2) >= 4);
        }
    }

    @Test
    void aWrongPasswordIsAClearErrorAndShipsNothing() throws Exception {
        try (PgCluster pg = cluster(); WalRig rig = new WalRig(dir)) {
            WalStreamRunner runner = runner(rig, pg, "not-the-password", Duration.ofMillis(200));
            await(runner.start());
            waitFor("the authentication error", Duration.ofSeconds(30), () -> runner.status().getString("last_error", "")
                    .startsWith("source_auth_failed"));
            assertFalse(runner.status().getString("last_error").contains("not-the-password"), "no password in messages");
            await(runner.stop(Duration.ofSeconds(5)));
            assertTrue(dev.holdfast.repository.store.Futures.await(rig.store.list("wal/", Optional.empty(), 10)).objects().isEmpty(), "nothing shipped");
        }
    }

    @Test
    void aDroppedSlotIsRecreatedAndAGapIsAClearError() throws Exception {
        try (PgCluster pg = cluster("wal_keep_size = 0", "max_wal_size = 32MB", "min_wal_size = 2MB"); WalRig rig = new WalRig(dir)) {
            WalStreamRunner runner = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(runner.start());
            write(pg, 2000);
            waitDurable(rig, pg, 1, serverFlush(pg));
            await(runner.stop(Duration.ofSeconds(20)));

            // Dropped and the agent restarted at once: the WAL is still there, so it continues without a gap.
            pg.psql("SELECT pg_drop_replication_slot('holdfast')");
            WalStreamRunner again = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(again.start());
            write(pg, 1000);
            Lsn target = serverFlush(pg);
            waitDurable(rig, pg, 1, target);
            await(again.stop(Duration.ofSeconds(20)));
            assertEquals("t", pg.psql("SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = 'holdfast'"), "slot recreated");
            assertEquals(java.util.List.of(), rig.index(SOURCE, pg).gaps(1));

            // Dropped, and the server recycles the WAL the repository does not have: a WAL gap, loudly.
            pg.psql("SELECT pg_drop_replication_slot('holdfast')");
            for (int i = 0; i < 8; i++) {
                write(pg, 2000);
                pg.switchWal();
            }
            pg.psql("CHECKPOINT");
            pg.psql("CHECKPOINT");
            WalStreamRunner third = runner(rig, pg, PASSWORD, Duration.ofMillis(200));
            await(third.start());
            waitFor("the gap to be reported", Duration.ofSeconds(30),
                    () -> rig.meters.get("holdfast.wal.gaps").counter().count() >= 1);
            // Then shipping goes on from where the server's WAL starts, the gap recorded, not papered over.
            write(pg, 1000);
            Lsn after = serverFlush(pg);
            waitDurable(rig, pg, 1, after);
            await(third.stop(Duration.ofSeconds(20)));
            assertFalse(rig.index(SOURCE, pg).gaps(1).isEmpty(), "the gap stays visible");
        }
    }

    @Test
    void followsATimelineSwitchToAPromotedCopy() throws Exception {
        try (PgCluster primary = cluster("wal_keep_size = 64MB"); WalRig rig = new WalRig(dir)) {
            try (PgCluster standby = primary.startStandby()) {
                WalStreamRunner runner = runner(rig, primary, PASSWORD, Duration.ofMillis(200));
                await(runner.start());
                write(primary, 3000);
                primary.switchWal();
                write(primary, 500);
                waitDurable(rig, primary, 1, serverFlush(primary));
                await(runner.stop(Duration.ofSeconds(20)));
                String systemId = primary.systemIdentifier();
                primary.stop();

                standby.promote();
                waitFor("promotion", Duration.ofSeconds(30), () -> "f".equals(standby.psql("SELECT pg_is_in_recovery()")));
                assertEquals(systemId, standby.systemIdentifier());
                write(standby, 3000);
                standby.switchWal();
                write(standby, 500);
                Lsn target = serverFlush(standby);

                WalStreamRunner follower = runner(rig, standby, PASSWORD, Duration.ofMillis(200));
                await(follower.start());
                waitDurable(rig, standby, 2, target);
                await(follower.stop(Duration.ofSeconds(20)));

                WalIndex index = rig.index(SOURCE, standby);
                assertTrue(index.history(2).isPresent(), "00000002.history stored");
                assertEquals(java.util.List.of(), index.gaps(2));
                Optional<Buffer> history = await(rig.wal(SOURCE, standby).fetch("00000002.history"));
                assertArrayEquals(Files.readAllBytes(standby.walDir().resolve("00000002.history")), history.orElseThrow().getBytes());
                assertTrue(compareWithServer(rig, standby, 2, target) >= 1);
            }
        }
    }
}
