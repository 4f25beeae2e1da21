package dev.holdfast.agent.postgres.replication;

import static dev.holdfast.agent.postgres.replication.PgTestSupport.SEGMENT;
import static dev.holdfast.agent.postgres.replication.PgTestSupport.await;
import static dev.holdfast.agent.postgres.replication.PgTestSupport.awaitFailure;
import static dev.holdfast.agent.postgres.replication.PgTestSupport.eventually;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalSegmentName;
import dev.holdfast.testkit.PgCluster;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client against a real PostgreSQL 15: authentication, commands, slots and streaming. */
class ReplicationClientTest {
    private static final String SCRAM_PW = "scr'am pa:ss";
    private static final String MD5_PW = "md5-Secret-9";
    private static final String CLEAR_PW = "clear-Secret-7";
    private static Vertx vertx;
    private static PgCluster pg;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
        pg = PgCluster.builder()
                .hba("host all md5user 127.0.0.1/32 md5")
                .hba("host replication md5user 127.0.0.1/32 md5")
                .hba("host all trustuser 127.0.0.1/32 trust")
                .hba("host replication trustuser 127.0.0.1/32 trust")
                .hba("host all clearuser 127.0.0.1/32 password")
                .hba("host replication clearuser 127.0.0.1/32 password")
                .setting("wal_sender_timeout = '4s'")
                .start();
        pg.createRole("scramuser", SCRAM_PW, true, "scram-sha-256");
        pg.createRole("md5user", MD5_PW, true, "md5");
        pg.createRole("clearuser", CLEAR_PW, true, "scram-sha-256");
        pg.psql("CREATE ROLE trustuser LOGIN REPLICATION");
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
        if (vertx != null) {
            await(vertx.close());
        }
    }

    private static ConnInfo tcp(String user, String password) {
        return ConnInfo.parse(pg.conninfo(user, password == null ? null : "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"))
                .withApplicationName("holdfast-test");
    }

    private static ReplicationClient connect(String user, String password, boolean replication) {
        return await(ReplicationClient.connect(vertx, tcp(user, password), replication));
    }

    private static String currentUser(ReplicationClient c) {
        return await(c.simpleQuery("SELECT current_user")).get(0).get(0);
    }

    @Test
    void scramAuthenticationSucceedsOnReplicationAndOrdinaryConnections() {
        ReplicationClient repl = connect("scramuser", SCRAM_PW, true);
        try {
            assertTrue(repl.parameters().get("server_version").startsWith("15"), repl.parameters().toString());
            assertTrue(repl.backendPid() > 0);
            assertEquals(pg.systemIdentifier(), await(repl.identifySystem()).systemId());
        } finally {
            await(repl.close());
        }
        ReplicationClient sql = connect("scramuser", SCRAM_PW, false);
        try {
            assertEquals("scramuser", currentUser(sql));
            assertEquals("holdfast-test", await(sql.simpleQuery("SHOW application_name")).get(0).get(0));
        } finally {
            await(sql.close());
        }
    }

    @Test
    void md5AuthenticationSucceeds() {
        ReplicationClient c = connect("md5user", MD5_PW, false);
        assertEquals("md5user", currentUser(c));
        await(c.close());
        ReplicationClient r = connect("md5user", MD5_PW, true);
        await(r.identifySystem());
        await(r.close());
    }

    @Test
    void trustAndCleartextAuthenticationSucceed() {
        ReplicationClient t = connect("trustuser", null, false);
        assertEquals("trustuser", currentUser(t));
        await(t.close());
        ReplicationClient c = connect("clearuser", CLEAR_PW, true);
        await(c.identifySystem());
        await(c.close());
    }

    @Test
    void wrongPasswordFailsWithAuthFailedAndDoesNotLeakThePassword() {
        for (String user : List.of("scramuser", "md5user", "clearuser")) {
            String wrong = "Wrong-Pw-" + user;
            HoldfastException e = awaitFailure(ReplicationClient.connect(vertx, tcp(user, wrong), true));
            assertEquals(ErrorCode.SOURCE_AUTH_FAILED, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("28P01"), e.getMessage());
            assertFalse(e.getMessage().contains(wrong), e.getMessage());
            assertFalse(String.valueOf(e.getCause()).contains(wrong));
        }
    }

    @Test
    void missingPasswordFailsWithAuthFailed() {
        ConnInfo info = tcp("scramuser", null).withPassword(null);
        ConnInfo noFile = ConnInfo.parse(pg.conninfo("scramuser", null) + " passfile=" + tmp.resolve("none"));
        HoldfastException e = awaitFailure(ReplicationClient.connect(vertx, noFile, true));
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("none was given"), e.getMessage());
        assertNull(info.password());
    }

    @Test
    void passwordComesFromThePassfileWithReplicationAsTheDatabase() throws IOException {
        Path file = tmp.resolve("pgpass");
        Files.writeString(file, "127.0.0.1:" + pg.port() + ":postgres:scramuser:wrong\n"
                + "127.0.0.1:" + pg.port() + ":replication:scramuser:" + SCRAM_PW.replace(":", "\\:") + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        ConnInfo info = ConnInfo.parse(pg.conninfo("scramuser", null) + " passfile=" + file);
        ReplicationClient c = await(ReplicationClient.connect(vertx, info, true));
        await(c.identifySystem());
        assertFalse(c.toString().contains(SCRAM_PW));
        assertFalse(c.connInfo().toString().contains(SCRAM_PW));
        await(c.close());
        // the ordinary connection matches the postgres line, whose password is wrong
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED, awaitFailure(ReplicationClient.connect(vertx, info, false)).code());
    }

    @Test
    void unixSocketConnectionWorksWithTheNioTransport() {
        assertFalse(vertx.isNativeTransportEnabled());
        ConnInfo info = ConnInfo.parse("host=" + pg.socketDir() + " port=" + pg.port() + " user=postgres dbname=postgres");
        assertTrue(info.isUnixSocket());
        ReplicationClient c = await(ReplicationClient.connect(vertx, info, true));
        assertEquals(pg.systemIdentifier(), await(c.identifySystem()).systemId());
        await(c.close());
    }

    @Test
    void refusedConnectionIsSourceUnavailable() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        HoldfastException e = awaitFailure(ReplicationClient.connect(vertx, ConnInfo.parse("host=127.0.0.1 port=" + port + " user=x"), true));
        assertEquals(ErrorCode.SOURCE_UNAVAILABLE, e.code(), e.getMessage());
        HoldfastException sock = awaitFailure(ReplicationClient.connect(vertx, ConnInfo.parse("host=" + tmp + " user=x"), true));
        assertEquals(ErrorCode.SOURCE_UNAVAILABLE, sock.code(), sock.getMessage());
    }

    @Test
    void aServerThatNeverAnswersTimesOutAsSourceUnavailable() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    accepted.add(s.accept());
                } catch (IOException e) {
                    // closed
                }
            });
            acceptor.start();
            long t0 = System.nanoTime();
            HoldfastException e = awaitFailure(ReplicationClient.connect(vertx,
                    ConnInfo.parse("host=127.0.0.1 port=" + s.getLocalPort() + " user=x connect_timeout=2"), true));
            assertEquals(ErrorCode.SOURCE_UNAVAILABLE, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("timed out"), e.getMessage());
            assertTrue(System.nanoTime() - t0 >= 1_900_000_000L);
        }
    }

    @Test
    void identifySystemSegmentSizeAndVersion() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, true);
        try {
            SystemIdentity id = await(c.identifySystem());
            assertEquals(pg.psql("SELECT system_identifier FROM pg_control_system()"), id.systemId());
            assertEquals(Integer.parseInt(pg.psql("SELECT timeline_id FROM pg_control_checkpoint()")), id.timeline());
            assertEquals(1, id.timeline());
            assertTrue(id.xlogPos().isValid());
            assertNull(id.dbName());
            assertEquals(1048576L, await(c.walSegmentSize()));
            assertTrue(await(c.serverVersionNum()) >= 150000);
        } finally {
            await(c.close());
        }
    }

    @Test
    void simpleQueryReturnsTextWithNullsAndErrorsCarryTheSqlstate() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, false);
        try {
            assertEquals(List.of(Arrays.asList("1", null, "é"), Arrays.asList("2", null, "é")),
                    await(c.simpleQuery("SELECT g, NULL, 'é' FROM generate_series(1, 2) g")));
            HoldfastException e = awaitFailure(c.simpleQuery("SELECT * FROM no_such_table_here"));
            assertEquals(ErrorCode.SOURCE_ERROR, e.code());
            assertTrue(e.getMessage().contains("42P01") && e.getMessage().contains("no_such_table_here"), e.getMessage());
            assertEquals(List.of(List.of("ok")), await(c.simpleQuery("SELECT 'ok'")), "usable after an error");
        } finally {
            await(c.close());
        }
        HoldfastException closed = awaitFailure(c.simpleQuery("SELECT 1"));
        assertEquals(ErrorCode.SOURCE_UNAVAILABLE, closed.code());
        await(c.close()); // idempotent
    }

    @Test
    void slotsAreCreatedReadAndNotCreatedTwice() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, true);
        try {
            assertEquals(Optional.empty(), await(c.readReplicationSlot("no_such_slot")));
            await(c.createPhysicalSlot("holdfast_slot_1"));
            SlotInfo slot = await(c.readReplicationSlot("holdfast_slot_1")).orElseThrow();
            assertEquals("physical", slot.type());
            assertTrue(slot.restartLsn().isValid(), "RESERVE_WAL sets restart_lsn");
            assertEquals(1, slot.restartTimeline());
            assertEquals(pg.psql("SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'holdfast_slot_1'"),
                    slot.restartLsn().toString());
            HoldfastException again = awaitFailure(c.createPhysicalSlot("holdfast_slot_1"));
            assertEquals(ErrorCode.OBJECT_EXISTS, again.code(), again.getMessage());
            for (String bad : List.of("Upper", "with-dash", "", "x".repeat(64), "a\"b")) {
                assertEquals(ErrorCode.CONFIG_INVALID, awaitFailure(c.createPhysicalSlot(bad)).code(), bad);
                assertEquals(ErrorCode.CONFIG_INVALID, awaitFailure(c.readReplicationSlot(bad)).code(), bad);
            }
        } finally {
            await(c.close());
        }
    }

    @Test
    void streamsASegmentByteIdenticalToPgWalAndStatusUpdatesMoveTheSlot() throws IOException {
        Instant fixed = Instant.parse("2030-01-02T03:04:05Z");
        ReplicationClient c = await(ReplicationClient.connect(vertx, tcp("scramuser", SCRAM_PW), true, Clock.fixed(fixed, ZoneOffset.UTC)));
        try {
            await(c.createPhysicalSlot("stream_slot"));
            pg.switchWal();
            pg.psql("CREATE TABLE IF NOT EXISTS filler (i int)"); // a record, so the next switch is not a no-op
            SystemIdentity id = await(c.identifySystem());
            Lsn start = id.xlogPos().segmentStart(SEGMENT);
            PgTestSupport.Collector collector = new PgTestSupport.Collector(start);
            collector.answerKeepalives = c;
            var stream = c.startReplication("stream_slot", start, id.timeline(), collector);

            pg.psql("CREATE TABLE streamed (i int, t text); INSERT INTO streamed SELECT g, repeat('x', 100) FROM generate_series(1, 3000) g");
            pg.switchWal();
            byte[] got = await(collector.segmentDone.future()).getBytes();
            byte[] file = Files.readAllBytes(pg.walDir().resolve(WalSegmentName.of(id.timeline(), start, SEGMENT).toString()));
            assertEquals(SEGMENT, file.length);
            assertArrayEquals(file, got, "streamed segment differs from pg_wal");

            Lsn end = start.plus(SEGMENT);
            c.sendStatusUpdate(end, end, end, false);
            eventually("the slot's restart_lsn reaches " + end, () -> Lsn.parse(
                    pg.psql("SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'stream_slot'")).compareTo(end) >= 0);
            String replyTime = pg.psql("SELECT to_char(reply_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM pg_stat_replication "
                    + "WHERE application_name = 'holdfast-test'");
            assertEquals("2030-01-02 03:04:05", replyTime, "the status update carries the injected clock");

            await(c.stopReplication());
            StreamEnd e = await(stream);
            assertEquals(new StreamEnd(false, 0, Lsn.INVALID), e);
            assertTrue(collector.received.compareTo(end) >= 0);
            assertEquals(id.systemId(), await(c.identifySystem()).systemId(), "idle again after the stream");
        } finally {
            await(c.close());
        }
    }

    @Test
    void keepaliveAskingForAReplyIsSurfaced() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, true);
        try {
            SystemIdentity id = await(c.identifySystem());
            PgTestSupport.Collector collector = new PgTestSupport.Collector(id.xlogPos());
            var stream = c.startReplication(null, id.xlogPos(), id.timeline(), collector);
            // wal_sender_timeout = 4s: the server asks for a reply after 2 s without one
            Instant serverTime = await(collector.replyRequested.future());
            assertTrue(serverTime.isAfter(Instant.parse("2020-01-01T00:00:00Z")) && serverTime.isBefore(Instant.now().plusSeconds(60)),
                    serverTime.toString());
            c.sendStatusUpdate(collector.received, Lsn.INVALID, Lsn.INVALID, false);
            await(c.stopReplication());
            assertEquals(false, await(stream).endOfTimeline());
        } finally {
            await(c.close());
        }
    }

    @Test
    void stopRightAfterStartEndsTheStreamOnceItBegins() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, true);
        try {
            SystemIdentity id = await(c.identifySystem());
            var stream = c.startReplication(null, id.xlogPos(), id.timeline(), new PgTestSupport.Collector(id.xlogPos()));
            await(c.stopReplication()); // most likely before the server's CopyBothResponse
            assertEquals(new StreamEnd(false, 0, Lsn.INVALID), await(stream));
            assertEquals(id.systemId(), await(c.identifySystem()).systemId());
        } finally {
            await(c.close());
        }
    }

    @Test
    void closingDuringAStreamFailsItAsUnavailable() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, true);
        SystemIdentity id = await(c.identifySystem());
        PgTestSupport.Collector collector = new PgTestSupport.Collector(id.xlogPos());
        var stream = c.startReplication(null, id.xlogPos(), id.timeline(), collector);
        await(c.close());
        assertEquals(ErrorCode.SOURCE_UNAVAILABLE, awaitFailure(stream).code());
    }

    @Test
    void pausedStreamResumesWithoutLosingData() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, true);
        try {
            pg.switchWal();
            pg.psql("CREATE TABLE IF NOT EXISTS filler (i int)");
            SystemIdentity id = await(c.identifySystem());
            Lsn start = id.xlogPos().segmentStart(SEGMENT);
            PgTestSupport.Collector collector = new PgTestSupport.Collector(start) {
                private int calls;

                @Override
                public void onData(Lsn dataStart, Lsn serverWalEnd, Instant serverTime, io.vertx.core.buffer.Buffer data) {
                    super.onData(dataStart, serverWalEnd, serverTime, data);
                    if (++calls % 3 == 0) { // a slow consumer: pause, and resume from elsewhere
                        c.pause();
                        vertx.setTimer(5, t -> c.resume());
                    }
                }
            };
            collector.answerKeepalives = c;
            var stream = c.startReplication(null, start, id.timeline(), collector);
            pg.psql("INSERT INTO filler SELECT g FROM generate_series(1, 20000) g");
            pg.switchWal();
            await(collector.segmentDone.future());
            await(c.stopReplication());
            await(stream);
        } finally {
            await(c.close());
        }
    }

    @Test
    void listenerExceptionFailsTheStreamAndClosesTheConnection() {
        ReplicationClient c = connect("scramuser", SCRAM_PW, true);
        SystemIdentity id = await(c.identifySystem());
        var stream = c.startReplication(null, id.xlogPos().segmentStart(SEGMENT), id.timeline(), new WalListener() {
            @Override
            public void onData(Lsn start, Lsn serverWalEnd, Instant serverTime, io.vertx.core.buffer.Buffer data) {
                throw new IllegalStateException("listener broke");
            }

            @Override
            public void onKeepalive(Lsn serverWalEnd, Instant serverTime, boolean replyRequested) {
            }
        });
        Throwable t = assertFailsWith(stream);
        assertEquals("listener broke", t.getMessage());
        assertEquals(ErrorCode.SOURCE_UNAVAILABLE, awaitFailure(c.identifySystem()).code());
        await(c.close());
    }

    private static Throwable assertFailsWith(io.vertx.core.Future<?> f) {
        try {
            f.toCompletionStage().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
            throw new AssertionError("expected a failure");
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError(e);
        }
    }
}
