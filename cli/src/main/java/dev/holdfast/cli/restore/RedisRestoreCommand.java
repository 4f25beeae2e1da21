package dev.holdfast.cli.restore;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.redis.AofRestore;
import dev.holdfast.agent.redis.RdbRestore;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * {@code holdfast restore --source NAME --target DIR [--to-time T]} for a {@code type: redis}
 * source: rebuilds {@code DIR/appendonlydir} from the AOF in the repository (docs/redis.md).
 * Called by {@link RestoreCommand} once it has seen the source is a Redis one.
 */
final class RedisRestoreCommand {
    private RedisRestoreCommand() {
    }

    static int run(RepositoryOptions repository, AgentConfig config, String source, String type, String backup, Path target, String toTime,
                   boolean overwrite, boolean json, PrintWriter out) {
        if (target == null) {
            throw new HoldfastException(ErrorCode.USAGE, "--target DIR is required (the directory to restore appendonlydir or dump.rdb into)");
        }
        if (type.equals("rdb")) {
            if (toTime != null) {
                throw new HoldfastException(ErrorCode.USAGE, "--to-time goes with the AOF (--type aof), not an RDB snapshot: pick one with --backup ID");
            }
            return rdb(repository, config, source, backup, target, overwrite, json, out);
        }
        if (!type.equals("base") && !type.equals("aof")) {
            throw new HoldfastException(ErrorCode.USAGE, "--type for a redis source must be aof (the default) or rdb, not '" + type + "'");
        }
        Optional<Instant> to = Optional.empty();
        if (toTime != null) {
            try {
                to = Optional.of(OffsetDateTime.parse(toTime).toInstant());
            } catch (DateTimeParseException e) {
                throw new HoldfastException(ErrorCode.USAGE, "--to-time must be an RFC 3339 time such as 2026-11-24T06:00:00Z, not '" + toTime + "'");
            }
        }
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            AofRestore.Result r = new AofRestore(repo, Ambient.random()).restore(new AofRestore.Options(source, target,
                    config.restore().allowedTargets(), overwrite, to));
            String asOf = r.lastTimestamp().isPresent() ? Instant.ofEpochSecond(r.lastTimestamp().getAsLong()).toString() : null;
            if (json) {
                ObjectNode n = Json.object();
                n.put("restored", "aof").put("source", source).put("epoch", r.epoch()).put("target", r.appendonlydir().toString())
                        .put("bytes", r.bytes()).put("incr_files", r.incrFiles()).put("commands", r.commands()).put("cut", r.cut())
                        .put("partial_tail_dropped", r.partialTail()).put("hole", r.hole()).put("to_time", to.map(Instant::toString).orElse(null))
                        .put("last_timestamp", asOf).put("complete", r.complete()).put("hole_at", r.holeAt().orElse(null));
                if (!r.complete()) {
                    n.put("warning", warning(r, to));
                }
                out.println(n);
            } else {
                out.println("restored the AOF of " + source + " (epoch " + r.epoch() + ", " + r.incrFiles() + " incr files, " + r.commands()
                        + " commands" + (asOf != null ? ", last timestamp " + asOf : "") + ") into " + r.appendonlydir()
                        + "; start redis-server with --dir " + r.appendonlydir().getParent() + " --appendonly yes --appenddirname appendonlydir");
                if (!r.complete()) {
                    out.println("WARNING: " + warning(r, to));
                }
            }
            out.flush();
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Why the restored state may be older than asked (exit status stays 0: the restore itself is sound). */
    static String warning(AofRestore.Result r, Optional<Instant> to) {
        if (r.hole()) {
            return "the stored AOF has a hole: the restore ends at " + r.holeAt().orElse("the hole")
                    + " (stored bytes after it, and later incr files, cannot be used); the state is incomplete";
        }
        String last = r.lastTimestamp().isPresent() ? Instant.ofEpochSecond(r.lastTimestamp().getAsLong()).toString() : "none";
        return "the stored AOF does not reach " + to.map(Instant::toString).orElse("the requested time") + ": its last timestamp is "
                + last + " (the agent may not have shipped the rest yet, or nothing was written since)";
    }

    private static int rdb(RepositoryOptions repository, AgentConfig config, String source, String backup, Path target, boolean overwrite,
                           boolean json, PrintWriter out) {
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            RdbRestore.Result r = new RdbRestore(repo).restore(source, backup, target, config.restore().allowedTargets(), overwrite);
            if (json) {
                ObjectNode n = Json.object();
                n.put("restored", r.backup().id()).put("type", "rdb").put("source", source).put("target", r.file().toString())
                        .put("bytes", r.backup().size()).put("sha256", r.backup().sha256());
                out.println(n);
            } else {
                out.println("restored RDB backup " + r.backup().id() + " of " + source + " as " + r.file() + " (" + r.backup().size()
                        + " bytes, SHA-256 checked); start redis-server with --dir " + r.file().getParent() + " --dbfilename dump.rdb --appendonly no");
            }
            out.flush();
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
