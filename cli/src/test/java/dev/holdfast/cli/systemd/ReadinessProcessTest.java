package dev.holdfast.cli.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Type=notify} as systemd sees it: {@code bin/holdfast agent run} and {@code controller run}
 * started with {@code NOTIFY_SOCKET} send {@code READY=1} only when they really serve (at the
 * moment the datagram arrives the control socket exists and the TCP listener answers), and
 * {@code STOPPING=1} on SIGTERM before exiting 0.
 */
class ReadinessProcessTest {
    static final Path LAUNCHER = Path.of("..", "bin", "holdfast").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    private Process start(Path notify, String name, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(dir.resolve(name + ".log").toFile()).redirectError(dir.resolve(name + ".err").toFile());
        pb.environment().put("HOLDFAST_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("HOLDFAST_JAVA_OPTS", "-Xmx256m");
        pb.environment().put(SystemdNotify.ENV, notify.toString());
        pb.environment().remove("JOURNAL_STREAM");
        pb.environment().remove("HOLDFAST_CONFIG");
        return pb.start();
    }

    private String logs(String name) {
        try {
            return Files.readString(dir.resolve(name + ".log")) + Files.readString(dir.resolve(name + ".err"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static int cli(String... args) {
        StringWriter out = new StringWriter();
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(out, true));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean tcpAnswers(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void theAgentIsReadyOnlyWithItsSocketsBoundAndSaysStoppingOnSigterm() throws Exception {
        assertEquals(0, cli("keys", "init", "--out", dir.resolve("master.key").toString()));
        Path socket = dir.resolve("run/agent.sock");
        int port = freePort();
        Path cfg = dir.resolve("agent.yaml");
        Files.writeString(cfg, "host: notify-test\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: master.key\n"
                + "control_socket: " + socket + "\nmetrics:\n  listen: 127.0.0.1:" + port + "\n", StandardCharsets.UTF_8);
        assertEquals(0, cli("repo", "init", "--config", cfg.toString()));
        Path notify = dir.resolve("notify");
        try (NotifyReceiver r = new NotifyReceiver(notify.toString())) {
            Process p = start(notify, "agent", "agent", "run", "--config", cfg.toString());
            try {
                String ready = r.next(120, p::isAlive, () -> logs("agent"));
                assertEquals("READY=1\nSTATUS=agent running\n", ready);
                assertTrue(Files.exists(socket), "the control socket is bound when READY=1 arrives");
                assertTrue(tcpAnswers(port), "the metrics listener answers when READY=1 arrives");
                assertTrue(logs("agent").contains("event=agent_started"), () -> logs("agent"));
            } finally {
                p.destroy();
            }
            assertTrue(r.next(60, () -> true, () -> logs("agent")).startsWith("STOPPING=1\n"));
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), () -> logs("agent"));
        }
    }

    @Test
    void theControllerIsReadyOnlyWithItsListenerUp() throws Exception {
        int port = freePort();
        Path cfg = dir.resolve("controller.yaml");
        Files.writeString(cfg, "listen: 127.0.0.1:" + port + "\ndata_dir: " + dir.resolve("ctl") + "\n", StandardCharsets.UTF_8);
        Path notify = dir.resolve("notify");
        try (NotifyReceiver r = new NotifyReceiver(notify.toString())) {
            Process p = start(notify, "controller", "controller", "run", "--config", cfg.toString());
            try {
                assertEquals("READY=1\nSTATUS=controller listening\n", r.next(120, p::isAlive, () -> logs("controller")));
                assertTrue(tcpAnswers(port), "the listener answers when READY=1 arrives");
            } finally {
                p.destroy();
            }
            assertTrue(r.next(60, () -> true, () -> logs("controller")).startsWith("STOPPING=1\n"));
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), () -> logs("controller"));
        }
    }
}
