package dev.holdfast.cli.demo;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The demo's redis-server: its own directory, a loopback port, the AOF settings the agent ships
 * ({@code appendonly yes}, {@code aof-timestamp-enabled yes}), no RDB snapshots; spoken to with
 * Lettuce (the client the agent uses), one connection at a time.
 */
final class DemoRedis {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private final Path dir;
    private final int port;
    private final Process process;

    private DemoRedis(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    /** Starts the server and returns once it answers PING and has loaded; the caller registers it for stopping. */
    static DemoRedis start(Tools tools, Path dir, int port, Waiter waiter) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        List<String> cmd = List.of(tools.redis().toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir", dir.toString(),
                "--appendonly", "yes", "--appenddirname", "appendonlydir", "--aof-timestamp-enabled", "yes", "--save", "",
                "--daemonize", "no", "--protected-mode", "yes", "--logfile", dir.resolve("redis.log").toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("redis.out").toFile()).start();
        DemoRedis r = new DemoRedis(dir, port, p);
        waiter.until("redis-server to answer on port " + port, () -> {
            if (!p.isAlive()) {
                throw new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "redis-server exited " + p.exitValue() + "; see " + dir.resolve("redis.log"));
            }
            try {
                return r.with(c -> "PONG".equals(c.ping()) && c.info("persistence").contains("loading:0"));
            } catch (RedisException e) {
                return false;
            }
        });
        return r;
    }

    /** Writes {@code count} keys (strings, a counter, a list) pipelined in batches of 200. */
    void load(String prefix, int count) {
        with(c -> {
            StatefulRedisConnection<String, String> conn = c.getStatefulConnection();
            RedisAsyncCommands<String, String> a = conn.async();
            conn.setAutoFlushCommands(false);
            int batch = 200;
            for (int i = 0; i < count; i += batch) {
                List<RedisFuture<?>> sent = new ArrayList<>();
                for (int j = i; j < Math.min(count, i + batch); j++) {
                    int k = j % 3;
                    sent.add(k == 0 ? a.set(prefix + ":item:" + j, "value-" + j)
                            : k == 1 ? a.incrby(prefix + ":counter", j) : a.rpush(prefix + ":events", "event-" + j));
                }
                conn.flushCommands();
                if (!LettuceFutures.awaitAll(TIMEOUT, sent.toArray(new RedisFuture<?>[0]))) {
                    throw new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "redis-server on port " + port + " did not take the demo's writes within "
                            + TIMEOUT);
                }
            }
            return null;
        });
    }

    /** Sets one key. */
    void set(String key, String value) {
        with(c -> c.set(key, value));
    }

    /**
     * What the restore check compares: the number of keys, the counter and the list length written
     * last ({@code after}), and {@code demo:last-write}.
     */
    List<String> fingerprint() {
        return with(c -> List.of(String.valueOf(c.dbsize()), String.valueOf(c.get("after:counter")),
                String.valueOf(c.llen("after:events")), String.valueOf(c.get("demo:last-write"))));
    }

    /** {@code SHUTDOWN NOSAVE} (the AOF is already on disk; nothing else to save), then waits for the process; kills it if it lingers. */
    void stop() throws InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        try {
            with(c -> {
                c.shutdown(false);
                return null;
            });
        } catch (RedisException e) {
            // the connection closes as the server exits; or it is gone already
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    long pid() {
        return process.pid();
    }

    int port() {
        return port;
    }

    Path dir() {
        return dir;
    }

    /** Runs {@code f} on a fresh connection (no reconnects: a server that went away is an error), then closes the client. */
    private <T> T with(java.util.function.Function<RedisCommands<String, String>, T> f) {
        RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(TIMEOUT).build());
        client.setOptions(ClientOptions.builder().autoReconnect(false).build());
        try (StatefulRedisConnection<String, String> conn = client.connect()) {
            return f.apply(conn.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
