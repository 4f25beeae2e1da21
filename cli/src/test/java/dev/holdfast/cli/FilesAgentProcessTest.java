package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/holdfast agent run} with a files source, as a real process: a snapshot at start and
 * after a change; a tailed log shipped while it grows, across a kill -9 and a restart of the agent,
 * restored whole (no gap, nothing twice).
 */
class FilesAgentProcessTest {
    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
    }

    private Process agent(Path cfg) throws IOException {
        Process p = WalFaultsProcessTest.launcher(dir.resolve("agent"), "256m", "agent", "run", "--config", cfg.toString()).start();
        processes.add(p);
        return p;
    }

    private void until(String what, Process p, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!condition.getAsBoolean()) {
            if (!p.isAlive()) {
                throw new AssertionError("the agent exited while waiting for " + what + ": " + Files.readString(dir.resolve("agent.err"))
                        + Files.readString(dir.resolve("agent.log")));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "\n" + Files.readString(dir.resolve("agent.log")));
            }
            Thread.sleep(100);
        }
    }

    private long count(Path p) {
        if (!Files.isDirectory(p)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** The greatest shipped end over every tail segment in the repository's directory (one tailed file, one generation here). */
    private long shippedEnd(Path repo) {
        Path tail = repo.resolve("files/conf/tail");
        if (!Files.isDirectory(tail)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(tail)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9]{16}-[0-9]{16}"))
                    .mapToLong(n -> Long.parseLong(n.substring(17))).max().orElse(0);
        } catch (IOException e) {
            return 0;
        }
    }

    @Test
    void snapshotsOnChangeAndATailThatSurvivesKillNine() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(tree.resolve("app.conf"), "v1\n");
        Path log = Files.createDirectories(dir.resolve("logs")).resolve("audit.log");
        Files.writeString(log, "");
        Path restoreRoot = Files.createDirectories(dir.resolve("restore"));
        Path repo = dir.resolve("repo");
        assertEquals(0, Cli.run("keys", "init", "--out", dir.resolve("master.key").toString()).status());
        String y = "host: files1\nrepository:\n  url: " + repo.toUri() + "\n  key_file: " + dir.resolve("master.key") + "\n"
                + "control_socket: " + dir.resolve("run/agent.sock") + "\n"
                + "metrics:\n  listen: 127.0.0.1:" + WalFaultsProcessTest.freePort() + "\n"
                + "sources:\n  - name: conf\n    type: files\n    paths: [\"" + tree + "/**\"]\n    tail: [\"" + log + "\"]\n"
                + "restore:\n  allowed_targets: [" + restoreRoot + "]\n";
        Path cfg = Files.writeString(dir.resolve("agent.yaml"), y);
        assertEquals(0, Cli.run("repo", "init", "--config", cfg.toString()).status());
        Path snapshots = repo.resolve("files/conf/snapshots");

        java.io.ByteArrayOutputStream written = new java.io.ByteArrayOutputStream();
        Process a = agent(cfg);
        until("the snapshot at start", a, () -> count(snapshots) == 1);
        Files.writeString(tree.resolve("app.conf"), "v2\n");
        until("the snapshot after the change", a, () -> count(snapshots) == 2);
        try (OutputStream w = Files.newOutputStream(log, StandardOpenOption.APPEND)) {
            for (int i = 0; i < 200; i++) {
                byte[] line = ("event " + i + " " + "x".repeat(i % 50) + "\n").getBytes(StandardCharsets.UTF_8);
                w.write(line);
                w.flush();
                written.write(line);
                if (i == 100) {
                    long size = written.size();
                    until("part of the log shipped", a, () -> shippedEnd(repo) >= size);
                    a.destroyForcibly(); // kill -9 mid-stream
                    a.waitFor(60, TimeUnit.SECONDS);
                }
            }
        }
        Process b = agent(cfg);
        long total = written.size();
        until("the whole log shipped after the restart", b, () -> shippedEnd(repo) == total);
        b.destroy(); // SIGTERM: clean stop
        assertEquals(true, b.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, b.exitValue(), () -> {
            try {
                return Files.readString(dir.resolve("agent.err"));
            } catch (IOException e) {
                return e.toString();
            }
        });

        Path target = restoreRoot.resolve("t");
        Cli r = Cli.run("restore", "--config", cfg.toString(), "--source", "conf", "--target", target.toString(), "--json");
        assertEquals(0, r.status(), r::toString);
        assertArrayEquals(written.toByteArray(), Files.readAllBytes(target.resolve(log.toString().substring(1))), "no gap, nothing twice");
        assertEquals("v2\n", Files.readString(target.resolve(tree.toString().substring(1)).resolve("app.conf")));
        try (Stream<Path> s = Files.list(target.resolve(log.getParent().toString().substring(1)))) {
            assertEquals(1, s.count(), "one generation: the restart resumed it");
        }
    }
}
