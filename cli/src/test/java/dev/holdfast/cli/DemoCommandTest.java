package dev.holdfast.cli;

import static dev.holdfast.cli.WalFaultsProcessTest.BIN;
import static dev.holdfast.cli.WalFaultsProcessTest.read;
import static dev.holdfast.cli.WalFaultsProcessTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/holdfast demo} end to end, as a user runs it: a real PostgreSQL, Redis, controller and
 * agent, a backup, a point-in-time restore that is checked, the report; then nothing left running,
 * judged by the pids and ports the demo recorded. And the refusal to wipe a directory it did not
 * create.
 */
class DemoCommandTest {
    Path dir;
    Process demo;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("holdfast-demo-test-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (demo != null && demo.isAlive()) {
            demo.destroy();
            demo.waitFor(3, TimeUnit.MINUTES);
        }
        System.out.println("==== demo output\n" + read(dir.resolve("demo.out")) + "\n==== demo errors\n" + read(dir.resolve("demo.err")));
        for (String log : List.of("controller.log", "controller.err", "agent.log", "agent.err")) {
            System.out.println("==== " + log + "\n" + WalFaultsProcessTest.tail(dir.resolve("demo/logs/" + log)));
        }
        new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor(2, TimeUnit.MINUTES);
    }

    private Process start(String... more) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("holdfast").toString(), "demo", "--dir", dir.resolve("demo").toString()));
        cmd.addAll(List.of(more));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(dir.resolve("demo.out").toFile()).redirectError(dir.resolve("demo.err").toFile());
        pb.environment().put("HOLDFAST_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("HOLDFAST_JAVA_OPTS", "-Xmx256m");
        pb.environment().remove("JOURNAL_STREAM");
        pb.environment().remove("HOLDFAST_CONFIG");
        return pb.start();
    }

    /** The report: the check passed, RPO and RTO measured, the API and the admin token file named. */
    private void assertReport(String out) {
        assertTrue(out.contains("Check: PASSED"), out);
        assertTrue(Pattern.compile("Redis: .*check passed").matcher(out).find(), out);
        Matcher rpo = Pattern.compile("RPO: (\\d+\\.\\d+) s").matcher(out);
        Matcher rto = Pattern.compile("RTO: (\\d+\\.\\d+) s").matcher(out);
        assertTrue(rpo.find() && rto.find(), out);
        assertTrue(Double.parseDouble(rto.group(1)) > 0, out);
        assertTrue(Pattern.compile("API: +https://127\\.0\\.0\\.1:\\d+/api/v1").matcher(out).find(), out);
        assertTrue(out.contains("Admin token file: " + dir.resolve("demo/controller/admin.token")), out);
    }

    /** Every process the demo recorded is gone and its port is closed. */
    private void assertNothingLeft() throws Exception {
        List<String> lines = Files.readAllLines(dir.resolve("demo/processes"));
        List<String> names = lines.stream().map(l -> l.split(" ")[0]).toList();
        assertTrue(names.containsAll(List.of("postgresql", "redis", "controller", "agent", "postgresql-restored", "redis-restored")), lines::toString);
        for (String line : lines) {
            String[] f = line.split(" ");
            long pid = Long.parseLong(f[1]);
            int port = Integer.parseInt(f[2]);
            assertTrue(pid > 0, line);
            waitFor(f[0] + " (pid " + pid + ") to be gone", Duration.ofSeconds(60), () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
            if (port > 0) {
                assertFalse(listening(port), f[0] + " still listens on " + port);
            }
        }
        assertFalse(Files.exists(dir.resolve("demo/postgresql/data/postmaster.pid")), "PostgreSQL stopped cleanly");
        assertFalse(Files.exists(dir.resolve("demo/postgresql/restore/main/postmaster.pid")), "the restored PostgreSQL stopped cleanly");
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void theDemoBacksUpRestoresToAPointInTimeChecksReportsAndLeavesNothingRunning() throws Exception {
        demo = start("--no-wait");
        assertTrue(demo.waitFor(20, TimeUnit.MINUTES), "the demo finishes");
        assertEquals(0, demo.exitValue(), () -> read(dir.resolve("demo.out")) + read(dir.resolve("demo.err")));
        String out = read(dir.resolve("demo.out"));
        assertReport(out);
        assertTrue(out.contains("nothing of the demo is running"), out);
        assertNothingLeft();
    }

    @Test
    void withoutNoWaitItStaysUpUntilSigtermThenStopsEverything() throws Exception {
        demo = start();
        waitFor("the report and the wait", Duration.ofMinutes(20), () -> {
            if (!demo.isAlive()) {
                throw new AssertionError("the demo exited " + demo.exitValue() + ": " + read(dir.resolve("demo.out")) + read(dir.resolve("demo.err")));
            }
            return read(dir.resolve("demo.out")).contains("Press Ctrl-C");
        });
        assertReport(read(dir.resolve("demo.out")));
        demo.destroy(); // SIGTERM, as Ctrl-C's SIGINT: the shutdown hook stops everything
        assertTrue(demo.waitFor(5, TimeUnit.MINUTES), "the demo stops on SIGTERM");
        assertTrue(read(dir.resolve("demo.out")).contains("nothing of the demo is running"), () -> read(dir.resolve("demo.out")));
        assertFalse(read(dir.resolve("demo.out")).contains("A child process"), "stopping on a signal is not reported as a crash");
        assertNothingLeft();
    }

    @Test
    void theDemoRefusesToWipeADirectoryItDidNotCreate() throws Exception {
        Path precious = Files.createDirectory(dir.resolve("precious"));
        Files.writeString(precious.resolve("data"), "keep");
        Cli r = Cli.run("demo", "--no-wait", "--dir", precious.toString());
        assertEquals(5, r.status(), r::toString);
        assertTrue(r.err().contains("not a Holdfast demo directory"), r::toString);
        assertEquals("keep", Files.readString(precious.resolve("data")));
        assertEquals(List.of(precious.resolve("data")), Files.list(precious).toList());
    }
}
