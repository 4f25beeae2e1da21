package dev.holdfast.cli;

import static dev.holdfast.cli.WalFaultsProcessTest.read;
import static dev.holdfast.cli.WalFaultsProcessTest.tail;
import static dev.holdfast.cli.WalFaultsProcessTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.testkit.PgCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Restore authorization end to end (docs/controller.md "Restore authorization"): a real controller
 * process, a real agent process enrolled over mutual TLS, one small PostgreSQL cluster. A backup is
 * taken through the API; a restore is requested and approved; the controller sends the signed grant
 * over the link; the agent checks it and restores into its allowlisted directory, reporting
 * progress and the result; the request ends {@code done}; the restored directory passes
 * {@code pg_verifybackup}, starts, and holds the marker row. A second request whose target escapes
 * the allowlist through a symbolic link is refused by the agent with nothing written. Every step is
 * in the audit log under the restore's id.
 */
class RestoreGrantProcessTest {
    private static final Duration WAIT = Duration.ofSeconds(180);
    private static final String HOST = "db-r";

    Path dir;
    int port;
    Process controller;
    Process agent;
    ControllerClient ctl;
    final List<PgCluster> clusters = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("holdfast-grants-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        port = WalFaultsProcessTest.freePort();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : new Process[] {agent, controller}) {
            if (p != null) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        clusters.forEach(PgCluster::close);
        for (String log : List.of("controller.log", "controller.err", "agent.log", "agent.err")) {
            System.out.println("==== " + log + "\n" + tail(dir.resolve(log)));
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private JsonNode waitFinished(String path, String field, Set<String> ends) throws Exception {
        JsonNode[] last = new JsonNode[1];
        waitFor(path + " to end", WAIT, () -> {
            try {
                last[0] = ctl.api("GET", path, null, 200);
            } catch (Exception e) {
                return false;
            }
            if (!agent.isAlive()) {
                throw new AssertionError("the agent exited: " + tail(dir.resolve("agent.log")));
            }
            return ends.contains(last[0].path(field).asText());
        });
        return last[0];
    }

    @Test
    void aRequestedAndApprovedRestoreIsGrantedRunByTheAgentAndRecordedDone() throws Exception {
        PgCluster pg = PgCluster.builder().start();
        clusters.add(pg);
        pg.psql("CREATE TABLE grant_marker (note text); INSERT INTO grant_marker VALUES ('before the backup')");

        // The controller.
        Path ccfg = dir.resolve("controller.yaml");
        Files.writeString(ccfg, "listen: 127.0.0.1:" + port + "\ndata_dir: " + dir.resolve("ctl") + "\n"
                + "agents:\n  heartbeat_interval: 1s\n  silent_after: 10s\n"
                + "policies:\n  default:\n    restore: { approvals: 1, grant_ttl: 10m }\n");
        controller = WalFaultsProcessTest.launcher(dir.resolve("controller"), "256m", "controller", "run", "--config", ccfg.toString()).start();
        waitFor("the controller to start", WAIT, () -> {
            if (!controller.isAlive()) {
                throw new AssertionError("the controller exited: " + read(dir.resolve("controller.err")) + tail(dir.resolve("controller.log")));
            }
            return read(dir.resolve("controller.log")).contains("event=controller_started");
        });
        ctl = new ControllerClient(dir.resolve("ctl"), port);

        // The agent: its own allowlist, a control socket the restored server's restore_command can reach.
        Cli key = Cli.run("keys", "init", "--out", dir.resolve("master.key").toString());
        assertEquals(0, key.status(), key::toString);
        Path restoreRoot = Files.createDirectories(dir.resolve("restore"));
        Files.setPosixFilePermissions(restoreRoot, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path run = Files.createDirectories(dir.resolve("run"));
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path acfg = dir.resolve("agent.yaml");
        Files.writeString(acfg, "host: " + HOST + "\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: "
                + dir.resolve("master.key") + "\ncontroller:\n  url: https://127.0.0.1:" + port + "\n  identity_dir: " + dir.resolve("identity")
                + "\ncontrol_socket: " + run.resolve("agent.sock") + "\ncontrol_socket_group: postgres\nmetrics:\n  listen: off\n"
                + "sources:\n  - name: main\n    type: postgres\n    data_dir: " + pg.dataDir() + "\n"
                + "    conninfo: \"host=" + pg.socketDir() + " port=" + pg.port() + " user=postgres dbname=postgres\"\n"
                + "    wal:\n      mode: stream\n      partial_interval: 200ms\n"
                + "restore:\n  allowed_targets: [" + restoreRoot + "]\n");
        Cli init = Cli.run("repo", "init", "--config", acfg.toString());
        assertEquals(0, init.status(), init::toString);
        String token = ctl.api("POST", "/api/v1/enrolment-tokens", "{\"host\": \"" + HOST + "\"}", 201).path("token").asText();
        Cli e = Cli.run("enroll", "--config", acfg.toString(), "--controller", "https://127.0.0.1:" + port, "--token", token, "--json");
        assertEquals(0, e.status(), e::toString);
        agent = WalFaultsProcessTest.launcher(dir.resolve("agent"), "256m", "agent", "run", "--config", acfg.toString()).start();
        waitFor("the agent to connect", WAIT, () -> {
            if (!agent.isAlive()) {
                throw new AssertionError("the agent exited: " + read(dir.resolve("agent.err")) + tail(dir.resolve("agent.log")));
            }
            return ctl.connected(HOST);
        });

        // A backup through the API.
        String job = ctl.api("POST", "/api/v1/backups", "{\"host\": \"" + HOST + "\", \"source\": \"main\", \"type\": \"full\"}", 202)
                .path("id").asText();
        JsonNode backup = waitFinished("/api/v1/jobs/" + job, "state", Set.of("succeeded", "failed"));
        assertEquals("succeeded", backup.path("state").asText(), backup::toString);
        String backupId = backup.path("backup_id").asText();

        // Request, approve, grant, restore.
        Path target = restoreRoot.resolve("r1");
        JsonNode req = ctl.api("POST", "/api/v1/restores", "{\"host\": \"" + HOST + "\", \"source\": \"main\", \"backup\": \"latest\","
                + " \"immediate\": true, \"target\": \"" + target + "\"}", 202);
        String id = req.path("id").asText();
        assertEquals("requested", req.path("state").asText(), req::toString);
        assertEquals(backupId, req.path("backup_id").asText());
        assertFalse(Files.exists(target), "nothing happens before the approval");
        JsonNode approved = ctl.api("POST", "/api/v1/restores/" + id + "/approve", "{}", 200);
        // The answer shows the request as it is by then: a connected agent may already be running it.
        assertTrue(Set.of("approved", "running", "done").contains(approved.path("state").asText()), approved::toString);
        assertNotNull(approved.path("grant").path("id").asText(null));
        JsonNode done = waitFinished("/api/v1/restores/" + id, "state", Set.of("done", "failed", "refused", "expired"));
        assertEquals("done", done.path("state").asText(), done::toString);
        assertTrue(done.path("progress").path("done_bytes").asLong() > 0, done::toString);
        assertNotNull(done.path("grant").path("sent_at").asText(null), done::toString);
        ctl.api("POST", "/api/v1/restores/" + id + "/approve", "{}", 409);

        // The restored directory: a PostgreSQL data directory that verifies, starts and holds the marker.
        for (String f : List.of("PG_VERSION", "backup_label", "backup_manifest", "global/pg_control", "recovery.signal")) {
            assertTrue(Files.exists(target.resolve(f)), f);
        }
        Path out = dir.resolve("verifybackup.out");
        int rc = WalFaultsProcessTest.run(List.of(PgCluster.BIN.resolve("pg_verifybackup").toString(), target.toString()), out);
        assertEquals(0, rc, () -> "pg_verifybackup: " + read(out));
        PgCluster restored = PgCluster.startOn(target);
        clusters.add(restored);
        waitFor("recovery of the restored copy to end", WAIT, () -> restored.psql("SELECT pg_is_in_recovery()").equals("f"));
        assertEquals("before the backup", restored.psql("SELECT note FROM grant_marker"));

        // The audit trail, under the restore's id.
        List<String> actions = new ArrayList<>();
        for (JsonNode a : ctl.api("GET", "/api/v1/audit?limit=1000", null, 200).path("items")) {
            if (a.path("request_id").asText().equals(id) || a.path("object").asText().equals("restore:" + id)) {
                actions.add(a.path("action").asText() + ":" + a.path("outcome").asText());
            }
        }
        for (String step : List.of("restore.request:ok", "restore.grant.issued:ok", "restore.grant.sent:ok", "restore.approve:ok",
                "restore.started:ok", "restore.finished:ok")) {
            assertTrue(actions.contains(step), () -> step + " in " + actions);
        }

        // A target that escapes the allowlist through a symbolic link: the agent refuses the grant, nothing is written.
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.createSymbolicLink(restoreRoot.resolve("escape"), outside);
        String bad = ctl.api("POST", "/api/v1/restores", "{\"host\": \"" + HOST + "\", \"source\": \"main\", \"target\": \""
                + restoreRoot.resolve("escape/r2") + "\"}", 202).path("id").asText();
        ctl.api("POST", "/api/v1/restores/" + bad + "/approve", "{}", 200);
        JsonNode refused = waitFinished("/api/v1/restores/" + bad, "state", Set.of("done", "failed", "refused", "expired"));
        assertEquals("refused", refused.path("state").asText(), refused::toString);
        assertEquals("target_not_allowed", refused.path("error").path("code").asText(), refused::toString);
        try (var s = Files.list(outside)) {
            assertTrue(s.findAny().isEmpty(), "nothing written through the link");
        }
    }
}
