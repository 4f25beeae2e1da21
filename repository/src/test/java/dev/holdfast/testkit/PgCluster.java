package dev.holdfast.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real, throwaway PostgreSQL 15 cluster for tests: {@code initdb} into a fresh temporary
 * directory, a random free port on 127.0.0.1, its Unix socket in that directory, stopped and deleted
 * by {@link #close()}.
 *
 * <p>PostgreSQL refuses to run as root and CI runs as root, so when this JVM is root every server
 * command runs as the {@code postgres} system user ({@code runuser -u postgres --}) and the
 * directory is handed to that user. As an ordinary user the commands run directly.
 *
 * <p>Defaults suit WAL tests: {@code wal_level = replica}, 1 MiB WAL segments (so tests fill
 * segments quickly), local connections trusted, TCP connections on 127.0.0.1 with SCRAM-SHA-256
 * (replication included). {@link Builder#hba} adds lines before the defaults.
 */
public final class PgCluster implements AutoCloseable {
    public static final Path BIN = Path.of(System.getenv().getOrDefault("HOLDFAST_PG_BIN", "/usr/lib/postgresql/15/bin"));
    public static final String SUPERUSER = "postgres";
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private final Path base;
    private final Path dataDir;
    private final int port;
    private final Path log;

    private PgCluster(Path base, Path dataDir, int port) {
        this.base = base;
        this.dataDir = dataDir;
        this.port = port;
        this.log = base.resolve("server.log");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for a new cluster; {@link #start()} runs initdb and starts the server. */
    public static final class Builder {
        private int walSegmentSizeMb = 1;
        private final List<String> hba = new ArrayList<>();
        private final List<String> settings = new ArrayList<>();
        private Path fromBaseBackupOf;

        /** {@code initdb --wal-segsize}, in MiB (1 by default). */
        public Builder walSegmentSizeMb(int mb) {
            this.walSegmentSizeMb = mb;
            return this;
        }

        /** A {@code pg_hba.conf} line, placed before the defaults (first match wins). */
        public Builder hba(String line) {
            hba.add(line);
            return this;
        }

        /** A {@code postgresql.conf} line such as {@code archive_mode = on}. */
        public Builder setting(String line) {
            settings.add(line);
            return this;
        }

        public PgCluster start() {
            try {
                Path base = Files.createTempDirectory("holdfast-pg-");
                Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
                chownToPostgres(base);
                Path data = base.resolve("data");
                int port = freePort();
                PgCluster c = new PgCluster(base, data, port);
                c.run(Duration.ofMinutes(2), BIN.resolve("initdb").toString(), "-D", data.toString(), "-U", SUPERUSER,
                        "--wal-segsize=" + walSegmentSizeMb, "--auth-local=trust", "--auth-host=scram-sha-256",
                        "--encoding=UTF8", "--locale=C", "--no-sync");
                c.configure(hba, settings);
                c.startServer();
                return c;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private void configure(List<String> hbaLines, List<String> settings) throws IOException {
        List<String> hba = new ArrayList<>();
        hba.add("# holdfast test cluster");
        hba.addAll(hbaLines);
        hba.add("local   all             all                                     trust");
        hba.add("local   replication     all                                     trust");
        hba.add("host    all             all             127.0.0.1/32            scram-sha-256");
        hba.add("host    replication     all             127.0.0.1/32            scram-sha-256");
        writeAsPostgres(dataDir.resolve("pg_hba.conf"), String.join("\n", hba) + "\n");
        List<String> conf = new ArrayList<>(List.of(
                "listen_addresses = '127.0.0.1'",
                "port = " + port,
                "unix_socket_directories = '" + base + "'",
                "wal_level = replica",
                "max_wal_senders = 10",
                "max_replication_slots = 10",
                "fsync = off",
                "synchronous_commit = on",
                "shared_buffers = 32MB",
                "max_connections = 40",
                "logging_collector = off",
                "log_min_messages = warning",
                "password_encryption = 'scram-sha-256'"));
        conf.addAll(settings);
        Files.writeString(dataDir.resolve("postgresql.auto.conf"), String.join("\n", conf) + "\n", StandardCharsets.UTF_8);
    }

    /** Starts the server (after {@link #stop} or a kill). */
    public void startServer() {
        run(Duration.ofMinutes(2), BIN.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-l", log.toString(),
                "-w", "-t", "90", "start");
    }

    /** {@code pg_ctl stop -m fast}. */
    public void stop() {
        run(Duration.ofMinutes(2), BIN.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "fast", "-w", "stop");
    }

    /** {@code pg_ctl stop -m immediate}: a crash from the server's point of view. */
    public void crash() {
        run(Duration.ofMinutes(2), BIN.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "immediate", "-w", "stop");
    }

    public void restart() {
        stop();
        startServer();
    }

    /** {@code pg_ctl promote}, waiting until done. */
    public void promote() {
        run(Duration.ofMinutes(2), BIN.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-w", "promote");
    }

    /** Runs SQL through psql on the Unix socket as the superuser; returns unaligned, tuples-only output. */
    public String psql(String sql) {
        return run(Duration.ofMinutes(5), BIN.resolve("psql").toString(), "-X", "-v", "ON_ERROR_STOP=1", "-h", base.toString(),
                "-p", Integer.toString(port), "-U", SUPERUSER, "-d", "postgres", "-A", "-t", "-q", "-c", sql).strip();
    }

    /** Creates a login role with a password (SCRAM-SHA-256 unless {@code encryption} is "md5"). */
    public void createRole(String name, String password, boolean replication, String encryption) {
        psql("SET password_encryption = '" + encryption + "'; CREATE ROLE " + name + " LOGIN"
                + (replication ? " REPLICATION" : "") + " PASSWORD '" + password.replace("'", "''") + "'");
    }

    /** {@code pgbench -i -s scale}. */
    public void pgbenchInit(int scale) {
        run(Duration.ofMinutes(10), BIN.resolve("pgbench").toString(), "-i", "-q", "-s", Integer.toString(scale), "-h", base.toString(),
                "-p", Integer.toString(port), "-U", SUPERUSER, "postgres");
    }

    /** Starts {@code pgbench} in the background; the caller waits for or destroys the process. */
    public Process pgbench(String... args) {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("pgbench").toString(), "-h", base.toString(), "-p", Integer.toString(port),
                "-U", SUPERUSER));
        cmd.addAll(Arrays.asList(args));
        cmd.add("postgres");
        try {
            return new ProcessBuilder(asPostgres(cmd)).redirectErrorStream(true).redirectOutput(base.resolve("pgbench.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Forces a segment switch and returns the LSN where the switched-out segment ended. */
    public String switchWal() {
        return psql("SELECT pg_switch_wal()");
    }

    /** Runs a command as the server's user (for example pg_basebackup, pg_waldump); returns stdout. */
    public String run(Duration timeout, String... command) {
        ProcessBuilder pb = new ProcessBuilder(asPostgres(Arrays.asList(command)));
        pb.redirectErrorStream(true);
        pb.environment().put("PGHOST", base.toString());
        pb.environment().put("PGPORT", Integer.toString(port));
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", command));
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("'" + String.join(" ", command) + "' exited " + p.exitValue() + ":\n" + text
                        + "\n--- server log tail ---\n" + logTail());
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The last lines of the server log, for failure messages. */
    public String logTail() {
        try {
            if (!Files.exists(log)) {
                return "(no log)";
            }
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /**
     * A new directory under this cluster's base directory owned by the server's user, for a
     * {@code pg_basebackup}, an archive directory or a second cluster's data.
     */
    public Path newServerDir(String name) {
        try {
            Path dir = base.resolve(name);
            Files.createDirectories(dir);
            chownToPostgres(dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a second cluster from a {@code pg_basebackup -R} of this one: a streaming standby on
     * its own port, sharing this cluster's lifetime (closed with it only if the caller closes it).
     */
    public PgCluster startStandby() {
        try {
            Path standbyBase = Files.createTempDirectory("holdfast-pg-standby-");
            Files.setPosixFilePermissions(standbyBase, PosixFilePermissions.fromString("rwxr-xr-x"));
            chownToPostgres(standbyBase);
            Path data = standbyBase.resolve("data");
            run(Duration.ofMinutes(5), BIN.resolve("pg_basebackup").toString(), "-h", base.toString(), "-p", Integer.toString(port),
                    "-U", SUPERUSER, "-D", data.toString(), "-R", "-X", "stream", "-c", "fast");
            int standbyPort = freePort();
            PgCluster standby = new PgCluster(standbyBase, data, standbyPort);
            String auto = Files.readString(data.resolve("postgresql.auto.conf"));
            auto = auto.replace("port = " + port, "port = " + standbyPort)
                    .replace("unix_socket_directories = '" + base + "'", "unix_socket_directories = '" + standbyBase + "'");
            Files.writeString(data.resolve("postgresql.auto.conf"), auto);
            standby.startServer();
            return standby;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a server on an existing data directory (a restore): hands it to the server's user,
     * points it at a new port and socket directory (appended to {@code postgresql.auto.conf}, so
     * later lines win over the source's), and starts it. Closing stops the server and removes
     * the socket directory, not the data directory.
     */
    public static PgCluster startOn(Path dataDir) {
        try {
            Path base = Files.createTempDirectory("holdfast-pg-restored-");
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
            chownToPostgres(base);
            int port = freePort();
            PgCluster c = new PgCluster(base, dataDir, port);
            Files.writeString(dataDir.resolve("postgresql.auto.conf"), "port = " + port + "\nunix_socket_directories = '" + base + "'\n",
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
            chownToPostgres(dataDir);
            c.startServer();
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path walDir() {
        return dataDir.resolve("pg_wal");
    }

    public Path socketDir() {
        return base;
    }

    public Path baseDir() {
        return base;
    }

    public int port() {
        return port;
    }

    /** A libpq conninfo for TCP on 127.0.0.1. */
    public String conninfo(String user, String password) {
        return "host=127.0.0.1 port=" + port + " user=" + user + (password == null ? "" : " password=" + password) + " dbname=postgres";
    }

    /** The system identifier, in decimal. */
    public String systemIdentifier() {
        return psql("SELECT system_identifier FROM pg_control_system()");
    }

    @Override
    public void close() {
        try {
            if (Files.exists(dataDir.resolve("postmaster.pid"))) {
                try {
                    run(Duration.ofMinutes(1), BIN.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "immediate", "-w", "stop");
                } catch (RuntimeException e) {
                    // already stopped
                }
            }
        } finally {
            deleteTree(base);
        }
    }

    static List<String> asPostgres(List<String> command) {
        if (!ROOT) {
            return command;
        }
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        cmd.addAll(command);
        return cmd;
    }

    /** Hands a path to the {@code postgres} user when running as root. */
    public static void chownToPostgres(Path path) {
        if (!ROOT) {
            return;
        }
        try {
            Process p = new ProcessBuilder("chown", "-R", "postgres:postgres", path.toString()).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new IllegalStateException("chown postgres " + path + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void writeAsPostgres(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.UTF_8);
        chownToPostgres(file);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }

    @Override
    public String toString() {
        return "PgCluster[" + dataDir + ", port " + port + "]";
    }
}
