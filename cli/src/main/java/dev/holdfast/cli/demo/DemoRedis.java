package dev.holdfast.cli.demo;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The demo's redis-server: its own directory, a loopback port, the AOF settings the agent ships
 * ({@code appendonly yes}, {@code aof-timestamp-enabled yes}), no RDB snapshots; and a tiny RESP
 * client for the load and for {@code SHUTDOWN}.
 */
final class DemoRedis {
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
                return "PONG".equals(r.call("PING")) && String.valueOf(r.call("INFO", "persistence")).contains("loading:0");
            } catch (IOException e) {
                return false;
            }
        });
        return r;
    }

    /** Writes {@code count} keys (strings, a counter, a list) in pipelined batches; returns the keys' prefix. */
    void load(String prefix, int count) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            int batch = 200;
            for (int i = 0; i < count; i += batch) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                int n = Math.min(batch, count - i);
                for (int j = i; j < i + n; j++) {
                    int k = j % 3;
                    if (k == 0) {
                        encode(b, "SET", prefix + ":item:" + j, "value-" + j);
                    } else if (k == 1) {
                        encode(b, "INCRBY", prefix + ":counter", Integer.toString(j));
                    } else {
                        encode(b, "RPUSH", prefix + ":events", "event-" + j);
                    }
                }
                out.write(b.toByteArray());
                out.flush();
                for (int j = 0; j < n; j++) {
                    reply(in);
                }
            }
        }
    }

    /** One command on a new connection. */
    Object call(String... args) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(30_000);
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            encode(b, args);
            s.getOutputStream().write(b.toByteArray());
            s.getOutputStream().flush();
            return reply(new BufferedInputStream(s.getInputStream()));
        }
    }

    /** {@code SHUTDOWN} (the AOF is already on disk; nothing else to save), then waits for the process; kills it if it lingers. */
    void stop() throws InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        try {
            call("SHUTDOWN", "NOSAVE");
        } catch (IOException e) {
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

    private static void encode(ByteArrayOutputStream b, String... args) {
        b.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.UTF_8));
        for (String a : args) {
            byte[] v = a.getBytes(StandardCharsets.UTF_8);
            b.writeBytes(("$" + v.length + "\r\n").getBytes(StandardCharsets.UTF_8));
            b.writeBytes(v);
            b.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder s = new StringBuilder();
        int c;
        while ((c = in.read()) != '\r') {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            s.append((char) c);
        }
        in.read();
        return s.toString();
    }

    private static Object reply(InputStream in) throws IOException {
        int t = in.read();
        if (t < 0) {
            throw new IOException("connection closed");
        }
        String l = line(in);
        switch (t) {
            case '+':
                return l;
            case '-':
                throw new IOException("redis error: " + l);
            case ':':
                return Long.parseLong(l);
            case '$': {
                int n = Integer.parseInt(l);
                if (n < 0) {
                    return null;
                }
                byte[] v = in.readNBytes(n + 2);
                return new String(v, 0, n, StandardCharsets.UTF_8);
            }
            case '*': {
                int n = Integer.parseInt(l);
                List<Object> a = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    a.add(reply(in));
                }
                return a;
            }
            default:
                throw new IOException("unexpected reply type " + (char) t);
        }
    }
}
