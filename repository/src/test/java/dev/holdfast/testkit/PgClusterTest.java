package dev.holdfast.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The test cluster harness itself: it starts, answers, uses 1 MiB segments, and cleans up. */
class PgClusterTest {
    @Test
    void startsAnswersAndCleansUp() {
        java.nio.file.Path base;
        try (PgCluster pg = PgCluster.builder().start()) {
            base = pg.baseDir();
            assertEquals("1", pg.psql("SELECT 1"));
            assertEquals("1MB", pg.psql("SHOW wal_segment_size"));
            assertEquals("replica", pg.psql("SHOW wal_level"));
            assertTrue(pg.systemIdentifier().matches("[0-9]+"));
        }
        assertTrue(!Files.exists(base), "the cluster's directory is removed");
    }
}
