package dev.holdfast.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.testkit.PgCluster;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ansible/ checked by Ansible's own tools: {@code ansible-lint} passes with the production profile,
 * and {@code site.yml} converges for real on this machine ({@code connection: local}) into a
 * scratch root: the controller role, then (with that controller running from what the role
 * installed) the agent role, which installs the tarball from bin/package, writes the configuration
 * and the key, enrols with the controller through an enrolment token it asks for, configures a
 * throwaway PostgreSQL 15 cluster for archive mode (role, privileges, pg_hba, archive_mode and
 * archive_command, restarted by a command) and a throwaway Redis (appendonly and
 * aof-timestamp-enabled in its redis.conf, applied live). A second run of the whole site reports
 * {@code changed=0} on every host. The machine's own services, users and systemd are not touched:
 * user, ownership and service management are switched off by the role variables.
 */
class AnsibleRolesTest {
    static final Path ANSIBLE = Proc.ROOT.resolve("ansible");
    static final Pattern RECAP = Pattern.compile("^(\\S+)\\s+: ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)", Pattern.MULTILINE);

    @TempDir
    Path dir;

    private Map<String, String> ansibleEnv() throws IOException {
        Map<String, String> env = new HashMap<>();
        env.put("ANSIBLE_ROLES_PATH", ANSIBLE.resolve("roles").toString());
        env.put("ANSIBLE_NOCOLOR", "1");
        env.put("ANSIBLE_FORCE_COLOR", "0");
        env.put("ANSIBLE_RETRY_FILES_ENABLED", "0");
        env.put("ANSIBLE_LOCAL_TEMP", Files.createDirectories(dir.resolve("ansible-tmp")).toString());
        env.put("ANSIBLE_REMOTE_TEMP", dir.resolve("ansible-tmp").toString());
        return env;
    }

    @Test
    void ansibleLintPassesTheProductionProfile() throws Exception {
        Map<String, String> env = ansibleEnv();
        env.put("NO_COLOR", "1");
        Proc lint = Proc.run(ANSIBLE, env, Duration.ofMinutes(10), List.of("ansible-lint", "--offline", "--profile", "production", "--nocolor"));
        assertEquals(0, lint.status(), lint::toString);
        assertTrue(lint.output().contains("Passed with production profile"), lint::toString);
    }

    private Proc playbook(Path inventory, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ansible-playbook", "-i", inventory.toString(), ANSIBLE.resolve("site.yml").toString()));
        cmd.addAll(List.of(extra));
        Proc p = Proc.run(ANSIBLE, ansibleEnv(), Duration.ofMinutes(15), cmd);
        Files.writeString(dir.resolve("ansible-" + System.nanoTime() + ".log"), p.output());
        assertEquals(0, p.status(), p::toString);
        return p;
    }

    private static Map<String, Integer> changedByHost(Proc p) {
        Map<String, Integer> changed = new HashMap<>();
        Matcher m = RECAP.matcher(p.output());
        while (m.find()) {
            changed.put(m.group(1), Integer.parseInt(m.group(3)));
            assertEquals("0", m.group(5), p::toString);
        }
        return changed;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static Path packagedTarball(Path out) throws Exception {
        Proc p = Proc.run(Proc.ROOT, Duration.ofMinutes(10), Proc.ROOT.resolve("bin/package").toString(), "--skip-build", "--no-deb",
                "--out", out.toString());
        assertEquals(0, p.status(), p::toString);
        return Path.of(p.output().lines().filter(l -> l.endsWith(".tar.gz")).findFirst().orElseThrow(() -> new AssertionError(p)));
    }

    private static String redisCli(int port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        return Proc.run(Path.of("/"), Map.of(), Duration.ofMinutes(1), cmd).output().strip();
    }

    @Test
    void siteConvergesLocallyIntoAScratchRootAndASecondRunChangesNothing() throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        Path scratch = Files.createDirectories(dir.resolve("root"));
        Path tarball = packagedTarball(dir.resolve("dist"));
        Path key = dir.resolve("master.key");
        Proc k = Proc.run(dir, Map.of("HOLDFAST_CLASSPATH", ""), Duration.ofMinutes(2),
                List.of(Proc.ROOT.resolve("bin/holdfast").toString(), "keys", "init", "--out", key.toString()));
        assertEquals(0, k.status(), k::toString);
        // The repository both roles name: the controller opens it at start (verification, retention, audit exports).
        Proc init = Proc.run(dir, Map.of("HOLDFAST_CLASSPATH", ""), Duration.ofMinutes(2), List.of(Proc.ROOT.resolve("bin/holdfast").toString(),
                "repo", "init", "--repo", dir.resolve("repo").toUri().toString(), "--key-file", key.toString()));
        assertEquals(0, init.status(), init::toString);
        int controllerPort = freePort();
        int redisPort = freePort();
        Path redisDir = Files.createDirectories(dir.resolve("redis"));
        Path redisConf = redisDir.resolve("redis.conf");
        Files.writeString(redisConf, "# scratch redis.conf\nappendonly no\naof-timestamp-enabled no\n");
        Process redis = new ProcessBuilder("redis-server", redisConf.toString(), "--port", Integer.toString(redisPort), "--bind", "127.0.0.1",
                "--dir", redisDir.toString(), "--save", "", "--daemonize", "no", "--logfile", redisDir.resolve("redis.log").toString())
                .redirectErrorStream(true).redirectOutput(redisDir.resolve("redis.out").toFile()).start();
        Process controller = null;
        try (PgCluster pg = PgCluster.builder().walSegmentSizeMb(16).start()) {
            waitFor(Duration.ofSeconds(60), () -> "PONG".equals(redisCli(redisPort, "PING")), () -> "redis did not answer");
            assertEquals("off", pg.psql("SHOW archive_mode"));
            List<String> restart = new ArrayList<>();
            if (root) {
                restart.addAll(List.of("runuser", "-u", "postgres", "--"));
            }
            restart.addAll(List.of(PgCluster.BIN.resolve("pg_ctl").toString(), "-D", pg.dataDir().toString(), "-l",
                    pg.baseDir().resolve("server.log").toString(), "-w", "-t", "90", "restart"));
            Path ctlData = scratch.resolve("var/lib/holdfast-controller");
            Path inventory = dir.resolve("inventory.yml");
            Files.writeString(inventory, String.join("\n",
                    "all:",
                    "  vars:",
                    "    ansible_connection: local",
                    "    ansible_python_interpreter: /usr/bin/python3",
                    "    holdfast_package_root: " + scratch,
                    "    holdfast_package_method: tarball",
                    "    holdfast_package_file: " + tarball,
                    "    holdfast_package_manage_user: false",
                    "    holdfast_package_manage_systemd: false",
                    "  children:",
                    "    holdfast_controllers:",
                    "      hosts:",
                    "        ctl:",
                    "          holdfast_controller_root: " + scratch,
                    "          holdfast_controller_set_owner: false",
                    "          holdfast_controller_manage_service: false",
                    "          holdfast_controller_listen: 127.0.0.1:" + controllerPort,
                    "          holdfast_controller_repository: {url: '" + dir.resolve("repo").toUri() + "'}",
                    "          holdfast_controller_master_key_src: " + key,
                    "    holdfast_agents:",
                    "      hosts:",
                    "        agent1:",
                    "          holdfast_agent_root: " + scratch,
                    "          holdfast_agent_set_owner: false",
                    "          holdfast_agent_manage_service: false",
                    "          holdfast_agent_host: agent1",
                    "          holdfast_agent_repository: {url: '" + dir.resolve("repo").toUri() + "'}",
                    "          holdfast_agent_master_key_src: " + key,
                    "          holdfast_agent_metrics_listen: 'off'",
                    "          holdfast_agent_controller_url: https://127.0.0.1:" + controllerPort,
                    "          holdfast_agent_controller_admin_token: \"{{ lookup('ansible.builtin.file', '" + ctlData.resolve("admin.token") + "') }}\"",
                    "          holdfast_agent_controller_ca_file: " + ctlData.resolve("ca/ca.crt"),
                    "          holdfast_agent_postgresql_manage: true",
                    "          holdfast_agent_postgresql_wal_mode: archive",
                    "          holdfast_agent_postgresql_become: false",
                    "          holdfast_agent_postgresql_unix_socket: " + pg.socketDir(),
                    "          holdfast_agent_postgresql_port: " + pg.port(),
                    "          holdfast_agent_postgresql_hba_file: " + pg.dataDir().resolve("pg_hba.conf"),
                    "          holdfast_agent_postgresql_wal_push: " + scratch.resolve("usr/bin/holdfast-wal-push"),
                    "          holdfast_agent_postgresql_restart_command: " + yamlList(restart),
                    "          holdfast_agent_redis_manage: true",
                    "          holdfast_agent_redis_conf: " + redisConf,
                    "          holdfast_agent_redis_cli_args: [-h, 127.0.0.1, -p, '" + redisPort + "']",
                    "          holdfast_agent_sources:",
                    "            - {name: main, type: postgres, data_dir: " + pg.dataDir() + ", conninfo: 'host=" + pg.socketDir() + " port="
                            + pg.port() + " user=holdfast dbname=postgres', wal: {mode: archive}}",
                    "            - {name: cache, type: redis, uri: 'redis://127.0.0.1:" + redisPort + "', dir: " + redisDir + "}",
                    ""), StandardCharsets.UTF_8);

            // 1. The controller's host, then its controller started from what the role installed.
            playbook(inventory, "--limit", "holdfast_controllers");
            Path launcher = scratch.resolve("usr/bin/holdfast");
            assertTrue(Files.isExecutable(launcher), "the tarball's launcher is linked into the scratch /usr/bin");
            ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "controller", "run", "--config",
                    scratch.resolve("etc/holdfast/controller.yaml").toString())
                    .redirectOutput(dir.resolve("controller.log").toFile()).redirectError(dir.resolve("controller.err").toFile());
            pb.environment().put("HOLDFAST_JAVA_OPTS", "-Xmx256m");
            pb.environment().remove("HOLDFAST_CLASSPATH");
            Process ctl = pb.start();
            controller = ctl;
            waitFor(Duration.ofMinutes(3), () -> {
                if (!ctl.isAlive()) {
                    throw new AssertionError("the controller exited: " + read(dir.resolve("controller.err")));
                }
                return read(dir.resolve("controller.log")).contains("event=controller_started");
            }, () -> "the controller did not start: " + read(dir.resolve("controller.log")));

            String controllerYaml = Files.readString(scratch.resolve("etc/holdfast/controller.yaml"));
            assertTrue(controllerYaml.contains("key_file: " + scratch.resolve("etc/holdfast/master.key")), controllerYaml);

            // 2. The whole site: the agent is installed, configured, enrolled; PostgreSQL and Redis prepared.
            Proc first = playbook(inventory);
            assertTrue(changedByHost(first).get("agent1") > 0, first::toString);
            String agentYaml = Files.readString(scratch.resolve("etc/holdfast/agent.yaml"));
            assertTrue(agentYaml.contains("host: agent1") && agentYaml.contains("key_file: " + scratch.resolve("etc/holdfast/master.key")), agentYaml);
            assertEquals(Files.readString(key), Files.readString(scratch.resolve("etc/holdfast/master.key")));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(scratch.resolve("etc/holdfast/master.key"))));
            // The agent opens it as installed (its permission check refuses a key others may read).
            dev.holdfast.repository.crypto.KeyFile.load(scratch.resolve("etc/holdfast/master.key"));
            Path identity = scratch.resolve("var/lib/holdfast/identity");
            assertTrue(Files.isRegularFile(identity.resolve("agent.crt")) && Files.isRegularFile(identity.resolve("agent.key")),
                    "the agent enrolled with the controller");
            java.security.cert.CertificateFactory x509 = java.security.cert.CertificateFactory.getInstance("X.509");
            java.security.cert.X509Certificate cert;
            java.security.cert.X509Certificate ca;
            try (var in = Files.newInputStream(identity.resolve("agent.crt")); var caIn = Files.newInputStream(ctlData.resolve("ca/ca.crt"))) {
                cert = (java.security.cert.X509Certificate) x509.generateCertificate(in);
                ca = (java.security.cert.X509Certificate) x509.generateCertificate(caIn);
            }
            assertEquals("CN=agent1", cert.getSubjectX500Principal().getName());
            cert.verify(ca.getPublicKey()); // issued by the controller the role enrolled with
            assertEquals("on", pg.psql("SHOW archive_mode"), "PostgreSQL was restarted with archive_mode on");
            assertEquals(scratch.resolve("usr/bin/holdfast-wal-push") + " %p", pg.psql("SHOW archive_command"));
            assertEquals("replica", pg.psql("SHOW wal_level"));
            assertEquals("t|f", pg.psql("SELECT rolcanlogin, rolreplication FROM pg_roles WHERE rolname = 'holdfast'"));
            assertEquals("t", pg.psql("SELECT pg_has_role('holdfast', 'pg_read_all_settings', 'member')"));
            assertEquals("t", pg.psql("SELECT has_function_privilege('holdfast', 'pg_backup_start(text, boolean)', 'EXECUTE')"));
            assertTrue(pg.psql("SELECT count(*) FROM pg_hba_file_rules WHERE 'holdfast' = ANY(user_name) AND auth_method = 'peer'")
                    .equals("2"), "pg_hba.conf has the agent's lines, and the server loaded them");
            assertEquals("appendonly\nyes", redisCli(redisPort, "CONFIG", "GET", "appendonly"));
            assertEquals("aof-timestamp-enabled\nyes", redisCli(redisPort, "CONFIG", "GET", "aof-timestamp-enabled"));
            String conf = Files.readString(redisConf);
            assertTrue(conf.contains("\nappendonly yes\n") && conf.contains("\naof-timestamp-enabled yes"), conf);

            // 3. Idempotent: nothing changes on a second run.
            Proc second = playbook(inventory);
            Map<String, Integer> changed = changedByHost(second);
            assertEquals(Map.of("ctl", 0, "agent1", 0), changed, second::toString);
        } finally {
            if (controller != null) {
                controller.destroy();
                controller.waitFor(60, TimeUnit.SECONDS);
                controller.destroyForcibly();
            }
            redis.destroy();
            redis.waitFor(30, TimeUnit.SECONDS);
            redis.destroyForcibly();
        }
    }

    private static String yamlList(List<String> items) {
        return "[" + String.join(", ", items.stream().map(s -> "'" + s.replace("'", "''") + "'").toList()) + "]";
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    interface Check {
        boolean ok() throws Exception;
    }

    interface Why {
        String get();
    }

    private static void waitFor(Duration timeout, Check check, Why why) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(why.get());
            }
            Thread.sleep(200);
        }
    }
}
