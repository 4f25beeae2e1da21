package dev.holdfast.cli.demo;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The programs the demo runs, found before anything starts: PostgreSQL's server binaries
 * ({@code $HOLDFAST_PG_BIN}, else {@code pg_config --bindir}, else the newest
 * {@code /usr/lib/postgresql/<n>/bin}), {@code pgbench}, {@code redis-server}, {@code curl} (the
 * WAL fetch hook talks to the agent with it) and, when this process is root, {@code runuser}
 * (PostgreSQL refuses to run as root, so its commands run as the {@code postgres} system user).
 *
 * @param pgBin     the directory holding initdb, pg_ctl, psql, pgbench
 * @param redis     the redis-server executable
 * @param asRoot    whether PostgreSQL's commands go through {@code runuser -u postgres --}
 */
record Tools(Path pgBin, Path redis, boolean asRoot) {
    static final List<String> PG_PROGRAMS = List.of("initdb", "pg_ctl", "psql", "pgbench");

    /** Finds everything or throws {@code config_invalid} naming all that is missing and how to get it. */
    static Tools find(Map<String, String> env) {
        List<String> missing = new ArrayList<>();
        Optional<Path> pgBin = pgBin(env);
        if (pgBin.isEmpty()) {
            missing.add("PostgreSQL server binaries (initdb, pg_ctl, psql: none in $HOLDFAST_PG_BIN, `pg_config --bindir` or"
                    + " /usr/lib/postgresql/*/bin; Debian/Ubuntu: apt-get install postgresql)");
        } else if (!Files.isExecutable(pgBin.get().resolve("pgbench"))) {
            missing.add("pgbench (not in " + pgBin.get() + "; Debian/Ubuntu: apt-get install postgresql-contrib or postgresql)");
        }
        Optional<Path> redis = onPath(env, "redis-server");
        if (redis.isEmpty()) {
            missing.add("redis-server (not on PATH; Debian/Ubuntu: apt-get install redis-server)");
        }
        if (onPath(env, "curl").isEmpty()) {
            missing.add("curl (not on PATH; the WAL fetch hook uses it; apt-get install curl)");
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            if (onPath(env, "runuser").isEmpty()) {
                missing.add("runuser (util-linux): running as root, PostgreSQL must run as the postgres user");
            } else if (run(List.of("id", "-u", "postgres")) != 0) {
                missing.add("the postgres system user: running as root, PostgreSQL must run as an ordinary user"
                        + " (installing the postgresql package creates it), or run the demo as an ordinary user");
            }
        }
        if (!missing.isEmpty()) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "the demo needs what is not installed here: " + String.join("; ", missing));
        }
        return new Tools(pgBin.get(), redis.get(), root);
    }

    Path pg(String program) {
        return pgBin.resolve(program);
    }

    /** The command, run as the postgres user when this process is root. */
    List<String> asPostgres(List<String> command) {
        if (!asRoot) {
            return command;
        }
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        cmd.addAll(command);
        return cmd;
    }

    /** Hands a tree to the postgres user (root only; an ordinary user runs PostgreSQL as itself). */
    void chownToPostgres(Path path) {
        if (asRoot) {
            check(List.of("chown", "-R", "postgres:postgres", path.toString()), Duration.ofMinutes(2));
        }
    }

    /** Whether the postgres user can reach {@code dir} (every parent searchable); always true for an ordinary user. */
    boolean postgresCanReach(Path dir) {
        return !asRoot || run(List.of("runuser", "-u", "postgres", "--", "test", "-x", dir.toString())) == 0;
    }

    private static Optional<Path> pgBin(Map<String, String> env) {
        List<Path> candidates = new ArrayList<>();
        String explicit = env.get("HOLDFAST_PG_BIN");
        if (explicit != null && !explicit.isBlank()) {
            candidates.add(Path.of(explicit));
        }
        onPath(env, "pg_config").ifPresent(pgConfig -> {
            String out = output(List.of(pgConfig.toString(), "--bindir"));
            if (!out.isBlank()) {
                candidates.add(Path.of(out.strip()));
            }
        });
        Path lib = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> versions = Files.list(lib)) {
                versions.filter(v -> v.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                        .sorted(Comparator.comparingDouble((Path v) -> Double.parseDouble(v.getFileName().toString())).reversed())
                        .forEach(v -> candidates.add(v.resolve("bin")));
            } catch (IOException e) {
                // nothing there to use
            }
        }
        return candidates.stream().filter(d -> PG_PROGRAMS.subList(0, 3).stream().allMatch(p -> Files.isExecutable(d.resolve(p)))).findFirst();
    }

    static Optional<Path> onPath(Map<String, String> env, String program) {
        String path = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
        for (String d : (path + ":/usr/sbin:/sbin").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return Optional.of(Path.of(d, program));
            }
        }
        return Optional.empty();
    }

    /** Runs a short command, discarding its output; its exit status, or -1 if it could not run. */
    static int run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String output(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "";
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** Runs a command to completion; its standard output, or {@code io_error} with its output when it fails. */
    static String check(List<String> command, Duration timeout) {
        return check(command, timeout, Map.of());
    }

    static String check(List<String> command, Duration timeout, Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().putAll(env);
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new HoldfastException(ErrorCode.IO_ERROR, "timed out after " + timeout.toSeconds() + " s: " + String.join(" ", command));
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "'" + String.join(" ", command) + "' exited " + p.exitValue() + ": " + text.strip());
            }
            return text;
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot run " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.IO_ERROR, "interrupted: " + String.join(" ", command), e);
        }
    }
}
