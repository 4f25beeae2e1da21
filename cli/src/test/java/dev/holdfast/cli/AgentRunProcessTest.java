package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/holdfast agent run} as a real process: it starts on a file:// repository, serves
 * {@code /v1/status} on its control socket and {@code /metrics} over TCP, and on SIGTERM stops,
 * removes its socket and exits 0. An invalid configuration exits 3 naming the file and the key.
 * The launcher runs this build's classes ({@code HOLDFAST_CLASSPATH}) instead of building the jar.
 */
class AgentRunProcessTest {
    static final Path LAUNCHER = Path.of("..", "bin", "holdfast").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    private Process start(Path out, Path err, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("HOLDFAST_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().remove("JOURNAL_STREAM");
        pb.environment().remove("HOLDFAST_CONFIG");
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean tcpAnswers(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** One HTTP/1.1 request over a Unix socket, as curl --unix-socket does; returns the whole response. */
    private static String overSocket(Path socket, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (ch.read(buf) >= 0) {
                all.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return all.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void runsServesStatusAndMetricsAndStopsCleanlyOnSigterm() throws Exception {
        assertEquals(0, Cli.run("keys", "init", "--out", dir.resolve("master.key").toString()).status());
        Path socket = dir.resolve("run/agent.sock");
        int port = freePort();
        Path cfg = dir.resolve("agent.yaml");
        Files.writeString(cfg, "host: proc-test\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: master.key\n"
                + "control_socket: " + socket + "\nmetrics:\n  listen: 127.0.0.1:" + port + "\n");
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);

        Path out = dir.resolve("out.log");
        Path err = dir.resolve("err.log");
        Process p = start(out, err, "agent", "run", "--config", cfg.toString());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!(Files.exists(socket) && tcpAnswers(port))) {
                assertTrue(p.isAlive(), () -> "the agent exited early: " + read(out) + read(err));
                assertTrue(System.nanoTime() < deadline, () -> "the agent did not come up: " + read(out) + read(err));
                Thread.sleep(100);
            }
            String status = overSocket(socket, "GET /v1/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            assertTrue(status.startsWith("HTTP/1.1 200"), status);
            assertTrue(status.contains("\"host\":\"proc-test\"") && status.contains("\"sources\":[]"), status);

            HttpResponse<String> metrics = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("\nholdfast_agent_up 1"), metrics::body);
            assertTrue(metrics.body().contains("holdfast_agent_info{host=\"proc-test\","), metrics::body);
            assertTrue(metrics.body().contains("\nholdfast_agent_start_time_seconds "), metrics::body);
        } finally {
            p.destroy(); // SIGTERM
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the agent stopped after SIGTERM");
        assertEquals(0, p.exitValue(), () -> read(out) + read(err));
        assertFalse(Files.exists(socket), "the socket file is removed");
        String log = read(out);
        assertTrue(log.contains("event=agent_started") && log.contains("event=agent_stopped"), log);
    }

    @Test
    void anUnknownKeyExitsThreeNamingTheFileAndTheKey() throws Exception {
        Path cfg = dir.resolve("agent.yaml");
        Files.writeString(cfg, "repository:\n  url: file:///nonexistent\n  key_file: /nonexistent.key\nsources:\n  - name: main\n"
                + "    type: postgres\n    data_dir: /var/lib/postgresql/16/main\n    conninfo: host=/tmp\n    wal:\n      mdoe: stream\n");
        Path out = dir.resolve("out.log");
        Path err = dir.resolve("err.log");
        Process p = start(out, err, "agent", "run", "--config", cfg.toString());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, p.exitValue(), () -> read(out) + read(err));
        String e = read(err);
        assertTrue(e.startsWith("holdfast: config_invalid: " + cfg + ": sources[0].wal.mdoe: unknown key"), e);
        assertEquals(1, e.strip().lines().count(), e);
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
