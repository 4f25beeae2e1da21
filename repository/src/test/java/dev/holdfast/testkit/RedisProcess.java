package dev.holdfast.testkit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** A redis-server process on a random loopback port with its dir in a temp directory (tests only), and a tiny RESP client. */
public final class RedisProcess implements AutoCloseable {
    public static final String SERVER = "redis-server";
    public final Path dir;
    public final int port;
    final Process process;

    private RedisProcess(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    /** Starts redis-server with the AOF settings Holdfast expects, plus {@code extra} arguments. */
    public static RedisProcess start(Path dir, String... extra) throws Exception {
        Files.createDirectories(dir);
        Exception last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            List<String> cmd = new ArrayList<>(List.of(SERVER, "--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir", dir.toString(),
                    "--appendonly", "yes", "--appenddirname", "appendonlydir", "--aof-timestamp-enabled", "yes",
                    "--enable-debug-command", "local", "--save", "", "--daemonize", "no",
                    "--logfile", dir.resolve("redis.log").toString()));
            cmd.addAll(List.of(extra));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("redis.out").toFile()).start();
            RedisProcess r = new RedisProcess(dir, port, p);
            try {
                poll(Duration.ofSeconds(30), () -> {
                    if (!p.isAlive()) {
                        throw new IllegalStateException("redis-server exited: " + read(dir.resolve("redis.log")));
                    }
                    try {
                        return "PONG".equals(r.call("PING")) && r.info("persistence").contains("loading:0");
                    } catch (IOException e) {
                        return false;
                    }
                });
                return r;
            } catch (Exception e) {
                last = e;
                r.close();
            }
        }
        throw last;
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    /** Polls {@code condition} until true, or fails after {@code timeout}. */
    public static void poll(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("condition not met within " + timeout);
            }
            Thread.sleep(20);
        }
    }

    /** One command on a new connection. */
    public Object call(String... args) throws IOException {
        try (Client c = client()) {
            return c.call(args);
        }
    }

    public String info(String section) throws IOException {
        return (String) call("INFO", section);
    }

    public String digest() throws IOException {
        return (String) call("DEBUG", "DIGEST");
    }

    /** The server's clock in whole seconds. */
    public long timeSeconds() throws IOException {
        @SuppressWarnings("unchecked")
        List<Object> t = (List<Object>) call("TIME");
        return Long.parseLong((String) t.get(0));
    }

    public Client client() throws IOException {
        return new Client(new Socket(InetAddress.getLoopbackAddress(), port));
    }

    @Override
    public void close() throws Exception {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** A blocking RESP2 client. */
    public static final class Client implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        Client(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        public Object call(String... args) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.UTF_8));
            for (String a : args) {
                byte[] v = a.getBytes(StandardCharsets.UTF_8);
                b.writeBytes(("$" + v.length + "\r\n").getBytes(StandardCharsets.UTF_8));
                b.writeBytes(v);
                b.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
            }
            out.write(b.toByteArray());
            out.flush();
            return reply();
        }

        private String line() throws IOException {
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

        private Object reply() throws IOException {
            int t = in.read();
            String l = line();
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
                        a.add(reply());
                    }
                    return a;
                }
                default:
                    throw new IOException("unexpected reply type " + (char) t);
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
