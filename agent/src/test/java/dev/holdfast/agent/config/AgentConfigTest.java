package dev.holdfast.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent file: defaults, the full example of INTERFACE.md, and every kind of error named by file and key path. */
class AgentConfigTest {
    static final String REPO = "repository:\n  url: file:///var/lib/holdfast/repo\n  key_file: master.key\n";
    static final String PG = "sources:\n  - name: main\n    type: postgres\n    data_dir: /var/lib/postgresql/16/main\n"
            + "    conninfo: \"host=/var/run/postgresql user=holdfast password=hunter2\"\n";

    @TempDir
    Path dir;

    private Path write(String yaml) throws Exception {
        Path p = dir.resolve("agent.yaml");
        Files.writeString(p, yaml);
        return p;
    }

    private AgentConfig load(String yaml) throws Exception {
        return AgentConfig.load(write(yaml), () -> "db1");
    }

    /** Loads, expects CONFIG_INVALID, returns the message. */
    private String refused(String yaml) throws Exception {
        Path p = write(yaml);
        HoldfastException e = assertThrows(HoldfastException.class, () -> AgentConfig.load(p, () -> "db1"));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aMinimalFileGetsTheDocumentedDefaults() throws Exception {
        AgentConfig c = load(REPO + PG);
        assertEquals("db1", c.host());
        assertEquals(dir.resolve("master.key"), c.repository().keyFile());
        assertEquals(Optional.empty(), c.controller());
        assertEquals(Path.of("/run/holdfast/agent.sock"), c.controlSocket());
        assertEquals(Optional.empty(), c.controlSocketGroup());
        assertEquals(Optional.of("127.0.0.1"), c.metrics().host());
        assertEquals(9187, c.metrics().port());
        assertEquals(LogLevel.INFO, c.logLevel());
        assertEquals(List.of(), c.restore().allowedTargets());
        PostgresSourceConfig pg = (PostgresSourceConfig) c.sources().get(0);
        assertEquals("main", pg.name());
        assertEquals(Path.of("/var/lib/postgresql/16/main"), pg.dataDir());
        WalConfig w = pg.wal();
        assertEquals(WalMode.STREAM, w.mode());
        assertEquals("holdfast", w.slot());
        assertEquals(Duration.ofSeconds(1), w.partialInterval());
        assertFalse(w.synchronous());
        assertEquals("holdfast_main", w.applicationName());
        assertEquals(8, w.prefetch());
        assertEquals(4, w.archiveParallel());
        assertEquals(WalConfig.defaults("main"), w);
        assertEquals(List.of(), pg.databases());
        assertEquals(Optional.empty(), pg.pgBinDir());
        assertFalse(c.toString().contains("hunter2"), c::toString);
        assertTrue(pg.toString().contains("password=****"), pg::toString);
    }

    @Test
    void theFullExampleOfTheInterfaceParses() throws Exception {
        AgentConfig c = load("host: db1\n" + REPO.replace("  key_file", "  path_style: true\n  region: us-east-1\n  key_file")
                + "controller:\n  url: https://controller.example:7443\n"
                + "control_socket: /run/holdfast/agent.sock\ncontrol_socket_group: postgres\n"
                + "metrics:\n  listen: \"[::1]:9300\"\nlog_level: debug\n" + PG
                + "    wal:\n      mode: archive\n      slot: holdfast_2\n      partial_interval: 500ms\n      synchronous: true\n"
                + "      application_name: hf\n      prefetch: 0\n      archive_parallel: 32\n"
                + "  - name: cache\n    type: redis\n    uri: redis://:pw@127.0.0.1:6379\n    dir: /var/lib/redis\n"
                + "  - name: app-config\n    type: files\n    paths: [\"/etc/ida/**\"]\n    exclude: [\"**/*.key\", \"**/secrets/**\"]\n"
                + "restore:\n  allowed_targets: [/var/lib/holdfast/restore]\n");
        assertEquals("https://controller.example:7443", c.controller().orElseThrow().url().toString());
        assertEquals(Optional.of("postgres"), c.controlSocketGroup());
        assertEquals(Optional.of("::1"), c.metrics().host());
        assertEquals(9300, c.metrics().port());
        assertEquals(LogLevel.DEBUG, c.logLevel());
        assertEquals(new WalConfig(WalMode.ARCHIVE, "holdfast_2", Duration.ofMillis(500), true, "hf", 0, 32),
                ((PostgresSourceConfig) c.sources().get(0)).wal());
        RedisSourceConfig redis = (RedisSourceConfig) c.sources().get(1);
        assertEquals(Path.of("/var/lib/redis"), redis.dir());
        assertFalse(redis.toString().contains(":pw@"), redis::toString);
        assertEquals(RedisSourceConfig.DEFAULT_AOF_INTERVAL, redis.aofInterval());
        FilesSourceConfig files = (FilesSourceConfig) c.sources().get(2);
        assertEquals(List.of("**/*.key", "**/secrets/**"), files.exclude());
        assertEquals(List.of(Path.of("/var/lib/holdfast/restore")), c.restore().allowedTargets());
    }

    @Test
    void metricsCanBeTurnedOff() throws Exception {
        assertFalse(load(REPO + "metrics:\n  listen: off\n").metrics().enabled());
        assertFalse(load(REPO + "metrics:\n  listen: \"off\"\n").metrics().enabled());
    }

    @Test
    void unknownKeysAreRefusedByPathWithTheAllowedOnes() throws Exception {
        String top = refused(REPO + "sorces: []\n");
        assertTrue(top.contains(": sorces: unknown key (expected one of host, repository, controller"), top);
        String wal = refused(REPO + PG + "    wal:\n      mode: stream\n      slots: x\n");
        assertTrue(wal.contains(": sources[0].wal.slots: unknown key (expected one of mode, slot, partial_interval"), wal);
        String source = refused(REPO + PG + "    datadir: /x\n");
        assertTrue(source.contains("sources[0].datadir: unknown key"), source);
        assertTrue(refused(REPO + "restore:\n  targets: []\n").contains("restore.targets: unknown key"));
        assertTrue(refused(REPO + "controller:\n  url: https://c\n  token: x\n").contains("controller.token: unknown key"));
        assertTrue(refused(REPO.replace("  key_file", "  bucket: b\n  key_file")).contains("repository.bucket: unknown key"));
    }

    @Test
    void wrongTypesSayWhatWasExpectedAndWhatWasFound() throws Exception {
        String mode = refused(REPO + PG + "    wal:\n      mode: streaming\n");
        assertTrue(mode.endsWith(": sources[0].wal.mode: expected stream or archive, found 'streaming'"), mode);
        String sync = refused(REPO + PG + "    wal:\n      synchronous: \"yes\"\n");
        assertTrue(sync.endsWith("sources[0].wal.synchronous: expected true or false, found 'yes'"), sync);
        String sources = refused(REPO + "sources:\n  name: main\n");
        assertTrue(sources.contains(": sources: expected a list of sources"), sources);
        assertTrue(sources.endsWith("found a mapping"), sources);
        String conninfo = refused(REPO + "sources:\n  - name: main\n    type: postgres\n    data_dir: /d\n    conninfo: 5432\n");
        assertTrue(conninfo.contains("sources[0].conninfo: expected a libpq connection string"), conninfo);
        String secret = refused(REPO.replace("  key_file", "  secret_access_key: [hunter2]\n  key_file"));
        assertTrue(secret.contains("repository.secret_access_key: expected") && secret.endsWith("found a list"), secret);
        assertTrue(refused(REPO + "log_level: verbose\n").contains("log_level: expected one of error, warn, info, debug, found 'verbose'"));
        assertTrue(refused(REPO.replace("  key_file", "  path_style: yes please\n  key_file")).contains("true or false"));
    }

    @Test
    void impossibleValuesAreRefused() throws Exception {
        assertTrue(refused(REPO + PG + "    wal:\n      partial_interval: 50ms\n")
                .contains("sources[0].wal.partial_interval: expected a duration such as 500ms, 1s, 2m or 1h, from 100ms to 1h, found '50ms'"));
        assertTrue(refused(REPO + PG + "    wal:\n      partial_interval: 2h\n").contains("found '2h'"));
        assertTrue(refused(REPO + PG + "    wal:\n      partial_interval: 1 second\n").contains("partial_interval"));
        assertTrue(refused(REPO + PG + "    wal:\n      slot: Holdfast\n").contains("sources[0].wal.slot: expected a replication slot name"));
        assertTrue(refused(REPO + PG + "    wal:\n      prefetch: 65\n").contains("sources[0].wal.prefetch: expected an integer from 0 to 64, found 65"));
        assertTrue(refused(REPO + PG + "    wal:\n      archive_parallel: 0\n").contains("archive_parallel: expected an integer from 1 to 32"));
        assertTrue(refused(REPO + PG.replace("/var/lib/postgresql/16/main", "pgdata")).contains("sources[0].data_dir: expected an absolute path, found 'pgdata'"));
        assertTrue(refused(REPO + "sources:\n  - name: -main\n    type: postgres\n").contains("sources[0].name: expected a name of 1-63"));
        assertTrue(refused(REPO + "sources:\n  - name: x\n    type: mysql\n").contains("sources[0].type: expected one of postgres, redis, files, found 'mysql'"));
        assertTrue(refused(REPO + "metrics:\n  listen: 9187\n").contains("metrics.listen: expected host:port"));
        assertTrue(refused(REPO + "metrics:\n  listen: 127.0.0.1:99999\n").contains("metrics.listen"));
        assertTrue(refused(REPO + "control_socket: agent.sock\n").contains("control_socket: expected an absolute path"));
        assertTrue(refused(REPO + "controller:\n  url: ftp://c\n").contains("controller.url: expected an https:// URL"));
        assertTrue(refused(REPO + "restore:\n  allowed_targets: [restore]\n").contains("restore.allowed_targets[0]: expected an absolute directory path"));
        assertTrue(refused(REPO + "sources:\n  - name: r\n    type: redis\n    uri: http://x\n    dir: /r\n").contains("sources[0].uri: expected a redis://"));
        assertTrue(refused(REPO + "sources:\n  - name: f\n    type: files\n    paths: [etc]\n").contains("sources[0].paths[0]: expected an absolute path"));
        String dup = refused(REPO + PG + PG.replace("sources:\n", ""));
        assertTrue(dup.contains("sources[1].name: expected a name not used by another source, found 'main' (also sources[0])"), dup);
    }

    @Test
    void aRedisUriTheClientCannotParseIsRefusedWithoutQuotingThePassword() throws Exception {
        for (String pw : List.of("p^ss", "p ss{x}", "p|s\\\"s<>")) {
            String m = refused(REPO + "sources:\n  - name: cache\n    type: redis\n    uri: \"redis://:" + pw + "@127.0.0.1:6379\"\n    dir: /r\n");
            assertTrue(m.contains("source cache"), m);
            assertTrue(m.contains("not a valid redis:// URI"), m);
            assertFalse(m.contains(pw.substring(0, 2)), m);
        }
        HoldfastException e = assertThrows(HoldfastException.class,
                () -> RedisSourceConfig.checkUri("cache", "redis://:p^ss@127.0.0.1:6379"));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
        assertEquals(null, e.getCause());
        assertFalse(e.getMessage().contains("p^ss"), e.getMessage());
    }

    @Test
    void logicalDumpSettingsParseAndAreValidated() throws Exception {
        PostgresSourceConfig pg = (PostgresSourceConfig) load(REPO + PG + "    databases: [app, \"billing db\"]\n"
                + "    pg_bin_dir: /usr/lib/postgresql/16/bin/\n").sources().get(0);
        assertEquals(List.of("app", "billing db"), pg.databases());
        assertEquals(Optional.of(Path.of("/usr/lib/postgresql/16/bin")), pg.pgBinDir());
        assertTrue(pg.toString().contains("databases=[app, billing db]"), pg::toString);
        assertEquals(List.of(), new PostgresSourceConfig("m", Path.of("/d"), "host=/tmp", WalConfig.defaults("m")).databases());

        String empty = refused(REPO + PG + "    databases: []\n");
        assertTrue(empty.contains("sources[0].databases: expected a non-empty list of database names"), empty);
        String scalar = refused(REPO + PG + "    databases: app\n");
        assertTrue(scalar.contains("sources[0].databases: expected a non-empty list") && scalar.endsWith("found 'app'"), scalar);
        String number = refused(REPO + PG + "    databases: [app, 5]\n");
        assertTrue(number.contains("sources[0].databases[1]: expected a database name"), number);
        String longName = refused(REPO + PG + "    databases: [" + "x".repeat(64) + "]\n");
        assertTrue(longName.contains("sources[0].databases[0]: expected a database name (1-63 bytes"), longName);
        String twice = refused(REPO + PG + "    databases: [app, app]\n");
        assertTrue(twice.contains("sources[0].databases[1]: expected a database not listed before, found 'app' again"), twice);
        String bin = refused(REPO + PG + "    pg_bin_dir: bin\n");
        assertTrue(bin.contains("sources[0].pg_bin_dir: expected an absolute path, found 'bin'"), bin);
        String typo = refused(REPO + PG + "    database: [app]\n");
        assertTrue(typo.contains("sources[0].database: unknown key (expected one of name, type, data_dir, conninfo, wal, databases, pg_bin_dir)"),
                typo);
    }

    @Test
    void missingRequiredKeysAreNamed() throws Exception {
        assertTrue(refused("host: db1\n").contains(": repository: expected a mapping with url and key_file, found nothing (it is required)"));
        assertTrue(refused("repository:\n  url: file:///x\n").contains("repository.key_file: expected"));
        assertTrue(refused(REPO + "sources:\n  - name: main\n    type: postgres\n    data_dir: /d\n")
                .contains("sources[0].conninfo: expected a libpq connection string"));
        assertTrue(refused(REPO + "sources:\n  - type: postgres\n").contains("sources[0].name: expected"));
        assertTrue(refused(REPO + "sources:\n  - name: x\n").contains("sources[0].type: expected one of postgres, redis, files, found nothing"));
    }

    @Test
    void aMissingUnreadableOrMalformedFileIsNamed() throws Exception {
        Path absent = dir.resolve("absent.yaml");
        HoldfastException a = assertThrows(HoldfastException.class, () -> AgentConfig.load(absent));
        assertEquals(ErrorCode.CONFIG_INVALID, a.code());
        assertEquals("configuration file " + absent + " does not exist", a.getMessage());

        HoldfastException y = assertThrows(HoldfastException.class, () -> AgentConfig.load(write("repository: [unclosed\n")));
        assertTrue(y.getMessage().contains("agent.yaml is not valid YAML"), y.getMessage());
        HoldfastException list = assertThrows(HoldfastException.class, () -> AgentConfig.load(write("- a\n- b\n")));
        assertTrue(list.getMessage().contains("must be a YAML mapping"), list.getMessage());

        assumeFalse("root".equals(System.getProperty("user.name")), "root reads any file");
        Path p = write(REPO);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("---------"));
        HoldfastException u = assertThrows(HoldfastException.class, () -> AgentConfig.load(p));
        assertEquals(ErrorCode.CONFIG_INVALID, u.code());
        assertTrue(u.getMessage().contains(p + " is not readable"), u.getMessage());
    }

    @Test
    void aRedisSourceTakesAnAofIntervalWithinBounds() throws Exception {
        String redis = REPO + "sources:\n  - name: r\n    type: redis\n    uri: redis://127.0.0.1:6379\n    dir: /r\n";
        assertEquals(Duration.ofMillis(500), ((RedisSourceConfig) load(redis + "    aof_interval: 500ms\n").sources().get(0)).aofInterval());
        assertTrue(refused(redis + "    aof_interval: 10ms\n").contains("sources[0].aof_interval"));
    }
}
