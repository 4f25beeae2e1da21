package dev.holdfast.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * systemd/*.service checked by systemd itself: {@code systemd-analyze verify} reports nothing, and
 * {@code systemd-analyze security --offline=true} scores the agent (and the controller) at most
 * 4.0 ("OK"). verify also checks that ExecStart= names an executable; the units name
 * /usr/bin/holdfast (the package's), so the check runs on copies that name this checkout's
 * bin/holdfast instead, everything else unchanged.
 */
class SystemdUnitsTest {
    static final Path UNITS = Proc.ROOT.resolve("systemd");
    static final String[] NAMES = {"holdfast-agent.service", "holdfast-controller.service"};

    @TempDir
    Path dir;

    private Path asInstalledHere(String name) throws Exception {
        String unit = Files.readString(UNITS.resolve(name), StandardCharsets.UTF_8);
        assertTrue(unit.contains("ExecStart=/usr/bin/holdfast "), name);
        Path copy = dir.resolve(name);
        Files.writeString(copy, unit.replace("ExecStart=/usr/bin/holdfast ", "ExecStart=" + Proc.ROOT.resolve("bin/holdfast") + " "));
        return copy;
    }

    @Test
    void systemdAnalyzeVerifyReportsNothing() throws Exception {
        for (String name : NAMES) {
            Proc v = Proc.run(dir, Duration.ofMinutes(2), "systemd-analyze", "verify", "--man=no", asInstalledHere(name).toString());
            assertEquals(0, v.status(), v::toString);
            assertEquals("", v.output().strip(), () -> name + ": " + v);
        }
    }

    @Test
    void verifyWouldReportAMistake() throws Exception {
        // The check above is only worth something if verify speaks up: a misspelt value is reported.
        Path unit = asInstalledHere(NAMES[0]);
        Files.writeString(unit, Files.readString(unit).replace("Type=notify", "Type=notifyy"));
        Proc v = Proc.run(dir, Duration.ofMinutes(2), "systemd-analyze", "verify", "--man=no", unit.toString());
        assertTrue(v.output().contains("notifyy"), v::toString);
    }

    @Test
    void securityScoresAreOkOrBetter() throws Exception {
        Pattern overall = Pattern.compile("Overall exposure level for (\\S+): (\\d+\\.\\d) (\\S+)");
        for (String name : NAMES) {
            Proc s = Proc.run(dir, Duration.ofMinutes(2), "systemd-analyze", "security", "--offline=true", "--no-pager",
                    asInstalledHere(name).toString());
            Matcher m = overall.matcher(s.output());
            assertTrue(m.find(), s::toString);
            double score = Double.parseDouble(m.group(2));
            System.out.println("systemd-analyze security: " + m.group(1) + " " + m.group(2) + " " + m.group(3));
            assertTrue(score <= 4.0, () -> name + " scores " + score + " (must be <= 4.0):\n" + s.output());
        }
    }

    @Test
    void theUnitsCarryTheContract() throws Exception {
        for (String name : NAMES) {
            String unit = Files.readString(UNITS.resolve(name));
            for (String line : new String[] {"Type=notify", "Restart=on-failure", "RestartSec=", "StartLimitIntervalSec=",
                    "StartLimitBurst=", "User=holdfast", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=",
                    "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
                    "-XX:+ExitOnOutOfMemoryError"}) {
                assertTrue(unit.contains(line), () -> name + " lacks " + line.strip());
            }
        }
        String agent = Files.readString(UNITS.resolve(NAMES[0]));
        assertTrue(agent.contains("RuntimeDirectory=holdfast\n") && agent.contains("ReadWritePaths=/var/lib/holdfast /run/holdfast\n"), agent);
        assertTrue(agent.contains("-Xmx512m -XX:+UseSerialGC"), "the agent's heap cap and its one GC");
    }
}
