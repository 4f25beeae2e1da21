package dev.holdfast.cli.backup;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.redis.RdbBackup;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;

/** {@code holdfast backup --source NAME [--type rdb]} for a {@code type: redis} source: an RDB snapshot (docs/redis.md). */
final class RedisBackupCommand {
    private RedisBackupCommand() {
    }

    static int run(RepositoryOptions repository, RedisSourceConfig src, String type, boolean json, PrintWriter out) {
        if (!type.equals("rdb") && !type.equals("full")) {
            throw new HoldfastException(ErrorCode.USAGE, "--type for a redis source must be rdb (the AOF is shipped continuously by the agent), not '"
                    + type + "'");
        }
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            RdbBackup.Manifest m = new RdbBackup(repo, Ambient.clock()).run(src, Duration.ofHours(1));
            if (json) {
                ObjectNode n = Json.object();
                n.put("id", m.id()).put("type", "rdb").put("source", m.source()).put("started_at", m.startedAt().toString())
                        .put("finished_at", m.finishedAt().toString()).put("bytes", m.size()).put("sha256", m.sha256());
                out.println(n);
            } else {
                out.println("RDB backup " + m.id() + " of " + m.source() + " complete: " + m.size() + " bytes (BGSAVE at "
                        + java.time.Instant.ofEpochSecond(m.saveTime()) + ")");
            }
            out.flush();
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
