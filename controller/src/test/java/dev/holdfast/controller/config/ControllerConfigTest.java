package dev.holdfast.controller.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.schedule.CronExpression;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's file is validated like the agent's: INTERFACE.md's example loads with its
 * defaults; every mistake is config_invalid naming the file and the key, never quoting a secret.
 */
class ControllerConfigTest {
    @TempDir
    Path dir;

    private ControllerConfig load(String yaml) throws Exception {
        Path f = dir.resolve("controller.yaml");
        Files.writeString(f, yaml);
        return ControllerConfig.load(f, CronExpression::parse);
    }

    private String refused(String yaml) {
        HoldfastException e = assertThrows(HoldfastException.class, () -> load(yaml));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code(), e::getMessage);
        assertTrue(e.getMessage().startsWith(dir.resolve("controller.yaml").toString()), e::getMessage);
        return e.getMessage();
    }

    @Test
    void theInterfaceExampleLoadsWithItsDefaults() throws Exception {
        ControllerConfig c = load("""
                listen: 127.0.0.1:7443
                data_dir: /var/lib/holdfast-controller
                catalog: embedded
                auth:
                  bootstrap_admin_token_file: /etc/holdfast/admin.token
                policies:
                  default:
                    schedule: { daily: "0 2 * * *", weekly: "0 3 * * SUN", monthly: "0 4 1 * *" }
                    retention: { daily: 7, weekly: 4, monthly: 12, pitr_window: 7d }
                    restore: { approvals: 1, allowed_targets: [/var/lib/holdfast/restore] }
                """);
        assertEquals("127.0.0.1", c.listenHost());
        assertEquals(7443, c.listenPort());
        assertTrue(c.catalog().embedded());
        assertTrue(c.repository().isEmpty());
        assertEquals(Path.of("/etc/holdfast/admin.token"), c.auth().bootstrapAdminTokenFile());
        assertEquals(ControllerConfig.Agents.DEFAULT, c.agents());
        assertEquals(Duration.ofDays(7), c.agents().certificateTtl());
        ControllerConfig.Policy p = c.policies().get("default");
        assertEquals(List.of("daily", "weekly", "monthly"), List.copyOf(p.schedules().keySet()));
        assertEquals("incr", p.schedules().get("daily").type());
        assertEquals("full", p.schedules().get("weekly").type());
        assertEquals(ZoneId.of("UTC"), p.timeZone());
        assertEquals(new ControllerConfig.Retention(7, 4, 12, Duration.ofDays(7)), p.retention());
        assertEquals(List.of(Path.of("/var/lib/holdfast/restore")), p.restore().allowedTargets());
    }

    @Test
    void anEmptyFileGetsEveryDefault() throws Exception {
        ControllerConfig c = load("{}\n");
        assertEquals("127.0.0.1", c.listenHost());
        assertEquals(Path.of("/var/lib/holdfast-controller"), c.dataDir());
        assertEquals(Path.of("/var/lib/holdfast-controller/admin.token"), c.auth().bootstrapAdminTokenFile());
        assertEquals(ControllerConfig.defaultSchedules(), c.policies().get("default").schedules());
    }

    @Test
    void mistakesNameTheKeyAndWhatWasExpected() {
        assertTrue(refused("lisen: 127.0.0.1:7443\n").contains("lisen"));
        assertTrue(refused("listen: 127.0.0.1\n").contains("listen: expected host:port"));
        assertTrue(refused("listen: 127.0.0.1:70000\n").contains("listen"));
        assertTrue(refused("data_dir: relative/dir\n").contains("data_dir"));
        assertTrue(refused("agents:\n  heartbeat_interval: 0s\n").contains("agents.heartbeat_interval"));
        assertTrue(refused("agents:\n  certificate_ttl: forever\n").contains("agents.certificate_ttl"));
        assertTrue(refused("policies:\n  default:\n    time_zone: Mars/Olympus\n").contains("time_zone"));
        assertTrue(refused("policies:\n  default:\n    schedule: { daily: \"0 25 * * *\" }\n")
                .contains("field 2 (hour): 25 is out of range 0-23"));
        assertTrue(refused("policies:\n  critical:\n    schedule: { hourly: \"0 * * * *\" }\n").contains("policies.critical.sources"));
        assertTrue(refused("policies:\n  default:\n    retention: { daily: -1 }\n").contains("retention.daily"));
        assertTrue(refused("policies:\n  default:\n    restore: { approvals: 3 }\n").contains("restore.approvals"));
        assertTrue(refused("policies:\n  default:\n    restore: { grant_ttl: 0m }\n").contains("restore.grant_ttl"));
        assertTrue(refused("policies:\n  default:\n    restore: { grant_ttl: 2d }\n").contains("restore.grant_ttl"));
        assertTrue(refused("policies:\n  Bad Name:\n    sources: [\"*/main\"]\n").contains("policy name"));
    }

    @Test
    void aCatalogUrlIsNeverQuotedBack() {
        String m = refused("catalog: \"mysql://holdfast:hunter2@db:3306/x\"\n");
        assertTrue(m.contains("catalog"), m);
        assertFalse(m.contains("hunter2"), m);
    }

    @Test
    void theFirstMatchingPolicyInFileOrderCoversASource() throws Exception {
        ControllerConfig c = load("""
                policies:
                  critical:
                    sources: ["db1/*"]
                    schedule: { hourly: "0 * * * *" }
                  mains:
                    sources: ["*/main"]
                """);
        assertEquals("critical", c.policyFor("db1", "main").name());
        assertEquals("mains", c.policyFor("db2", "main").name());
        assertEquals("default", c.policyFor("db2", "cache").name());
        assertEquals("postgresql://(not shown)", new ControllerConfig.CatalogUrl("postgresql://u:pw@h/db").toString());
    }

    @Test
    void aRestoreGrantLivesTenMinutesUnlessThePolicySaysOtherwise() throws Exception {
        ControllerConfig c = load("""
                policies:
                  default:
                    restore: { approvals: 2, grant_ttl: 30m }
                  reports:
                    sources: ["*/reports"]
                """);
        assertEquals(java.time.Duration.ofMinutes(30), c.policies().get("default").restore().grantTtl());
        assertEquals(2, c.policies().get("default").restore().approvals());
        assertEquals(java.time.Duration.ofMinutes(10), c.policies().get("reports").restore().grantTtl());
    }

    @Test
    void theVerifySectionHasDefaultsAndIsValidatedWithFileAndKey() throws Exception {
        assertEquals(ControllerConfig.Verification.DEFAULT, load("listen: 127.0.0.1:7443\n").verification());
        ControllerConfig c = load("verify: { schedule: \"30 4 * * *\", time_zone: Europe/Berlin, read_data_within: 14d }\n");
        assertEquals(new ControllerConfig.Verification("30 4 * * *", ZoneId.of("Europe/Berlin"), Duration.ofDays(14)), c.verification());
        assertTrue(refused("verify: { schedule: \"61 * * * *\" }\n").contains("verify.schedule"));
        assertTrue(refused("verify: { read_data_within: 30m }\n").contains("verify.read_data_within"));
        assertTrue(refused("verify: { read_data_within: soon }\n").contains("verify.read_data_within"));
        assertTrue(refused("verify: { time_zone: Mars/Olympus }\n").contains("verify.time_zone"));
        assertTrue(refused("verify: { read_data: true }\n").contains("read_data"));
    }
}
