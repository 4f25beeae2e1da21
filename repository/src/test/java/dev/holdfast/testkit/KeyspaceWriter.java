package dev.holdfast.testkit;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** A thread writing a keyspace of mixed types (strings, hashes, lists, sets, sorted sets, streams, expiring keys, transactions) until stopped. */
public final class KeyspaceWriter implements AutoCloseable {
    private final RedisProcess redis;
    private final String tag;
    private final Thread thread;
    private final AtomicLong ops = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stop;

    public KeyspaceWriter(RedisProcess redis, String tag) {
        this.redis = redis;
        this.tag = tag;
        this.thread = new Thread(this::run, "keyspace-writer-" + tag);
        thread.start();
    }

    private void run() {
        try (RedisProcess.Client c = redis.client()) {
            for (long i = 0; !stop; i++) {
                String n = tag + i;
                c.call("SET", "s:" + n, "v" + i);
                c.call("HSET", "h:" + (i % 50), "f" + n, Long.toString(i));
                c.call("RPUSH", "l:" + (i % 20), n);
                c.call("SADD", "set:" + (i % 20), n);
                c.call("ZADD", "z:" + (i % 20), Long.toString(i % 1000), n);
                c.call("XADD", "st:" + (i % 5), "*", "f", n);
                c.call("SET", "e:" + n, "x", "EX", "3600");
                if (i % 7 == 0) {
                    c.call("MULTI");
                    c.call("INCR", "counter");
                    c.call("LPOP", "l:" + (i % 20));
                    c.call("EXEC");
                }
                if (i % 11 == 0) {
                    c.call("DEL", "s:" + tag + (i / 2));
                }
                ops.incrementAndGet();
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    public long ops() {
        if (failure.get() != null) {
            throw new AssertionError("writer failed", failure.get());
        }
        return ops.get();
    }

    @Override
    public void close() throws Exception {
        stop = true;
        thread.join();
        if (failure.get() != null) {
            throw new AssertionError("writer failed", failure.get());
        }
    }
}
