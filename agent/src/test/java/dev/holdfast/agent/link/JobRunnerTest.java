package dev.holdfast.agent.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.agent.files.FilesRestore;
import dev.holdfast.agent.pipeline.UploadOptions;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.redis.RdbRestore;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.testkit.RedisProcess;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs the controller sends for Redis and files sources, run by the real job runner against a real
 * redis-server and a real directory, and read back with the restore code.
 */
class JobRunnerTest {
    @TempDir
    Path tmp;

    private static JobRequest job(String id, String source, String type) {
        return JobRequest.newBuilder().setJobId(id).setKind("backup").setSource(source).setType(type).setTag("daily").build();
    }

    @Test
    void redisAndFilesJobsTakeTheirSnapshotsAndAWrongTypeIsRefused() throws Exception {
        RepositoryLocation loc = TestAgent.repository(tmp);
        Path etc = Files.createDirectories(tmp.resolve("etc/app"));
        Files.writeString(etc.resolve("app.yaml"), "listen: 8080\n");
        Vertx vertx = Vertx.vertx();
        try (RedisProcess redis = RedisProcess.start(tmp.resolve("redis"));
             Repository repo = Repository.open(loc.openStore(Clock.systemUTC()), KeyFile.load(loc.keyFile()), Clock.systemUTC(), new SecureRandom())) {
            redis.call("SET", "greeting", "hello");
            String digest = redis.digest();
            RedisSourceConfig cache = new RedisSourceConfig("cache", "redis://127.0.0.1:" + redis.port, redis.dir);
            FilesSourceConfig files = new FilesSourceConfig("app-config", List.of(etc.toString()), List.of(), List.of());
            AgentConfig config = new AgentConfig(tmp.resolve("agent.yaml"), "db1", loc, Optional.empty(), tmp.resolve("agent.sock"),
                    Optional.empty(), AgentConfig.MetricsConfig.OFF, AgentConfig.LogLevel.INFO, List.of(cache, files),
                    new AgentConfig.RestoreConfig(List.of(tmp.resolve("restore"))));
            EventLog log = new EventLog(System.out, Clock.systemUTC(), AgentConfig.LogLevel.INFO, false);
            List<String> phases = Collections.synchronizedList(new ArrayList<>());
            UploadPipeline pipeline = UploadPipeline.create(vertx, repo.store(), repo.keyring(), repo.config().repositoryId(),
                    new UploadOptions(), Clock.systemUTC(), new SecureRandom());
            try (JobRunner runner = new JobRunner(vertx, repo, pipeline, config, Clock.systemUTC(), log)) {
                JobResult rdb = runner.run(job("j-1", "cache", "rdb"), (d, t, phase) -> phases.add(phase))
                        .toCompletionStage().toCompletableFuture().get(5, TimeUnit.MINUTES);
                assertTrue(rdb.getOk(), rdb::toString);
                assertEquals("rdb", rdb.getType());
                assertTrue(rdb.getBytes() > 0, rdb::toString);
                Path target = tmp.resolve("restore/rdb");
                RdbRestore.Result r = new RdbRestore(repo).restore("cache", rdb.getBackupId(), target, List.of(tmp.resolve("restore")), false);
                try (RedisProcess restored = RedisProcess.start(target, "--appendonly", "no", "--dbfilename", "dump.rdb")) {
                    assertEquals(digest, restored.digest(), "the job's snapshot holds the data it was taken at");
                }
                assertEquals(rdb.getBackupId(), r.backup().id());

                JobResult snap = runner.run(job("j-2", "app-config", "snapshot"), (d, t, phase) -> phases.add(phase))
                        .toCompletionStage().toCompletableFuture().get(5, TimeUnit.MINUTES);
                assertTrue(snap.getOk(), snap::toString);
                assertEquals("snapshot", snap.getType());
                Path filesTarget = tmp.resolve("restore/files");
                new FilesRestore(repo, new SecureRandom()).restore(new FilesRestore.Options("app-config", snap.getBackupId(), Optional.empty(),
                        filesTarget, List.of(tmp.resolve("restore")), false), text -> { });
                assertEquals("listen: 8080\n", Files.readString(filesTarget.resolve(etc.toString().substring(1)).resolve("app.yaml")));

                JobResult wrong = runner.run(job("j-3", "cache", "full"), (d, t, phase) -> { })
                        .toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
                assertFalse(wrong.getOk());
                assertEquals("usage", wrong.getError().getCode());
                assertTrue(wrong.getError().getMessage().contains("a redis source takes backups of type rdb"), wrong::toString);
                JobResult unknown = runner.run(job("j-4", "nope", "rdb"), (d, t, phase) -> { })
                        .toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
                assertEquals("not_found", unknown.getError().getCode());
                JobResult drillOfRedis = runner.run(JobRequest.newBuilder().setJobId("j-5").setKind("drill").setSource("cache")
                        .setType("restore").build(), (d, t, phase) -> { }).toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
                assertEquals("usage", drillOfRedis.getError().getCode());
                assertTrue(drillOfRedis.getError().getMessage().contains("drills run for postgres sources"), drillOfRedis::toString);
            }
            assertTrue(phases.contains("bgsave") && phases.contains("scan"), phases::toString);
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
        }
    }
}
