package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code holdfast --version} prints the build commit that the build recorded (git describe). */
class VersionTest {
    @Test
    void versionNamesTheCommitThisWasBuiltFrom() throws Exception {
        Cli v = Cli.run("--version");
        assertEquals(0, v.status(), v::toString);
        String head = git("rev-parse", "--short=12", "HEAD");
        if (!head.matches("[0-9a-f]{12}")) {
            // Built outside a git checkout (or git refuses this one): the build says so.
            assertEquals("unknown", Version.commit(), v::toString);
            return;
        }
        // git describe --always --dirty --abbrev=12 --exclude='*': the abbreviated commit, "-dirty"
        // when the working tree had changes; it names a real commit of this checkout.
        assertTrue(v.out().matches("(?s)holdfast \\S+ \\(commit [0-9a-f]{12}(-dirty)?\\)\nJava .*"), v::toString);
        String commit = Version.commit().replace("-dirty", "");
        assertEquals("commit", git("cat-file", "-t", commit), commit);
    }

    private static String git(String... args) throws IOException, InterruptedException {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("git"));
        cmd.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return out;
    }
}
