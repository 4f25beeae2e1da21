package dev.holdfast.agent.redis;

import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.StoreException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * RDB snapshots of a Redis source (docs/format.md section 13.2): {@code BGSAVE} through Lettuce,
 * completion read from {@code INFO persistence} (polled against a deadline, never a fixed sleep),
 * then the RDB file sealed into the repository with its manifest written last. Blocking.
 */
public final class RdbBackup {
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final Pattern ID = Pattern.compile("[0-9]{8}T[0-9]{6}Z-rdb(-[0-9]{1,4})?");

    private final Repository repo;
    private final Clock clock;

    public RdbBackup(Repository repo, Clock clock) {
        this.repo = repo;
        this.clock = clock;
    }

    /** A stored snapshot's manifest. */
    public record Manifest(String id, String source, Instant startedAt, Instant finishedAt, long saveTime, long size, String sha256,
                           String redisVersion) {
        byte[] toJson() {
            return new JsonObject().put("format", 1).put("id", id).put("type", "rdb").put("source", source)
                    .put("started_at", startedAt.toString()).put("finished_at", finishedAt.toString()).put("rdb_last_save_time", saveTime)
                    .put("size", size).put("sha256", sha256).put("redis_version", redisVersion).encode().getBytes(StandardCharsets.UTF_8);
        }

        static Manifest parse(byte[] json, String what) {
            try {
                JsonObject o = new JsonObject(new String(json, StandardCharsets.UTF_8));
                if (o.getInteger("format") > 1) {
                    throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, what + " has format " + o.getInteger("format") + "; this build reads 1");
                }
                return new Manifest(o.getString("id"), o.getString("source"), Instant.parse(o.getString("started_at")),
                        Instant.parse(o.getString("finished_at")), o.getLong("rdb_last_save_time"), o.getLong("size"), o.getString("sha256"),
                        o.getString("redis_version"));
            } catch (HoldfastException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " is not a valid RDB manifest: " + e.getMessage());
            }
        }
    }

    public static String prefix(String source) {
        return "redis/" + new AofLayout(source).source() + "/rdb/";
    }

    /** Takes a snapshot: see the class comment. {@code timeout} bounds the wait for BGSAVE. */
    public Manifest run(RedisSourceConfig src, Duration timeout) throws IOException {
        Instant started = clock.instant();
        Instant deadline = started.plus(timeout);
        RedisClient client = RedisClient.create(RedisSourceConfig.checkUri(src.name(), src.uri()));
        try (StatefulRedisConnection<String, String> conn = client.connect()) {
            RedisCommands<String, String> redis = conn.sync();
            Map<String, String> before = waitIdle(redis, deadline);
            long savesBefore = Long.parseLong(before.getOrDefault("rdb_saves", "-1"));
            long saveTimeBefore = Long.parseLong(before.get("rdb_last_save_time"));
            while (true) {
                try {
                    redis.bgsave();
                    break;
                } catch (RedisException e) {
                    // another fork (an AOF rewrite, a save) started in between: wait for it and ask again
                    if (!String.valueOf(e.getMessage()).contains("progress") || clock.instant().isAfter(deadline)) {
                        throw new HoldfastException(ErrorCode.SOURCE_ERROR, "BGSAVE on redis source " + src.name() + " failed: " + e.getMessage());
                    }
                    waitIdle(redis, deadline);
                }
            }
            Map<String, String> after;
            while (true) {
                after = info(redis);
                boolean idle = "0".equals(after.get("rdb_bgsave_in_progress"));
                long saves = Long.parseLong(after.getOrDefault("rdb_saves", "-1"));
                long saveTime = Long.parseLong(after.get("rdb_last_save_time"));
                boolean newer = savesBefore >= 0 ? saves > savesBefore && saveTime >= saveTimeBefore : saveTime > saveTimeBefore;
                if (idle && newer) {
                    break;
                }
                if (idle && !"ok".equals(after.get("rdb_last_bgsave_status"))) {
                    throw new HoldfastException(ErrorCode.SOURCE_ERROR, "BGSAVE on redis source " + src.name() + " failed (rdb_last_bgsave_status:"
                            + after.get("rdb_last_bgsave_status") + "); see the Redis log");
                }
                pause(deadline, "BGSAVE to finish");
            }
            if (!"ok".equals(after.get("rdb_last_bgsave_status"))) {
                throw new HoldfastException(ErrorCode.SOURCE_ERROR, "BGSAVE on redis source " + src.name() + " failed (rdb_last_bgsave_status:"
                        + after.get("rdb_last_bgsave_status") + ")");
            }
            String dbfilename = configValue(redis, "dbfilename").orElse("dump.rdb");
            if (dbfilename.contains("/")) {
                throw new HoldfastException(ErrorCode.SOURCE_ERROR, "dbfilename '" + dbfilename + "' of redis source " + src.name() + " is not a plain file name");
            }
            Optional<String> redisDir = configValue(redis, "dir");
            if (redisDir.isPresent() && !sameDir(Path.of(redisDir.get()), src.dir())) {
                throw new HoldfastException(ErrorCode.SOURCE_MISMATCH, "redis source " + src.name() + ": Redis saves into " + redisDir.get()
                        + ", the configured dir is " + src.dir() + " (set dir to Redis's dir)");
            }
            Path file = src.dir().resolve(dbfilename);
            String version = info(redis, "server").getOrDefault("redis_version", "unknown");
            return store(src.name(), file, started, Long.parseLong(after.get("rdb_last_save_time")), version);
        } finally {
            client.shutdown();
        }
    }

    private Manifest store(String source, Path file, Instant started, long saveTime, String version) throws IOException {
        String base = ID_TIME.format(started) + "-rdb";
        // opened once: a later BGSAVE renames a new file over the name, this descriptor keeps reading ours
        try (InputStream in = Files.newInputStream(file)) {
            long size = Files.size(file);
            for (int n = 1; n < 1000; n++) {
                String id = n == 1 ? base : base + "-" + n;
                ObjectKey data = ObjectKey.of(prefix(source) + id + "/dump.rdb");
                if (Futures.await(repo.store().head(ObjectKey.of(prefix(source) + id + "/manifest"))).isPresent()
                        || Futures.await(repo.store().head(data)).isPresent()) {
                    continue;
                }
                Footer footer = repo.put(data, in, true);
                if (footer.plaintextLength() != size) {
                    throw new HoldfastException(ErrorCode.SOURCE_ERROR, file + " changed size while it was read");
                }
                Manifest m = new Manifest(id, source, started, clock.instant(), saveTime, size,
                        HexFormat.of().formatHex(footer.sha256().orElseThrow()), version);
                repo.put(ObjectKey.of(prefix(source) + id + "/manifest"), new ByteArrayInputStream(m.toJson()), true);
                return m;
            }
            throw new HoldfastException(ErrorCode.OBJECT_EXISTS, "too many RDB backups of " + source + " in one second");
        } catch (NoSuchFileException e) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "the RDB file " + file + " does not exist after BGSAVE: is the source's dir Redis's dir?");
        }
    }

    /** Waits until no fork runs (a BGSAVE or AOF rewrite), returns INFO persistence. */
    private Map<String, String> waitIdle(RedisCommands<String, String> redis, Instant deadline) {
        while (true) {
            Map<String, String> i = info(redis);
            if ("0".equals(i.get("rdb_bgsave_in_progress")) && !"1".equals(i.get("aof_rewrite_in_progress"))) {
                return i;
            }
            pause(deadline, "a running BGSAVE or AOF rewrite to finish");
        }
    }

    private void pause(Instant deadline, String what) {
        if (clock.instant().isAfter(deadline)) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "timed out waiting for " + what);
        }
        try {
            Thread.sleep(50); // polling interval of INFO persistence, bounded by the deadline
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "interrupted waiting for " + what);
        }
    }

    private static Map<String, String> info(RedisCommands<String, String> redis) {
        return info(redis, "persistence");
    }

    private static Map<String, String> info(RedisCommands<String, String> redis, String section) {
        Map<String, String> m = new HashMap<>();
        for (String line : redis.info(section).split("\r?\n")) {
            int c = line.indexOf(':');
            if (c > 0 && !line.startsWith("#")) {
                m.put(line.substring(0, c), line.substring(c + 1).strip());
            }
        }
        return m;
    }

    private static boolean sameDir(Path a, Path b) {
        try {
            return a.toRealPath().equals(b.toRealPath());
        } catch (IOException e) {
            return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        }
    }

    private static Optional<String> configValue(RedisCommands<String, String> redis, String key) {
        try {
            return Optional.ofNullable(redis.configGet(key).get(key));
        } catch (RedisException e) {
            return Optional.empty(); // CONFIG renamed or disabled: Redis's default
        }
    }

    /** The manifest of backup {@code id} ({@code latest}: the newest). */
    public Manifest find(String source, String id) {
        String prefix = prefix(source);
        List<String> ids = Futures.await(repo.store().listAll(prefix)).stream().map(o -> o.key().value().substring(prefix.length()))
                .filter(n -> n.endsWith("/manifest")).map(n -> n.substring(0, n.length() - "/manifest".length()))
                .filter(n -> ID.matcher(n).matches()).sorted((a, b) -> compareIds(a, b)).toList();
        if (ids.isEmpty()) {
            throw new HoldfastException(ErrorCode.NOT_FOUND, "no RDB backup of source " + source + " in the repository");
        }
        String chosen = id.equals("latest") ? ids.get(ids.size() - 1) : id;
        if (!ids.contains(chosen)) {
            throw new HoldfastException(ErrorCode.NOT_FOUND, "no RDB backup " + id + " of source " + source + " (have " + ids + ")");
        }
        ObjectKey key = ObjectKey.of(prefix + chosen + "/manifest");
        try (InputStream in = repo.open(key)) {
            Manifest m = Manifest.parse(in.readAllBytes(), "object '" + key + "'");
            if (!m.id().equals(chosen) || !m.source().equals(source)) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "object '" + key + "' names another backup");
            }
            return m;
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int compareIds(String a, String b) {
        int c = a.substring(0, 16).compareTo(b.substring(0, 16));
        return c != 0 ? c : Integer.compare(suffix(a), suffix(b));
    }

    private static int suffix(String id) {
        int i = id.indexOf("-rdb-");
        return i < 0 ? 1 : Integer.parseInt(id.substring(i + 5));
    }

    /** The data object of a backup. */
    public static ObjectKey data(Manifest m) {
        return ObjectKey.of(prefix(m.source()) + m.id() + "/dump.rdb");
    }
}
