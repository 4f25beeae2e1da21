package dev.holdfast.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Main;
import dev.holdfast.cli.Version;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.wal.Lsn;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast demo}: the quick start, on this machine and embedded defaults. It starts a
 * throwaway PostgreSQL and Redis, a controller (embedded catalog, its own CA) and an agent enrolled
 * to it through a real enrolment token (both child JVMs, this build's {@code bin/holdfast}); the
 * agent streams PostgreSQL's WAL and ships Redis's AOF into a file repository. Then: pgbench and
 * Redis load, a base backup through the controller's API, more load around a target time T
 * bracketed by two marker rows, a point-in-time restore to T into a scratch directory, started on
 * another port and checked (the marker before T present, the one after absent, pgbench's ledger
 * balanced), and the shipped Redis AOF restored and compared with the live server. It reports the measured RPO and RTO and how to explore, then keeps everything up until
 * Ctrl-C or SIGTERM ({@code --no-wait}: stops at once). Every exit path stops every child.
 *
 * <p>Everything lives under the demo directory, which is recreated on each run; a directory the
 * demo did not create (no marker file) is never wiped. As root, PostgreSQL's part runs as the
 * {@code postgres} user; if that user cannot reach the demo directory, the PostgreSQL part goes to
 * a private directory under the system's temporary directory, linked from the demo directory.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = {
        "Quick start on this machine: a throwaway PostgreSQL and Redis, a controller and an enrolled agent shipping WAL and AOF,",
        "load, a base backup, a point-in-time restore that is checked, the measured RPO and RTO; then everything stays up",
        "until Ctrl-C (--no-wait: stops right after the report). Needs PostgreSQL's server binaries, pgbench, redis-server, curl."})
public final class DemoCommand implements Callable<Integer> {
    static final String HOST = "demo";

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".holdfast-demo",
            description = "Working directory (default: ${DEFAULT-VALUE} in the current directory); recreated on each run.")
    Path dir;

    @Option(names = "--no-wait", description = "Stop everything and exit right after the report, instead of waiting for Ctrl-C.")
    boolean noWait;

    @Option(names = "--load-seconds", paramLabel = "N", defaultValue = "5", hidden = true,
            description = "Seconds of pgbench before the backup and again before the target time (default ${DEFAULT-VALUE}).")
    int loadSeconds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private PrintWriter out;
    private Clock clock;
    private Waiter waiter;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        clock = Ambient.clock();
        waiter = new Waiter(clock, Duration.ofMinutes(5));
        Path root = dir.toAbsolutePath().normalize();
        DemoDirectory.refuseForeign(root); // before looking for tools: a refusal never depends on what is installed
        Tools tools = Tools.find(System.getenv());
        DemoDirectory.prepare(tools, root);
        Children children = new Children(root.resolve("processes"));
        Thread hook = new Thread(() -> {
            if (!children.closed()) {
                out.println();
                out.println("Stopping (signal received)...");
                out.flush();
                stopAll(children);
            }
        }, "holdfast-demo-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            DemoReport report = run(tools, root, children);
            report.print(out);
            if (noWait) {
                return 0;
            }
            out.println();
            out.println("Controller, agent, PostgreSQL and Redis keep running. Press Ctrl-C to stop them all.");
            out.flush();
            return waitWhileUp(report, children);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down (a signal): the hook stops everything
            }
            if (!children.closed()) {
                stopAll(children);
            }
        }
    }

    /** Waits for a signal (the hook stops everything) or for the controller or agent to die, which ends the demo with an error. */
    private int waitWhileUp(DemoReport report, Children children) throws InterruptedException {
        while (true) {
            for (Process p : List.of(report.controller(), report.agent())) {
                if (!p.isAlive() && !children.closed()) { // closed: a signal's hook is stopping them
                    out.println("A child process (pid " + p.pid() + ") exited with status " + p.exitValue() + "; see " + report.logs());
                    out.flush();
                    return ErrorCode.INTERNAL.exitStatus();
                }
            }
            Thread.sleep(1000);
        }
    }

    private void stopAll(Children children) {
        try {
            children.close();
            out.println("Stopped: PostgreSQL, Redis, the agent and the controller; nothing of the demo is running.");
        } catch (RuntimeException e) {
            out.println("Stopping the demo: " + e.getMessage());
        }
        out.flush();
    }

    private DemoReport run(Tools tools, Path root, Children children) throws Exception {
        Instant began = clock.instant();
        out.println("Holdfast " + Version.version() + " demo in " + root);
        Path logs = Files.createDirectories(root.resolve("logs"));
        Path pgHome = DemoDirectory.postgresHome(tools, root);
        Path repo = root.resolve("repository");
        Path key = root.resolve("master.key");
        Path restoreRoot = Files.createDirectories(pgHome.resolve("restore"));
        Path run = Files.createDirectories(pgHome.resolve("run"));
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path socket = run.resolve("agent.sock");
        tools.chownToPostgres(restoreRoot);

        // PostgreSQL and Redis.
        int pgPort = freePort();
        DemoPostgres pg = DemoPostgres.init(tools, pgHome.resolve("data"), pgHome, pgPort);
        pg.start();
        children.add("postgresql", pg.pid().orElse(0), pgPort, pg::stop);
        int redisPort = freePort();
        DemoRedis redis = DemoRedis.start(tools, root.resolve("redis"), redisPort, waiter);
        children.add("redis", redis.pid(), redisPort, redis::stop);
        out.printf("1. started PostgreSQL %s on 127.0.0.1:%d (data %s) and redis-server on 127.0.0.1:%d (appendonly, timestamped AOF)%n",
                pg.psql("SHOW server_version"), pgPort, pg.dataDir(), redisPort);
        out.flush();

        // The repository, the controller, the agent's enrolment.
        cli("keys", "init", "--out", key.toString());
        int ctlPort = freePort();
        Path ctlData = root.resolve("controller");
        Path agentCfg = root.resolve("agent.yaml");
        Files.writeString(agentCfg, agentConfig(tools, repo, key, ctlPort, root.resolve("identity"), socket, pg, redis, restoreRoot));
        cli("repo", "init", "--config", agentCfg.toString());
        Path ctlCfg = root.resolve("controller.yaml");
        Files.writeString(ctlCfg, "# holdfast demo controller: embedded catalog, its own CA, loopback only\n"
                + "listen: 127.0.0.1:" + ctlPort + "\ndata_dir: " + ctlData + "\ncatalog: embedded\n"
                + "repository:\n  url: " + repo.toUri() + "\n  key_file: " + key + "\n"
                + "agents:\n  heartbeat_interval: 1s\n  silent_after: 15s\n");
        Process controller = holdfast(logs.resolve("controller"), "controller", "run", "--config", ctlCfg.toString());
        children.add("controller", controller, ctlPort);
        waiter.until("the controller to start (" + logs.resolve("controller.log") + ")", () -> {
            alive(controller, "the controller", logs.resolve("controller"));
            return Files.readString(logs.resolve("controller.log")).contains("event=controller_started") && Files.exists(ctlData.resolve("admin.token"));
        });
        URI base = URI.create("https://127.0.0.1:" + ctlPort + "/");
        ControllerApi api = new ControllerApi(base, ctlData.resolve("ca/ca.crt"), ctlData.resolve("admin.token"));
        String token = api.call("POST", "/api/v1/enrolment-tokens", "{\"host\": \"" + HOST + "\"}", 201).path("token").asText();
        cli("enroll", "--config", agentCfg.toString(), "--controller", "https://127.0.0.1:" + ctlPort, "--token", token);
        out.printf("2. started the controller on https://127.0.0.1:%d (embedded catalog, its own CA) and enrolled host '%s' with a one-time token%n",
                ctlPort, HOST);
        out.flush();

        Process agent = holdfast(logs.resolve("agent"), "agent", "run", "--config", agentCfg.toString());
        children.add("agent", agent, 0);
        AgentSocket agentSocket = new AgentSocket(socket);
        waiter.until("the agent to connect and stream WAL and AOF (" + logs.resolve("agent.log") + ")", () -> {
            alive(agent, "the agent", logs.resolve("agent"));
            JsonNode main = agentSocket.sourceStatus("main");
            JsonNode cache = agentSocket.sourceStatus("cache");
            return main != null && "streaming".equals(main.path("state").asText()) && cache != null
                    && "streaming".equals(cache.path("state").asText())
                    && connected(api);
        });
        out.println("3. started the agent: connected to the controller over mutual TLS, streaming PostgreSQL's WAL and shipping Redis's AOF"
                + " into " + repo);
        out.flush();

        // Load, then a base backup through the controller.
        pg.pgbench(Duration.ofMinutes(5), "-i", "-q", "-s", "1");
        pg.psql("CREATE TABLE demo_markers (id serial PRIMARY KEY, note text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        pg.pgbench(Duration.ofMinutes(5), "-n", "-c", "2", "-j", "2", "-T", Integer.toString(loadSeconds));
        redis.load("before", 3000);
        out.printf("4. load: pgbench -i -s 1 and %d s of pgbench (2 clients); 3000 Redis writes%n", loadSeconds);
        out.flush();
        String jobId = api.call("POST", "/api/v1/backups", "{\"host\": \"" + HOST + "\", \"source\": \"main\", \"type\": \"full\"}", 202)
                .path("id").asText();
        JsonNode[] job = new JsonNode[1];
        waiter.within(Duration.ofMinutes(15)).until("backup job " + jobId, () -> {
            alive(agent, "the agent", logs.resolve("agent"));
            job[0] = api.get("/api/v1/jobs/" + jobId);
            if ("failed".equals(job[0].path("state").asText())) {
                throw new HoldfastException(ErrorCode.INTERNAL, "the backup job failed: " + job[0].path("error"));
            }
            return "succeeded".equals(job[0].path("state").asText());
        });
        BackupId backupId = BackupId.parse(job[0].path("backup_id").asText());
        out.println("5. base backup " + backupId + " taken by the agent on the controller's order (POST /api/v1/backups, job " + jobId + ")");
        out.flush();

        // More load around the target time T, bracketed by two markers.
        Process bench = pg.pgbenchInBackground(logs.resolve("pgbench.log"), "-n", "-c", "2", "-j", "2", "-T", Integer.toString(loadSeconds));
        children.add("pgbench", bench, 0);
        redis.load("during", 2000);
        pg.psql("INSERT INTO demo_markers (note) VALUES ('before-T')");
        pg.psql("SELECT pg_sleep(1)");
        String t = pg.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        pg.psql("SELECT pg_sleep(1)");
        pg.psql("INSERT INTO demo_markers (note) VALUES ('after-T')");
        waiter.until("pgbench to finish", () -> !bench.isAlive());
        if (bench.exitValue() != 0) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "pgbench failed; see " + logs.resolve("pgbench.log"));
        }
        redis.load("after", 1000);

        // RPO: a commit, and the time until its WAL is durable in the repository.
        Instant committed = clock.instant();
        Lsn commitLsn = Lsn.parse(pg.psql("INSERT INTO demo_markers (note) VALUES ('rpo-probe'); SELECT pg_current_wal_insert_lsn()"));
        waiter.until("the WAL of a commit to be durable", () -> durable(agentSocket).compareTo(commitLsn) >= 0);
        Duration rpo = Duration.between(committed, clock.instant());
        Double liveRpo = liveRpo(api);
        out.printf("6. %d more s of pgbench and Redis writes; target time T = %s between markers 'before-T' and 'after-T';"
                + " a commit's WAL was durable %.2f s after it%n", loadSeconds, t, rpo.toMillis() / 1000.0);
        out.flush();
        // The WAL past T is all durable (the probe came after 'after-T'); close the segment so that the restore reads it whole.
        pg.psql("SELECT pg_switch_wal()");
        Lsn end = Lsn.parse(pg.psql("SELECT pg_current_wal_flush_lsn()"));
        waiter.until("the WAL to be durable to " + end, () -> durable(agentSocket).compareTo(end) >= 0);

        // Restore to T, start it on another port, check it.
        String sysid = pg.psql("SELECT system_identifier FROM pg_control_system()");
        Path target = restoreRoot.resolve("main");
        Instant restoreStart = clock.instant();
        List<String> args = new ArrayList<>(List.of("restore", "--config", agentCfg.toString(), "--source", "main", "--target", target.toString(),
                "--to-time", t));
        restoreCommand(tools, pgHome, socket, sysid).ifPresent(c -> {
            args.add("--restore-command");
            args.add(c);
        });
        cli(args.toArray(String[]::new));
        int restoredPort = freePort();
        DemoPostgres back = DemoPostgres.restored(tools, target, pgHome, restoredPort);
        back.start();
        children.add("postgresql-restored", back.pid().orElse(0), restoredPort, back::stop);
        String[] markers = new String[1];
        waiter.within(Duration.ofMinutes(10)).until("the restored cluster to finish recovery", () -> {
            try {
                if (!"f".equals(back.psql("SELECT pg_is_in_recovery()"))) {
                    return false;
                }
                markers[0] = back.psql("SELECT coalesce(string_agg(note, ',' ORDER BY id), '') FROM demo_markers");
                return true;
            } catch (HoldfastException e) {
                if (!back.running()) {
                    throw e;
                }
                return false;
            }
        });
        Duration rto = Duration.between(restoreStart, clock.instant());
        String sums = back.psql("SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ',' || (SELECT sum(tbalance) FROM pgbench_tellers)"
                + " || ',' || (SELECT sum(bbalance) FROM pgbench_branches) || ',' || (SELECT coalesce(sum(delta), 0) FROM pgbench_history)");
        String[] v = sums.split(",");
        boolean ledger = v.length == 4 && v[0].equals(v[1]) && v[1].equals(v[2]) && v[2].equals(v[3]);
        boolean markersOk = "before-T".equals(markers[0]);
        if (!ledger || !markersOk) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the restored cluster failed the check: markers [" + markers[0]
                    + "] (expected [before-T]), ledger sums " + sums + " (accounts, tellers, branches, history: expected equal)");
        }
        String check = "PASSED: the restore to T has marker 'before-T' and not 'after-T'; pgbench's ledger balances"
                + " (accounts = tellers = branches = history = " + v[0] + ")";
        out.printf("7. restored to T into %s (restore_command fetching WAL through the agent), started it on 127.0.0.1:%d; check passed%n",
                target, restoredPort);
        out.flush();

        String redisState = checkRedis(tools, redis, agentSocket, agentCfg, restoreRoot, children);
        out.println("8. Redis: " + redisState);
        out.printf("Done in %.0f s.%n", Duration.between(began, clock.instant()).toMillis() / 1000.0);
        return new DemoReport(root, logs, controller, agent, ctlPort, agentCfg, ctlData.resolve("admin.token"), ctlData.resolve("ca/ca.crt"), rpo, liveRpo,
                rto, check, backupId, t, pgHome, restoredPort, redisState);
    }

    /**
     * Restores the Redis source's shipped AOF (latest) into a scratch directory, starts a
     * redis-server on it and compares it with the live server, which takes no writes meanwhile:
     * the same number of keys, counter and list. Returns the check's summary; fails on a difference.
     */
    private String checkRedis(Tools tools, DemoRedis redis, AgentSocket agentSocket, Path agentCfg, Path restoreRoot, Children children)
            throws Exception {
        Instant written = clock.instant();
        redis.set("demo:last-write", written.toString());
        waiter.until("the Redis AOF to be shipped", () -> {
            JsonNode st = agentSocket.sourceStatus("cache");
            return st != null && st.hasNonNull("last_durable_at") && Instant.parse(st.path("last_durable_at").asText()).isAfter(written);
        });
        Path target = restoreRoot.resolve("cache");
        cli("restore", "--config", agentCfg.toString(), "--source", "cache", "--target", target.toString());
        int port = freePort();
        DemoRedis back = DemoRedis.start(tools, target, port, waiter);
        children.add("redis-restored", back.pid(), port, back::stop);
        List<String> live = redis.fingerprint();
        List<String> restored = back.fingerprint();
        if (!live.equals(restored)) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the restored Redis differs from the live one: " + restored + " vs " + live
                    + " (DBSIZE, GET after:counter, LLEN after:events, GET demo:last-write)");
        }
        return "6000 writes shipped as AOF; restored (latest) into " + target + ", started on 127.0.0.1:" + port
                + ": the same " + live.get(0) + " keys, counters and lists as the live server (check passed)";
    }

    private static boolean connected(ControllerApi api) throws IOException, InterruptedException {
        try {
            return api.get("/api/v1/agents/" + HOST).path("connected").asBoolean();
        } catch (HoldfastException e) {
            return false; // not known to the controller yet
        }
    }

    private static Lsn durable(AgentSocket s) throws IOException {
        JsonNode st = s.sourceStatus("main");
        if (st == null || !st.hasNonNull("durable_lsn")) {
            throw new IOException("no durable LSN yet");
        }
        return Lsn.parse(st.path("durable_lsn").asText());
    }

    /** The source's live RPO as the controller last heard it from the agent's heartbeat, or null before the first. */
    private static Double liveRpo(ControllerApi api) throws IOException, InterruptedException {
        for (JsonNode s : api.get("/api/v1/sources").path("items")) {
            if (HOST.equals(s.path("host").asText()) && "main".equals(s.path("name").asText()) && s.path("live").path("rpo_seconds").isNumber()) {
                return s.path("live").path("rpo_seconds").asDouble();
            }
        }
        return null;
    }

    private static void alive(Process p, String what, Path logs) {
        if (!p.isAlive()) {
            throw new HoldfastException(ErrorCode.INTERNAL, what + " exited with status " + p.exitValue() + "; see " + logs + ".log and " + logs + ".err");
        }
    }

    private static String agentConfig(Tools tools, Path repo, Path key, int ctlPort, Path identity, Path socket, DemoPostgres pg, DemoRedis redis,
                                      Path restoreRoot) {
        return "# holdfast demo agent\nhost: " + HOST + "\n"
                + "repository:\n  url: " + repo.toUri() + "\n  key_file: " + key + "\n"
                + "controller:\n  url: https://127.0.0.1:" + ctlPort + "\n  identity_dir: " + identity + "\n"
                + "control_socket: " + socket + "\n" + (tools.asRoot() ? "control_socket_group: postgres\n" : "")
                + "metrics:\n  listen: off\n"
                + "sources:\n"
                + "  - name: main\n    type: postgres\n    data_dir: " + pg.dataDir() + "\n"
                + "    conninfo: \"host=" + pg.socketDir() + " port=" + pg.port() + " user=postgres dbname=postgres\"\n"
                + "    wal:\n      mode: stream\n      partial_interval: 200ms\n"
                + "  - name: cache\n    type: redis\n    uri: redis://127.0.0.1:" + redis.port() + "\n    dir: " + redis.dir() + "\n"
                + "restore:\n  allowed_targets: [" + restoreRoot + "]\n";
    }

    /**
     * The restored cluster's restore_command: the WAL fetch hook, copied to where the postgres user
     * can run it (a checkout under a home directory often is not), asking the agent's socket.
     * Empty (the restore's default hook) when this build has no hook script beside it.
     */
    private static java.util.Optional<String> restoreCommand(Tools tools, Path pgHome, Path socket, String sysid) throws IOException {
        String home = System.getProperty("holdfast.home");
        if (home == null || !Files.isRegularFile(Path.of(home, "bin", "holdfast-wal-fetch"))) {
            return java.util.Optional.empty();
        }
        Path bin = Files.createDirectories(pgHome.resolve("bin"));
        Path hook = bin.resolve("holdfast-wal-fetch");
        Files.copy(Path.of(home, "bin", "holdfast-wal-fetch"), hook, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
        return java.util.Optional.of(sh(hook.toString()) + " --socket " + sh(socket.toString()) + " --source main --system-id " + sysid + " %f %p");
    }

    static String sh(String word) {
        return word.matches("[A-Za-z0-9_./:=@+-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    /** Runs one holdfast command in this JVM; its standard output, or its failure with its code and message. */
    private static String cli(String... args) {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        int status = Main.run(args, new PrintWriter(o, true), new PrintWriter(e, true));
        if (status != 0) {
            ErrorCode code = ErrorCode.INTERNAL;
            for (ErrorCode c : ErrorCode.values()) {
                if (c.exitStatus() == status) {
                    code = c;
                }
            }
            throw new HoldfastException(code, "holdfast " + args[0] + (args.length > 1 && !args[1].startsWith("-") ? " " + args[1] : "")
                    + " failed: " + e.toString().strip());
        }
        return o.toString();
    }

    /**
     * A child JVM running this build's {@code holdfast} with these arguments: {@code bin/holdfast}
     * of this installation with this JVM's class path (no build, no jar lookup), or java with the
     * class path when there is no installation; output to {@code LOGS.log} and {@code LOGS.err}.
     */
    private static Process holdfast(Path logs, String... args) throws IOException {
        String home = System.getProperty("holdfast.home");
        List<String> cmd = new ArrayList<>();
        Path launcher = home == null ? null : Path.of(home, "bin", "holdfast");
        if (launcher != null && Files.isExecutable(launcher)) {
            cmd.add(launcher.toString());
        } else {
            cmd.add(ProcessHandle.current().info().command().orElse("java"));
            cmd.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        }
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolveSibling(logs.getFileName() + ".log").toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(logs.resolveSibling(logs.getFileName() + ".err").toFile()));
        Map<String, String> env = pb.environment();
        env.put("HOLDFAST_CLASSPATH", System.getProperty("java.class.path"));
        env.put("HOLDFAST_JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC");
        env.putIfAbsent("HOLDFAST_LOG_LEVEL", "info");
        env.remove("HOLDFAST_CONFIG");
        env.remove("JOURNAL_STREAM");
        return pb.start();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

}
