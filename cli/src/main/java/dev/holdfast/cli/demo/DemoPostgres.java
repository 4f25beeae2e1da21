package dev.holdfast.cli.demo;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A throwaway PostgreSQL cluster of the demo: its data directory, a loopback port, its Unix socket
 * in {@code socketDir}. Every server command runs through {@link Tools#asPostgres} (as the
 * {@code postgres} user when the demo runs as root). Stopping uses {@code pg_ctl stop -m fast}.
 */
final class DemoPostgres {
    private final Tools tools;
    private final Path dataDir;
    private final Path socketDir;
    private final int port;
    private final Path log;

    private DemoPostgres(Tools tools, Path dataDir, Path socketDir, int port, Path log) {
        this.tools = tools;
        this.dataDir = dataDir;
        this.socketDir = socketDir;
        this.port = port;
        this.log = log;
    }

    /**
     * initdb into {@code dataDir} (which must not exist; its parent belongs to the server's user),
     * with local connections (replication included) trusted on the socket and nothing else
     * listening but 127.0.0.1, WAL kept for the agent's stream (wal_level replica, senders, slots).
     */
    static DemoPostgres init(Tools tools, Path dataDir, Path socketDir, int port) {
        DemoPostgres pg = new DemoPostgres(tools, dataDir, socketDir, port, dataDir.resolveSibling(dataDir.getFileName() + ".log"));
        pg.run(Duration.ofMinutes(3), tools.pg("initdb").toString(), "-D", dataDir.toString(), "-U", "postgres",
                "--auth-local=trust", "--auth-host=reject", "--encoding=UTF8", "--locale=C", "--no-sync");
        String hba = "# holdfast demo: the Unix socket only, trusted (the socket directory is the demo's)\n"
                + "local   all             all                                     trust\n"
                + "local   replication     all                                     trust\n";
        String conf = String.join("\n", List.of(
                "# holdfast demo: a throwaway cluster",
                "listen_addresses = '127.0.0.1'",
                "port = " + port,
                "unix_socket_directories = '" + socketDir + "'",
                "wal_level = replica",
                "max_wal_senders = 10",
                "max_replication_slots = 10",
                "wal_keep_size = 256MB",
                "fsync = off",
                "shared_buffers = 32MB",
                "max_connections = 40",
                "logging_collector = off",
                "log_min_messages = warning")) + "\n";
        try {
            pg.writeAsServer(dataDir.resolve("pg_hba.conf"), hba, false);
            pg.writeAsServer(dataDir.resolve("postgresql.auto.conf"), conf, false);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot configure " + dataDir + ": " + e.getMessage(), e);
        }
        return pg;
    }

    /**
     * A restored data directory, started on a new port: the port appended to
     * {@code postgresql.auto.conf} (the later line wins over the source's), the directory handed to
     * the server's user with mode 0700 as PostgreSQL demands.
     */
    static DemoPostgres restored(Tools tools, Path dataDir, Path socketDir, int port) {
        DemoPostgres pg = new DemoPostgres(tools, dataDir, socketDir, port, dataDir.resolveSibling(dataDir.getFileName() + ".log"));
        try {
            Files.writeString(dataDir.resolve("postgresql.auto.conf"), "# holdfast demo: the restored copy's own port\nport = " + port + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot configure " + dataDir + ": " + e.getMessage(), e);
        }
        tools.chownToPostgres(dataDir);
        return pg;
    }

    void start() {
        run(Duration.ofMinutes(3), tools.pg("pg_ctl").toString(), "-D", dataDir.toString(), "-l", log.toString(), "-w", "-t", "150", "start");
    }

    /** Whether a postmaster runs on this data directory (its pid file is there). */
    boolean running() {
        return Files.exists(dataDir.resolve("postmaster.pid"));
    }

    /** The postmaster's process id, from its pid file. */
    OptionalLong pid() {
        try {
            List<String> lines = Files.readAllLines(dataDir.resolve("postmaster.pid"));
            return lines.isEmpty() ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(lines.get(0).strip()));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** {@code pg_ctl stop -m fast}, then {@code -m immediate} if that fails; quiet when nothing runs. */
    void stop() {
        if (!running()) {
            return;
        }
        try {
            run(Duration.ofMinutes(2), tools.pg("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "fast", "-w", "-t", "90", "stop");
        } catch (HoldfastException e) {
            if (running()) {
                try {
                    run(Duration.ofMinutes(1), tools.pg("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "immediate", "-w", "stop");
                } catch (HoldfastException again) {
                    // reported by the caller's check that nothing is left
                }
            }
        }
    }

    /** SQL through psql on the Unix socket as the superuser: unaligned, tuples only, stripped. */
    String psql(String sql) {
        return run(Duration.ofMinutes(5), tools.pg("psql").toString(), "-X", "-v", "ON_ERROR_STOP=1", "-h", socketDir.toString(),
                "-p", Integer.toString(port), "-U", "postgres", "-d", "postgres", "-A", "-t", "-q", "-c", sql).strip();
    }

    /** pgbench with these arguments against the postgres database, to completion. */
    String pgbench(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of(tools.pg("pgbench").toString(), "-h", socketDir.toString(), "-p", Integer.toString(port),
                "-U", "postgres"));
        cmd.addAll(Arrays.asList(args));
        cmd.add("postgres");
        return run(timeout, cmd.toArray(String[]::new));
    }

    /** pgbench in the background (for load while something else happens); the caller waits for it. */
    Process pgbenchInBackground(Path output, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(tools.pg("pgbench").toString(), "-h", socketDir.toString(), "-p", Integer.toString(port),
                "-U", "postgres"));
        cmd.addAll(Arrays.asList(args));
        cmd.add("postgres");
        return new ProcessBuilder(tools.asPostgres(cmd)).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    }

    String run(Duration timeout, String... command) {
        try {
            return Tools.check(tools.asPostgres(Arrays.asList(command)), timeout, Map.of("PGHOST", socketDir.toString(), "PGPORT",
                    Integer.toString(port)));
        } catch (HoldfastException e) {
            throw new HoldfastException(e.code(), e.getMessage() + logTail(), e);
        }
    }

    private String logTail() {
        try {
            if (!Files.exists(log)) {
                return "";
            }
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return "\n--- " + log + " ---\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "";
        }
    }

    private void writeAsServer(Path file, String content, boolean append) throws IOException {
        if (append) {
            Files.writeString(file, content, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } else {
            Files.writeString(file, content, StandardCharsets.UTF_8);
        }
        tools.chownToPostgres(file);
    }

    Path dataDir() {
        return dataDir;
    }

    Path socketDir() {
        return socketDir;
    }

    int port() {
        return port;
    }

    Path log() {
        return log;
    }
}
