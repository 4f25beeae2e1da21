package dev.holdfast.agent.files;

import static dev.holdfast.agent.daemon.TestAgent.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.agent.daemon.AgentDaemon;
import dev.holdfast.agent.daemon.AgentSources;
import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.repository.RepositoryLocation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The running source: a snapshot at start, one after a change (watch, debounced), none when nothing changed. */
class FilesSourceTest {
    @TempDir
    Path dir;

    private static void until(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void snapshotsAtStartAndOnChangeAndNotWhenNothingChanged() throws Exception {
        assertTrue(AgentSources.defaults().containsKey("files"));
        Path src = dir.resolve("watched");
        FilesFixture.write(src.resolve("app.conf"), "v1\n");
        RepositoryLocation repo = TestAgent.repository(dir);
        FilesSourceConfig c = new FilesSourceConfig("conf", List.of(src + "/**"), List.of(), List.of());
        AgentConfig config = TestAgent.config(dir, repo, List.of(c));
        AtomicReference<FilesSource> source = new AtomicReference<>();
        TestAgent.CapturedLog log = new TestAgent.CapturedLog();
        AgentDaemon daemon = TestAgent.daemon(config, Map.of("files", (sc, ctx) -> {
            FilesSource s = new FilesSource((FilesSourceConfig) sc, ctx, Duration.ofMillis(300), Duration.ofHours(1));
            source.set(s);
            return s;
        }), log.log());
        await(daemon.start());
        try (FilesFixture f = new FilesFixture(repo)) {
            FilesCatalog catalog = new FilesCatalog(f.repository);
            until("the snapshot at start", () -> catalog.ids("conf").size() == 1);

            // a change in a new subdirectory (registered as it appears)
            Files.createDirectories(src.resolve("sub"));
            until("the new directory watched", () -> source.get().status().getInteger("watched_directories") == 2);
            FilesFixture.write(src.resolve("sub/new.conf"), "new\n");
            until("a snapshot after the change", () -> catalog.latest("conf").map(m -> m.entries().stream()
                    .anyMatch(e -> e.path().endsWith("sub/new.conf"))).orElse(false));
            int stored = catalog.ids("conf").size();

            // nothing changed: a snapshot runs, nothing is stored
            long unchangedBefore = source.get().status().getLong("snapshots_unchanged");
            source.get().requestSnapshot();
            until("an unchanged snapshot", () -> source.get().status().getLong("snapshots_unchanged") > unchangedBefore);
            assertEquals(stored, catalog.ids("conf").size());
            assertEquals("watching", source.get().status().getString("state"));
        } finally {
            await(daemon.stop());
        }
        assertTrue(log.text().contains("files_snapshot_stored"), log.text());
    }

    @Test
    void theRunningSourceShipsTailedFilesEverySecondAndOnStop() throws Exception {
        Path log = Files.createDirectories(dir.resolve("logs")).resolve("app.log");
        Files.writeString(log, "first\n");
        RepositoryLocation repo = TestAgent.repository(dir);
        FilesSourceConfig c = new FilesSourceConfig("logs", List.of(), List.of(), List.of(log.toString()));
        AtomicReference<FilesSource> source = new AtomicReference<>();
        AgentDaemon daemon = TestAgent.daemon(TestAgent.config(dir, repo, List.of(c)), Map.of("files", (sc, ctx) -> {
            FilesSource s = new FilesSource((FilesSourceConfig) sc, ctx, Duration.ofMillis(300), Duration.ofHours(1));
            source.set(s);
            return s;
        }), new TestAgent.CapturedLog().log());
        await(daemon.start());
        try {
            until("the first bytes shipped", () -> source.get().status().getLong("tail_bytes_shipped") == 6);
            Files.writeString(log, "second\n", java.nio.file.StandardOpenOption.APPEND);
            until("the appended bytes shipped", () -> source.get().status().getLong("tail_bytes_shipped") == 13);
            Files.writeString(log, "last\n", java.nio.file.StandardOpenOption.APPEND);
        } finally {
            await(daemon.stop());
        }
        try (FilesFixture f = new FilesFixture(repo)) {
            var gens = new TailStreams(f.repository).list("logs");
            assertEquals(1, gens.size());
            assertEquals(18, gens.values().iterator().next().lastEntry().getValue().contiguousEnd(), "the last pass at stop shipped the rest");
        }
    }
}
