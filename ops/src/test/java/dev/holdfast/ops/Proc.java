package dev.holdfast.ops;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A finished command: its exit status and its standard output and error, merged. */
record Proc(int status, String output) {
    /** The repository's root (the module runs with ops/ as its working directory). */
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    /** Runs {@code command} in {@code dir} with {@code env} added, waiting up to {@code timeout}. */
    static Proc run(Path dir, Map<String, String> env, Duration timeout, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("holdfast-ops-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("timed out after " + timeout + ": " + command + "\n" + Files.readString(out));
            }
            return new Proc(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static Proc run(Path dir, Duration timeout, String... command) throws IOException, InterruptedException {
        return run(dir, Map.of(), timeout, List.of(command));
    }

    /** Whether {@code name} is an executable on the PATH. */
    static boolean onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "exit " + status + "\n" + output;
    }
}
