package dev.holdfast.cli;

import static dev.holdfast.cli.WalFaultsProcessTest.read;
import static dev.holdfast.cli.WalFaultsProcessTest.tail;
import static dev.holdfast.cli.WalFaultsProcessTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.testkit.PgCluster;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The controller with two real agent processes over mutual TLS, end to end: {@code holdfast
 * controller run}, enrolment tokens from the API, {@code holdfast enroll}, {@code holdfast agent
 * run} on two hosts with a PostgreSQL cluster each. Checked: both agents connect and report their
 * sources' live RPO; an ad-hoc backup is dispatched, reports progress, survives a controller
 * restart in the middle and is recorded once; the daily schedule fires for both agents when the
 * controller's clock (moved through the test hook {@code HOLDFAST_TEST_CLOCK_OFFSET_FILE}) reaches
 * 02:00; an agent that is down at its slot gets exactly one job, also across a controller restart,
 * and runs it when it comes back. The backups are checked against the repository with
 * {@code holdfast list}, which does not ask the controller.
 */
class ControllerProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(120);

    Path dir;
    int port;
    Process controller;
    ControllerClient ctl;
    final Map<String, Process> agents = new HashMap<>();
    final List<PgCluster> clusters = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("holdfast-controller-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        port = WalFaultsProcessTest.freePort();
        Files.writeString(dir.resolve("clock-offset"), "0");
    }

    @AfterEach
    void tearDown() throws Exception {
        List<Process> all = new ArrayList<>(agents.values());
        if (controller != null) {
            all.add(controller);
        }
        for (Process p : all) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        clusters.forEach(PgCluster::close);
        // The processes' logs, for a failure's report (surefire keeps standard output per test class).
        for (String log : List.of("controller.log", "controller.err", "agent-db-a.log", "agent-db-a.err", "agent-db-b.log", "agent-db-b.err")) {
            System.out.println("==== " + log + "\n" + tail(dir.resolve(log)));
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    // ---- the controller ----

    private void startController() throws Exception {
        Path cfg = dir.resolve("controller.yaml");
        if (!Files.exists(cfg)) {
            Files.writeString(cfg, "listen: 127.0.0.1:" + port + "\ndata_dir: " + dir.resolve("ctl") + "\n"
                    + "agents:\n  heartbeat_interval: 1s\n  silent_after: 10s\n  certificate_ttl: 240h\n"
                    + "policies:\n  default:\n    schedule: { daily: \"0 2 * * *\" }\n    time_zone: UTC\n    jitter: 0s\n");
        }
        ProcessBuilder pb = WalFaultsProcessTest.launcher(dir.resolve("controller"), "256m", "controller", "run", "--config", cfg.toString());
        pb.environment().put("HOLDFAST_TEST_CLOCK_OFFSET_FILE", dir.resolve("clock-offset").toString());
        int startedBefore = count(read(dir.resolve("controller.log")), "event=controller_started");
        Process p = pb.start();
        controller = p;
        waitFor("the controller to start", WAIT, () -> {
            if (!p.isAlive()) {
                throw new AssertionError("the controller exited " + p.exitValue() + ": " + read(dir.resolve("controller.err"))
                        + tail(dir.resolve("controller.log")));
            }
            return count(read(dir.resolve("controller.log")), "event=controller_started") > startedBefore;
        });
        ctl = new ControllerClient(dir.resolve("ctl"), port);
    }

    private void stopController() throws Exception {
        controller.destroy(); // SIGTERM: a clean stop, as systemd does on restart
        assertTrue(controller.waitFor(60, TimeUnit.SECONDS), "the controller stops on SIGTERM");
        assertEquals(0, controller.exitValue(), () -> tail(dir.resolve("controller.log")));
    }

    private List<JsonNode> jobs() throws Exception {
        List<JsonNode> all = new ArrayList<>();
        ctl.api("GET", "/api/v1/jobs?limit=1000", null, 200).path("items").forEach(all::add);
        return all;
    }

    // ---- agents ----

    private Path agentConfig(String host, PgCluster pg) throws IOException {
        if (!Files.exists(dir.resolve("master.key"))) {
            Cli key = Cli.run("keys", "init", "--out", dir.resolve("master.key").toString());
            assertEquals(0, key.status(), key::toString);
        }
        Path run = Files.createDirectories(dir.resolve("run-" + host));
        String y = "host: " + host + "\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + dir.resolve("master.key")
                + "\ncontroller:\n  url: https://127.0.0.1:" + port + "\n  identity_dir: " + dir.resolve("identity-" + host) + "\n"
                + "control_socket: " + run.resolve("agent.sock") + "\ncontrol_socket_group: postgres\nmetrics:\n  listen: off\n"
                + "sources:\n  - name: main\n    type: postgres\n    data_dir: " + pg.dataDir() + "\n"
                + "    conninfo: \"host=" + pg.socketDir() + " port=" + pg.port() + " user=postgres dbname=postgres\"\n"
                + "    wal:\n      mode: stream\n      partial_interval: 200ms\n"
                + "restore:\n  allowed_targets: [" + Files.createDirectories(dir.resolve("restore-" + host)) + "]\n";
        Path cfg = dir.resolve("agent-" + host + ".yaml");
        Files.writeString(cfg, y);
        if (!Files.exists(dir.resolve("repo"))) {
            Cli init = Cli.run("repo", "init", "--config", cfg.toString());
            assertEquals(0, init.status(), init::toString);
        }
        return cfg;
    }

    private void enroll(String host, Path cfg) throws Exception {
        String token = ctl.api("POST", "/api/v1/enrolment-tokens", "{\"host\": \"" + host + "\"}", 201).path("token").asText();
        Cli e = Cli.run("enroll", "--config", cfg.toString(), "--controller", "https://127.0.0.1:" + port, "--token", token, "--json");
        assertEquals(0, e.status(), e::toString);
        assertEquals(host, JSON.readTree(e.out()).path("host").asText(), e::toString);
        assertFalse(e.out().contains(token) || e.err().contains(token), "the token is never printed");
    }

    private void startAgent(String host, Path cfg) throws Exception {
        Process p = WalFaultsProcessTest.launcher(dir.resolve("agent-" + host), "256m", "agent", "run", "--config", cfg.toString()).start();
        agents.put(host, p);
        waitFor(host + " to connect to the controller", WAIT, () -> {
            if (!p.isAlive()) {
                throw new AssertionError(host + " exited: " + read(dir.resolve("agent-" + host + ".err")) + tail(dir.resolve("agent-" + host + ".log")));
            }
            return ctl.connected(host);
        });
    }

    private void stopAgent(String host) throws Exception {
        Process p = agents.remove(host);
        p.destroy();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), host + " stops on SIGTERM");
        waitFor("the controller to see " + host + " gone", WAIT, () -> !ctl.connected(host));
    }

    /** Moves the controller's clock so that it reads {@code target} now. */
    private void setClock(Instant target) throws IOException {
        double offset = (target.toEpochMilli() - System.currentTimeMillis()) / 1000.0;
        Path tmp = dir.resolve("clock-offset.tmp");
        Files.writeString(tmp, Double.toString(offset));
        Files.move(tmp, dir.resolve("clock-offset"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private JsonNode waitJob(String id, String state) throws Exception {
        JsonNode[] last = new JsonNode[1];
        waitFor("job " + id + " to be " + state, WAIT, () -> {
            try {
                last[0] = ctl.api("GET", "/api/v1/jobs/" + id, null, 200);
            } catch (Exception e) {
                return false;
            }
            String s = last[0].path("state").asText();
            if (s.equals("failed") && !state.equals("failed")) {
                throw new AssertionError("job " + id + " failed: " + last[0]);
            }
            return s.equals(state);
        });
        return last[0];
    }

    private List<JsonNode> scheduled(String host, Instant slot) throws Exception {
        return jobs().stream().filter(j -> j.path("host").asText().equals(host) && j.path("trigger").asText().equals("schedule")
                && slot.toString().equals(j.path("scheduled_for").asText())).toList();
    }

    private JsonNode repositoryList(Path cfg) throws Exception {
        Cli l = Cli.run("list", "--config", cfg.toString(), "--json");
        assertEquals(0, l.status(), l::toString);
        return JSON.readTree(l.out());
    }

    private static boolean listed(JsonNode list, String backupId) {
        for (JsonNode s : list.path("sources")) {
            for (JsonNode b : s.path("backups")) {
                if (b.path("id").asText().equals(backupId) && b.path("complete").asBoolean()) {
                    return true;
                }
            }
        }
        return false;
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void twoAgentsTakeAdHocAndScheduledBackupsThroughControllerRestartsAndAnOutage() throws Exception {
        PgCluster pgA = PgCluster.builder().start();
        clusters.add(pgA);
        PgCluster pgB = PgCluster.builder().start();
        clusters.add(pgB);
        pgA.pgbenchInit(10); // about 160 MB: the backup runs long enough to restart the controller under it

        startController();
        Path cfgA = agentConfig("db-a", pgA);
        Path cfgB = agentConfig("db-b", pgB);
        enroll("db-a", cfgA);
        enroll("db-b", cfgB);
        startAgent("db-a", cfgA);
        startAgent("db-b", cfgB);

        // Inventory and live state from Hello and heartbeats.
        waitFor("both sources to report their RPO", WAIT, () -> {
            try {
                int live = 0;
                for (JsonNode s : ctl.api("GET", "/api/v1/sources", null, 200).path("items")) {
                    if (s.path("live").path("rpo_seconds").isNumber() && s.path("live").path("state").asText().equals("streaming")) {
                        live++;
                    }
                }
                return live == 2;
            } catch (Exception e) {
                return false;
            }
        });
        JsonNode sources = ctl.api("GET", "/api/v1/sources", null, 200);
        assertEquals(pgA.systemIdentifier(), sources.path("items").get(0).path("system_id").asText(), sources::toString);

        // Ad hoc, with the controller restarted while the agent runs the job.
        JsonNode queued = ctl.api("POST", "/api/v1/backups", "{\"host\": \"db-a\", \"source\": \"main\", \"type\": \"full\"}", 202);
        String adhoc = queued.path("id").asText();
        waitJob(adhoc, "running");
        stopController();
        startController();
        JsonNode done = waitJob(adhoc, "succeeded");
        String adhocBackup = done.path("backup_id").asText();
        assertTrue(adhocBackup.endsWith("-full"), done::toString);
        assertEquals("api", done.path("trigger").asText());
        assertTrue(done.path("progress").path("done_bytes").asLong() > 100_000_000L, () -> "progress recorded: " + done);
        assertTrue(listed(repositoryList(cfgA), adhocBackup), "the repository holds the ad-hoc backup, complete");
        long recorded = 0;
        for (JsonNode b : ctl.api("GET", "/api/v1/backups", null, 200).path("items")) {
            if (b.path("id").asText().equals(adhocBackup)) {
                recorded++;
                assertEquals("complete", b.path("state").asText(), b::toString);
                assertEquals("db-a", b.path("host").asText(), b::toString);
            }
        }
        assertEquals(1, recorded, "the backup is recorded once");

        // Two jobs for one source at once: the second waits for the first, both succeed.
        String full = ctl.api("POST", "/api/v1/backups", "{\"host\": \"db-b\", \"source\": \"main\", \"type\": \"full\"}", 202)
                .path("id").asText();
        String incr = ctl.api("POST", "/api/v1/backups", "{\"host\": \"db-b\", \"source\": \"main\", \"type\": \"incr\"}", 202)
                .path("id").asText();
        JsonNode fullDone = waitJob(full, "succeeded");
        JsonNode incrDone = waitJob(incr, "succeeded");
        assertTrue(incrDone.path("backup_id").asText().endsWith("-incr"), incrDone::toString);
        assertTrue(Instant.parse(incrDone.path("started_at").asText()).compareTo(Instant.parse(fullDone.path("finished_at").asText())) >= 0,
                () -> "one job per source at a time: " + fullDone + " " + incrDone);

        // The daily schedule fires for both agents at 02:00 of the controller's (moved) clock.
        Instant slot1 = ZonedDateTime.now(ZoneOffset.UTC).plusDays(1).with(LocalTime.of(2, 0)).toInstant();
        setClock(slot1.plusSeconds(1));
        for (String host : List.of("db-a", "db-b")) {
            waitFor("the scheduled job of " + host, WAIT, () -> {
                try {
                    return !scheduled(host, slot1).isEmpty();
                } catch (Exception e) {
                    return false;
                }
            });
            JsonNode job = scheduled(host, slot1).get(0);
            assertEquals("daily", job.path("tag").asText(), job::toString);
            JsonNode ok = waitJob(job.path("id").asText(), "succeeded");
            assertTrue(listed(repositoryList(host.equals("db-a") ? cfgA : cfgB), ok.path("backup_id").asText()), ok::toString);
        }
        assertEquals(1, scheduled("db-a", slot1).size());
        assertEquals(1, scheduled("db-b", slot1).size());

        // db-b is down at the next slot: its job waits, is not duplicated by a controller restart,
        // and runs once db-b is back.
        stopAgent("db-b");
        Instant slot2 = slot1.plus(Duration.ofDays(1));
        setClock(slot2.plusSeconds(1));
        waitFor("the scheduled jobs of the second slot", WAIT, () -> {
            try {
                return !scheduled("db-a", slot2).isEmpty() && !scheduled("db-b", slot2).isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        waitJob(scheduled("db-a", slot2).get(0).path("id").asText(), "succeeded");
        String waiting = scheduled("db-b", slot2).get(0).path("id").asText();
        assertEquals("queued", ctl.api("GET", "/api/v1/jobs/" + waiting, null, 200).path("state").asText());
        stopController();
        setClock(slot2.plus(Duration.ofMinutes(30)));
        startController();
        startAgent("db-b", cfgB);
        waitJob(waiting, "succeeded");
        assertEquals(1, scheduled("db-b", slot2).size(), "caught up once, not twice");
        assertEquals(1, scheduled("db-a", slot2).size());

        // An agent killed in the middle of a job: after its restart the job is neither running nor
        // reported, so it fails with agent_unavailable instead of staying "running" for ever.
        String lost = ctl.api("POST", "/api/v1/backups", "{\"host\": \"db-a\", \"source\": \"main\", \"type\": \"full\"}", 202)
                .path("id").asText();
        waitJob(lost, "running");
        Process a = agents.remove("db-a");
        a.destroyForcibly();
        assertTrue(a.waitFor(60, TimeUnit.SECONDS));
        startAgent("db-a", cfgA);
        JsonNode failed = waitJob(lost, "failed");
        assertEquals("agent_unavailable", failed.path("error").path("code").asText(), failed::toString);

        // A restore drill through the controller: db-a's agent restores its latest backup into a
        // scratch copy, recovers, checks and measures it, and the controller records and exports it.
        String drill = ctl.api("POST", "/api/v1/drills", "{\"host\": \"db-a\", \"source\": \"main\"}", 202).path("id").asText();
        JsonNode drilled = waitJob(drill, "succeeded");
        assertEquals("drill", drilled.path("kind").asText(), drilled::toString);
        JsonNode listedDrill = ctl.api("GET", "/api/v1/drills", null, 200).path("items").get(0);
        assertEquals(drill, listedDrill.path("id").asText(), listedDrill::toString);
        assertTrue(listedDrill.path("rto_seconds").asDouble() > 0, listedDrill::toString);
        assertEquals(4, listedDrill.path("checks").size(), listedDrill::toString);
        assertFalse(Files.exists(dir.resolve("restore-db-a/holdfast-drill-main")), "the drill's scratch copy is gone");

        // The metrics carry the fleet.
        HttpResponse<String> m = ctl.send("GET", "/metrics", null);
        assertEquals(200, m.statusCode());
        assertTrue(m.body().contains("holdfast_agents_connected 2.0"), m::body);
        assertTrue(m.body().contains("holdfast_source_rpo_seconds{host=\"db-a\",source=\"main\"}"), m::body);
        assertTrue(m.body().contains("holdfast_drill_last_success_timestamp_seconds{host=\"db-a\",source=\"main\"}"), m::body);

        // Revoking an agent ends its link at once, and its certificate no longer passes the handshake.
        JsonNode revoked = ctl.api("POST", "/api/v1/agents/db-b/revoke", "{}", 200);
        assertTrue(revoked.path("revoked_certificates").asInt() >= 1, revoked::toString);
        waitFor("db-b to be disconnected", WAIT, () -> !ctl.connected("db-b"));
        waitFor("db-b's reconnection to be refused at the handshake", WAIT, () -> {
            try {
                for (JsonNode e : ctl.api("GET", "/api/v1/audit?limit=1000", null, 200).path("items")) {
                    if (e.path("action").asText().equals("tls.refused") && e.path("detail").asText().contains("revoked")) {
                        return true;
                    }
                }
                return false;
            } catch (Exception e) {
                return false;
            }
        });
        assertFalse(ctl.connected("db-b"), "a revoked agent stays out");
        assertTrue(agents.get("db-b").isAlive(), "the agent itself goes on (it keeps shipping WAL without a controller)");
    }
}
