package dev.holdfast.agent.postgres.logical;

import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Running PostgreSQL's client programs ({@code pg_dump}, {@code pg_restore}) for a connection.
 *
 * <p>Where and as whom to connect is passed only through the child's environment
 * ({@code PGHOST}, {@code PGPORT}, {@code PGUSER}, ...), every inherited {@code PG*} variable
 * removed first so that the configuration alone decides; the password, when the conninfo holds
 * one, goes in {@code PGPASSWORD} and never on a command line (other users can read those in
 * {@code /proc}) or in a message. Without one, the programs read the password file themselves
 * ({@code passfile}, else {@code ~/.pgpass}), as {@code ReplicationClient} does.
 */
final class PgProgram {
    /** The application name the programs' sessions show in {@code pg_stat_activity}. */
    static final String APPLICATION_NAME = "holdfast_logical";
    private static final int STDERR_LINES = 12;

    private PgProgram() {
    }

    /**
     * The executable {@code name}: in {@code binDir} when configured (it must be there), else in
     * Debian's {@code /usr/lib/postgresql/<server major>/bin} when that exists (a client at least as
     * new as the server, which {@code pg_dump} requires), else {@code name} looked up in the
     * {@code PATH}.
     */
    static String executable(Optional<Path> binDir, int serverVersionNum, String name) {
        if (binDir.isPresent()) {
            Path p = binDir.get().resolve(name);
            if (!Files.isExecutable(p)) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, "pg_bin_dir " + binDir.get() + " has no executable " + name);
            }
            return p.toString();
        }
        Path debian = Path.of("/usr/lib/postgresql", major(serverVersionNum), "bin", name);
        return Files.isExecutable(debian) ? debian.toString() : name;
    }

    /** PostgreSQL's major version as its directories name it: {@code 15} for 150020, {@code 9.6} for 90624. */
    static String major(int serverVersionNum) {
        return serverVersionNum >= 100000 ? Integer.toString(serverVersionNum / 10000)
                : serverVersionNum / 10000 + "." + serverVersionNum / 100 % 100;
    }

    /** {@code dbname='<name>'}: a conninfo naming only the database, taken literally whatever the name holds. */
    static String dbnameArgument(String database) {
        return "--dbname=dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** A process builder for {@code command} with the connection of {@code info} in its environment. */
    static ProcessBuilder builder(List<String> command, ConnInfo info) {
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("PG"));
        env.put("PGHOST", info.host());
        if (info.hostaddr() != null) {
            env.put("PGHOSTADDR", info.hostaddr());
        }
        env.put("PGPORT", Integer.toString(info.port()));
        env.put("PGUSER", info.user());
        if (info.password() != null) {
            env.put("PGPASSWORD", info.password());
        }
        if (info.passfile() != null) {
            env.put("PGPASSFILE", info.passfile());
        }
        env.put("PGCONNECT_TIMEOUT", Long.toString(info.connectTimeout().toSeconds()));
        env.put("PGSSLMODE", info.sslmode());
        env.put("PGAPPNAME", APPLICATION_NAME);
        return pb;
    }

    /** Starts {@code pb}; a program that cannot be started is a configuration problem ({@code pg_bin_dir}, PATH). */
    static Process start(ProcessBuilder pb, String what) {
        try {
            return pb.start();
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "cannot run " + pb.command().get(0) + " (" + what
                    + "): " + e.getMessage() + "; install the PostgreSQL client programs or set pg_bin_dir", e);
        }
    }

    /**
     * Collects the last lines a program writes to stderr, on a daemon thread of its own (so that a
     * full stderr pipe never stalls the program), for error messages.
     */
    static final class StderrTail {
        private final ArrayDeque<String> lines = new ArrayDeque<>();
        private final Thread thread;

        StderrTail(InputStream stderr, String name) {
            this.thread = new Thread(() -> drain(stderr), name);
            thread.setDaemon(true);
            thread.start();
        }

        private void drain(InputStream stderr) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(stderr, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (lines) {
                        lines.addLast(line.length() > 500 ? line.substring(0, 500) + "..." : line);
                        if (lines.size() > STDERR_LINES) {
                            lines.removeFirst();
                        }
                    }
                }
            } catch (IOException e) {
                // the process went away; what was read is kept
            }
        }

        /** The last lines, joined; waits briefly for the program's final words after it exited. */
        String text() {
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (lines) {
                return lines.isEmpty() ? "(nothing on stderr)" : String.join("\n", lines);
            }
        }
    }
}
