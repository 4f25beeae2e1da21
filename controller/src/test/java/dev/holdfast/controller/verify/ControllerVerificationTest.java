package dev.holdfast.controller.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.VerificationRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.schedule.CronExpression;
import dev.holdfast.controller.server.ControllerServer;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code controller run} with a {@code repository:} section: the controller opens the repository,
 * and its first scheduled verification runs at start and records every backup's outcome.
 */
class ControllerVerificationTest {
    @TempDir
    Path dir;

    @Test
    void aControllerWithARepositoryVerifiesItsBackupsAtStart() throws Exception {
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        try (Repository repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), key,
                RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test", Clock.systemUTC(), new SecureRandom())) {
            TestBackups main = new TestBackups(repo, "main", "7300000000000000001");
            main.full("20261123T090000Z-full", 2, TestBackups.files("base/1/1", "base/1/2"));
            main.wal(1, 1, 3);
        }
        Path yaml = dir.resolve("controller.yaml");
        Files.writeString(yaml, "listen: 127.0.0.1:0\ndata_dir: " + dir.resolve("data") + "\nrepository:\n  url: "
                + dir.resolve("repo").toUri() + "\n  key_file: " + dir.resolve("master.key") + "\nverify:\n  read_data_within: 2d\n");
        ControllerConfig config = ControllerConfig.load(yaml, CronExpression::parse);
        EventLog log = new EventLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), Clock.systemUTC(),
                LogLevel.INFO, false);
        ControllerServer server = new ControllerServer(config, Clock.systemUTC(), new SecureRandom(), log, "test");
        try {
            server.start().toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
            List<VerificationRecord> records = List.of();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (records.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(100);
                records = server.catalog().verifications(Optional.of("main")).toCompletionStage().toCompletableFuture()
                        .get(60, TimeUnit.SECONDS);
            }
            assertEquals(1, records.size(), "the first scheduled run at start");
            assertTrue(records.get(0).ok(), records.toString());
            assertTrue(records.get(0).dataRead(), "a two-day period with a daily schedule reads everything each run");
            JobRecord job = server.catalog().jobs(PageRequest.FIRST).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS)
                    .items().stream().filter(j -> j.kind().equals("verify")).findFirst().orElseThrow();
            assertEquals("schedule", job.trigger());
            assertEquals(records.get(0).jobId(), job.id());
        } finally {
            server.stop().toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
        }
    }
}
