package dev.holdfast.controller.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.repository.retention.RetentionInventory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A cluster is covered by the policy of the hosts that report it, by system identifier; never by a guess. */
class PolicyClustersTest {
    @TempDir
    Path dir;

    private static SourceRecord source(String host, String systemId) {
        return new SourceRecord(host, "main", "postgres", systemId, "15.8", "stream", Optional.empty());
    }

    @Test
    void twoClustersUnderOneSourceNameFollowTheirOwnHostsPoliciesAndDisagreementKeepsEverything() throws Exception {
        // default first in the file: it must still only cover what no other policy covers.
        Path yaml = dir.resolve("controller.yaml");
        Files.writeString(yaml, """
                policies:
                  default:
                    retention: { daily: 7, weekly: 4, monthly: 12, pitr_window: 7d }
                  critical:
                    sources: ["db1/main"]
                    retention: { daily: 30, weekly: 8, monthly: 36, pitr_window: 14d }
                """);
        ControllerConfig config = ControllerConfig.load(yaml, cron -> { });
        PolicyClusters c = new PolicyClusters(config, List.of(source("db1", "7301"), source("db2", "7302"), source("db3", "7303"),
                source("db1-standby", "7303")));
        assertEquals("critical", c.policyOf(new RetentionInventory.Cluster("main", "7301")).name());
        assertEquals("default", c.policyOf(new RetentionInventory.Cluster("main", "7302")).name());
        assertEquals("default", c.policyOf(new RetentionInventory.Cluster("main", "9999")).name(), "a cluster no host reports");
        // db3 and db1-standby report one cluster (a primary and its standby); once their policies differ, none covers it.
        Files.writeString(yaml, Files.readString(yaml).replace("[\"db1/main\"]", "[\"db1/main\", \"db3/main\"]"));
        PolicyClusters d = new PolicyClusters(ControllerConfig.load(yaml, cron -> { }), List.of(source("db3", "7303"),
                source("db1-standby", "7303")));
        assertNull(d.policyOf(new RetentionInventory.Cluster("main", "7303")), "hosts under different policies: nothing is deleted");
    }
}
