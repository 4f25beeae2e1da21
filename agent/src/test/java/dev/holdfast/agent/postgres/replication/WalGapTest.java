package dev.holdfast.agent.postgres.replication;

import static dev.holdfast.agent.postgres.replication.PgTestSupport.await;
import static dev.holdfast.agent.postgres.replication.PgTestSupport.awaitFailure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.testkit.PgCluster;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Asking for WAL the server has removed is a gap, not a generic error. */
class WalGapTest {
    private static Vertx vertx;
    private static PgCluster pg;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
        pg = PgCluster.builder().setting("wal_keep_size = 0").start();
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

    /** The first segment, 000000010000000000000001, with the test clusters' 1 MiB segments (0/1000000 with 16 MiB ones). */
    private static final Lsn SEGMENT_1 = Lsn.parse("0/100000");

    @Test
    void startingAtRemovedWalFailsWithWalGap() {
        pg.psql("CREATE TABLE churn (i int)");
        for (int i = 0; i < 4; i++) {
            pg.psql("INSERT INTO churn SELECT generate_series(1, 100)");
            pg.switchWal();
            pg.psql("CHECKPOINT");
        }
        assertFalse(Files.exists(pg.walDir().resolve("000000010000000000000001")), "segment 1 should be gone");

        ReplicationClient c = await(ReplicationClient.connect(vertx,
                ConnInfo.parse("host=" + pg.socketDir() + " port=" + pg.port() + " user=" + PgCluster.SUPERUSER), true));
        try {
            PgTestSupport.Collector collector = new PgTestSupport.Collector(SEGMENT_1);
            HoldfastException e = awaitFailure(c.startReplication(null, SEGMENT_1, 1, collector));
            assertEquals(ErrorCode.WAL_GAP, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("000000010000000000000001") && e.getMessage().contains("58P01"), e.getMessage());
            // the connection survives the error
            assertEquals(1, await(c.identifySystem()).timeline());
        } finally {
            await(c.close());
        }
    }
}
