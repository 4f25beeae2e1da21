package dev.holdfast.agent.drill;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway PostgreSQL server on a restored data directory, for drills. It listens on no TCP
 * address, only on a Unix socket in a private directory (mode 0700, owned by the server's user),
 * with {@code trust} authentication for that socket alone: nobody but that user (and root) can
 * connect, and the restored cluster's own {@code pg_hba.conf} and passwords are not needed.
 * {@code shared_buffers} is capped so that the copy fits beside the source on the same host; logical
 * replication workers and pg_cron jobs are off, so the promoted copy never consumes a publisher's
 * slot or runs a scheduled job against anything.
 *
 * <p>The server runs as the current user, or, when that is root (PostgreSQL refuses root), as the
 * {@code postgres} system user via {@code runuser}, after the data directory is handed to it.
 * Blocking: call from a worker thread.
 */
public final class ScratchCluster implements AutoCloseable {
    /** Bytes of a Unix socket path PostgreSQL accepts (sun_path is 108 bytes, with its own suffix). */
    private static final int SOCKET_PATH_MAX = 90;
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private final Path bin;
    private final Path dataDir;
    private final Path socketDir;
    private final int port;
    private final Path logFile;
    private String user;
    private boolean running;

    private ScratchCluster(Path bin, Path dataDir, Path socketDir, int port, Path logFile) {
        this.bin = bin;
        this.dataDir = dataDir;
        this.socketDir = socketDir;
        this.port = port;
        this.logFile = logFile;
    }

    /**
     * Starts a server on {@code dataDir} and waits until it accepts connections (a copy in recovery
     * accepts read-only ones once consistent; see {@link #awaitPromoted}).
     *
     * @param bin     the PostgreSQL binaries of the backup's major version
     * @param logFile where the server logs (kept after close, for the drill's report)
     * @throws HoldfastException {@code SOURCE_ERROR} naming the server log's last lines when it does not start
     */
    public static ScratchCluster start(Path bin, Path dataDir, Path logFile, Duration timeout) {
        if (!Files.isExecutable(bin.resolve("pg_ctl"))) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "no pg_ctl in " + bin
                    + " (install the PostgreSQL server package of the backup's major version, or set the source's pg_bin_dir)");
        }
        try {
            Path socketDir = Files.createTempDirectory("hf-drill-");
            if (socketDir.toString().length() > SOCKET_PATH_MAX) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, "temporary directory " + socketDir + " is too long for a Unix socket");
            }
            Files.setPosixFilePermissions(socketDir, PosixFilePermissions.fromString("rwx------"));
            Files.writeString(socketDir.resolve("pg_hba.conf"), "# holdfast drill: the private socket only\nlocal all all trust\n",
                    StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
            Files.createDirectories(logFile.getParent());
            if (ROOT) {
                chownToPostgres(dataDir);
                chownToPostgres(socketDir);
                Files.deleteIfExists(logFile);
                Files.createFile(logFile);
                chownToPostgres(logFile);
            }
            ScratchCluster c = new ScratchCluster(bin, dataDir, socketDir, freePort(), logFile);
            String opts = "-c listen_addresses='' -c port=" + c.port + " -c unix_socket_directories='" + socketDir + "'"
                    + " -c hba_file='" + socketDir.resolve("pg_hba.conf") + "' -c shared_buffers=128MB -c archive_mode=off"
                    + " -c logging_collector=off"
                    // A promoted copy must not act on the world: no logical replication apply workers
                    // (its subscriptions would consume the publishers' slots) and no pg_cron jobs.
                    + " -c max_logical_replication_workers=0 -c cron.launch_active_jobs=off";
            c.running = true;
            Result r = c.run(timeout.plusMinutes(1), bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-l", logFile.toString(),
                    "-o", opts, "-w", "-t", Long.toString(Math.max(1, timeout.toSeconds())), "start");
            if (r.status != 0) {
                c.close();
                throw new HoldfastException(ErrorCode.SOURCE_ERROR, "the restored copy did not start: " + r.output.strip() + "; server log: "
                        + tail(logFile));
            }
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until recovery has ended and the copy was promoted (it accepts writes), and finds a
     * superuser to connect as: the first of {@code candidates} that exists (trust on the private
     * socket), asked for the bootstrap superuser's name.
     *
     * @throws HoldfastException {@code SOURCE_ERROR} when it is still recovering after {@code timeout}
     *                           (the server log's last lines say why: a WAL gap, a missing segment)
     */
    public void awaitPromoted(List<String> candidates, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HoldfastException last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (user == null) {
                    user = superuser(candidates);
                }
                if ("f".equals(psql("postgres", "SELECT pg_is_in_recovery()"))) {
                    return;
                }
            } catch (HoldfastException e) {
                last = e;
            }
            sleep(Duration.ofMillis(500));
        }
        throw new HoldfastException(ErrorCode.SOURCE_ERROR, "the restored copy did not finish recovery within " + timeout.toSeconds() + " s"
                + (last == null ? "" : " (" + last.getMessage() + ")") + "; server log: " + tail(logFile));
    }

    private String superuser(List<String> candidates) {
        HoldfastException last = null;
        for (String u : candidates) {
            try {
                user = u;
                return psql("postgres", "SELECT rolname FROM pg_roles WHERE oid = 10");
            } catch (HoldfastException e) {
                last = e;
                user = null;
            }
        }
        throw last != null ? last : new HoldfastException(ErrorCode.SOURCE_ERROR, "no role to connect as");
    }

    /**
     * Runs one statement in {@code database} and returns its output (unaligned, tuples only, trimmed).
     *
     * @throws HoldfastException {@code SOURCE_ERROR} with psql's message
     */
    public String psql(String database, String sql) {
        // The database as a conninfo value: a name holding '=' or a URI must not become a connection string of its own.
        Result r = run(Duration.ofMinutes(10), bin.resolve("psql").toString(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                socketDir.toString(), "-p", Integer.toString(port), "-U", user == null ? "postgres" : user, "-d",
                "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'", "-c", sql);
        if (r.status != 0) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "psql on the restored copy (" + database + "): " + r.output.strip());
        }
        return r.output.strip();
    }

    /** Runs a PostgreSQL client tool of this cluster's version against it; the output, or SOURCE_ERROR with it. */
    public String tool(Duration timeout, String name, String... args) {
        List<String> cmd = new ArrayList<>(List.of(bin.resolve(name).toString(), "-h", socketDir.toString(), "-p", Integer.toString(port), "-U", user));
        cmd.addAll(List.of(args));
        Result r = run(timeout, cmd.toArray(String[]::new));
        if (r.status != 0) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, name + " on the restored copy failed (exit " + r.status + "): "
                    + clip(r.output.strip()));
        }
        return r.output;
    }

    /** Whether this cluster's binaries include {@code name}. */
    public boolean hasTool(String name) {
        return Files.isExecutable(bin.resolve(name));
    }

    /** The superuser the checks connect as (known once {@link #awaitPromoted} returned). */
    public Optional<String> user() {
        return Optional.ofNullable(user);
    }

    /** Stops the server (fast: the copy is thrown away) and removes the socket directory; the data directory stays. */
    @Override
    public void close() {
        if (running) {
            running = false;
            run(Duration.ofMinutes(2), bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "immediate", "-w", "-t", "90", "stop");
        }
        try (var s = Files.list(socketDir)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(socketDir);
        } catch (IOException e) {
            // best effort: a leftover empty directory in /tmp
        }
    }

    private record Result(int status, String output) {
    }

    private Result run(Duration timeout, String... command) {
        List<String> cmd = new ArrayList<>();
        if (ROOT) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(command));
        try {
            Path out = Files.createTempFile("hf-drill-", ".out");
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                        .directory(socketDir.toFile()).start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(30, TimeUnit.SECONDS);
                    return new Result(-1, command[0] + " timed out after " + timeout.toSeconds() + " s");
                }
                return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }

    private static void chownToPostgres(Path path) throws IOException {
        try {
            Process p = new ProcessBuilder("chown", "-R", "postgres:postgres", path.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "cannot hand " + path + " to the postgres user: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The last lines of the server log, for error messages. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return clip(String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size())));
        } catch (IOException e) {
            return "(no server log: " + e.getMessage() + ")";
        }
    }

    private static String clip(String s) {
        return s.length() > 2000 ? s.substring(0, 2000) + "..." : s;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }
}
