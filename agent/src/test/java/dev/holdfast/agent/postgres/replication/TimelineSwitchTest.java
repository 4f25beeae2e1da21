package dev.holdfast.agent.postgres.replication;

import static dev.holdfast.agent.postgres.replication.PgTestSupport.SEGMENT;
import static dev.holdfast.agent.postgres.replication.PgTestSupport.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.testkit.PgCluster;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** End of timeline: a standby streamed on timeline 1, promoted to timeline 2. */
class TimelineSwitchTest {
    private static Vertx vertx;
    private static PgCluster primary;
    private static PgCluster standby;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
        primary = PgCluster.builder().start();
        primary.psql("CREATE TABLE before_promotion (i int); INSERT INTO before_promotion SELECT generate_series(1, 1000)");
        standby = primary.startStandby();
        // WAL past the segment boundary pg_basebackup's switch left, replayed by the standby, so that
        // the promotion's switch point lies inside a segment, after where the tests start streaming
        primary.psql("INSERT INTO before_promotion SELECT generate_series(1, 1000)");
        Lsn target = Lsn.parse(primary.psql("SELECT pg_current_wal_lsn()"));
        PgTestSupport.eventually("the standby replays " + target,
                () -> Lsn.parse(standby.psql("SELECT pg_last_wal_replay_lsn()")).compareTo(target) >= 0);
    }

    @AfterAll
    static void stop() {
        if (standby != null) {
            standby.close();
        }
        if (primary != null) {
            primary.close();
        }
        if (vertx != null) {
            await(vertx.close());
        }
    }

    private static ConnInfo standbySocket() {
        return ConnInfo.parse("host=" + standby.socketDir() + " port=" + standby.port() + " user=" + PgCluster.SUPERUSER)
                .withApplicationName("holdfast-timeline-test");
    }

    @Test
    void promotionEndsTimelineOneAtTheSwitchPointAndHistoryNamesIt() {
        ReplicationClient live = await(ReplicationClient.connect(vertx, standbySocket(), true));
        SystemIdentity before = await(live.identifySystem());
        assertEquals(1, before.timeline());
        Lsn start = before.xlogPos().segmentStart(SEGMENT);
        PgTestSupport.Collector liveCollector = new PgTestSupport.Collector(start);
        liveCollector.answerKeepalives = live;
        Future<StreamEnd> liveStream = live.startReplication(null, start, 1, liveCollector);

        standby.promote();

        // The stream running at the promotion ends too: the cascading walsender notices that its
        // timeline became historic, sends the rest of timeline 1 and ends it with CopyDone.
        StreamEnd liveEnd = await(liveStream);
        await(live.close());

        ReplicationClient c = await(ReplicationClient.connect(vertx, standbySocket(), true));
        try {
            SystemIdentity after = await(c.identifySystem());
            assertEquals(2, after.timeline());
            assertEquals(before.systemId(), after.systemId());

            TimelineHistory history = await(c.timelineHistory(2));
            assertEquals("00000002.history", history.fileName());
            // "1<TAB>0/3000060<TAB>no recovery target specified"
            String[] line = history.text().strip().split("\n")[0].split("\t");
            assertEquals("1", line[0].strip());
            Lsn switchPoint = Lsn.parse(line[1].strip());
            assertTrue(switchPoint.compareTo(start) > 0, "switch point " + switchPoint + " after " + start);

            PgTestSupport.Collector collector = new PgTestSupport.Collector(start);
            collector.answerKeepalives = c;
            StreamEnd end = await(c.startReplication(null, start, 1, collector));
            assertEquals(new StreamEnd(true, 2, switchPoint), end);
            assertEquals(switchPoint, collector.received, "timeline 1 streamed exactly up to the switch point");
            assertEquals(new StreamEnd(true, 2, switchPoint), liveEnd);
            assertEquals(switchPoint, liveCollector.received);

            // the connection is idle again: continue on timeline 2 from the switch point
            PgTestSupport.Collector next = new PgTestSupport.Collector(switchPoint);
            Future<StreamEnd> onTwo = c.startReplication(null, switchPoint, 2, next);
            standby.psql("CREATE TABLE after_promotion (i int)");
            PgTestSupport.eventually("data on timeline 2", () -> next.received.compareTo(switchPoint) > 0);
            await(c.stopReplication());
            assertEquals(new StreamEnd(false, 0, Lsn.INVALID), await(onTwo));
        } finally {
            await(c.close());
        }
    }
}
