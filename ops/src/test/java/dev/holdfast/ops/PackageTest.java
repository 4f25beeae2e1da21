package dev.holdfast.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/package --skip-build} (the cli module's jar and target/lib, built by the reactor
 * before this module) writes a tarball and a Debian package; both, unpacked somewhere else, run
 * {@code holdfast --version} with nothing but a Java runtime (no Maven, no checkout), printing the
 * version and the commit the build recorded.
 */
class PackageTest {
    @TempDir
    static Path dir;
    static Path tarball;
    static Path deb;

    @BeforeAll
    static void buildThePackages() throws Exception {
        Proc p = Proc.run(Proc.ROOT, Duration.ofMinutes(10), Proc.ROOT.resolve("bin/package").toString(), "--skip-build",
                "--out", dir.resolve("dist").toString());
        assertEquals(0, p.status(), p::toString);
        List<String> written = p.output().lines().filter(l -> l.startsWith(dir.toString())).toList();
        tarball = written.stream().filter(l -> l.endsWith(".tar.gz")).map(Path::of).findFirst().orElseThrow(() -> new AssertionError(p));
        deb = written.stream().filter(l -> l.endsWith(".deb")).map(Path::of).findFirst().orElseThrow(() -> new AssertionError(p));
    }

    /** The version line the cli jar itself would print: its version and its build.properties commit. */
    private static String expectedVersion() throws Exception {
        Path jar;
        try (Stream<Path> s = Files.list(Proc.ROOT.resolve("cli/target"))) {
            jar = s.filter(f -> f.getFileName().toString().matches("holdfast-cli-.*\\.jar") && !f.toString().contains("tests")
                    && !f.toString().contains("sources")).findFirst().orElseThrow();
        }
        String version = jar.getFileName().toString().replaceAll("^holdfast-cli-(.*)\\.jar$", "$1");
        Proc props = Proc.run(dir, Duration.ofMinutes(1), "unzip", "-p", jar.toString(), "dev/holdfast/cli/build.properties");
        String commit = props.output().strip().replaceFirst("^commit=", "");
        assertTrue(commit.matches("[0-9a-f]{12}(-dirty)?"), props::toString);
        return "holdfast " + version + " (commit " + commit + ")";
    }

    /** Runs an installed launcher with the environment a fresh host has (no test classpath, no Maven). */
    private static Proc version(Path launcher) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("HOLDFAST_CLASSPATH", "");
        env.put("PATH", "/usr/bin:/bin");
        return Proc.run(dir, env, Duration.ofMinutes(2), List.of(launcher.toString(), "--version"));
    }

    @Test
    void theTarballRunsOnItsOwn() throws Exception {
        Path unpacked = Files.createDirectories(dir.resolve("tar"));
        Proc x = Proc.run(dir, Duration.ofMinutes(5), "tar", "-xzf", tarball.toString(), "-C", unpacked.toString());
        assertEquals(0, x.status(), x::toString);
        String name = tarball.getFileName().toString().replace(".tar.gz", "");
        Path home = unpacked.resolve(name);
        for (String f : new String[] {"bin/holdfast", "bin/holdfast-wal-push", "bin/holdfast-wal-fetch"}) {
            assertTrue(Files.isExecutable(home.resolve(f)), f);
        }
        for (String f : new String[] {"systemd/holdfast-agent.service", "systemd/holdfast-controller.service",
                "etc/agent.yaml.example", "etc/controller.yaml.example", "docs/install.md", "VERSION"}) {
            assertTrue(Files.isRegularFile(home.resolve(f)), f);
        }
        assertTrue(Files.list(home.resolve("lib")).anyMatch(f -> f.getFileName().toString().startsWith("holdfast-cli-")));
        assertTrue(Files.notExists(home.resolve("pom.xml")));
        Proc v = version(home.resolve("bin/holdfast"));
        assertEquals(0, v.status(), v::toString);
        assertEquals(expectedVersion(), v.output().lines().findFirst().orElse(""), v::toString);
    }

    @Test
    void theDebianPackageIsWellFormedAndRuns() throws Exception {
        Proc info = Proc.run(dir, Duration.ofMinutes(2), "dpkg-deb", "--info", deb.toString());
        assertEquals(0, info.status(), info::toString);
        assertTrue(info.output().contains(" Package: holdfast\n"), info::toString);
        assertTrue(info.output().contains(" Depends: default-jre-headless (>= 2:1.17) | java17-runtime-headless"), info::toString);
        for (String script : new String[] {"postinst", "prerm", "postrm"}) {
            assertTrue(info.output().contains(script), script);
        }
        Proc contents = Proc.run(dir, Duration.ofMinutes(2), "dpkg-deb", "--contents", deb.toString());
        for (String f : new String[] {"./lib/systemd/system/holdfast-agent.service", "./lib/systemd/system/holdfast-controller.service",
                "./usr/lib/holdfast/bin/holdfast-wal-push", "./usr/bin/holdfast -> ../lib/holdfast/bin/holdfast"}) {
            assertTrue(contents.output().contains(f), () -> f + "\n" + contents);
        }
        assertTrue(contents.output().lines().allMatch(l -> l.contains(" root/root ")), "every file belongs to root");
        Path root = Files.createDirectories(dir.resolve("debroot"));
        Proc x = Proc.run(dir, Duration.ofMinutes(5), "dpkg-deb", "-x", deb.toString(), root.toString());
        assertEquals(0, x.status(), x::toString);
        Proc v = version(root.resolve("usr/bin/holdfast"));
        assertEquals(0, v.status(), v::toString);
        assertEquals(expectedVersion(), v.output().lines().findFirst().orElse(""), v::toString);
        Path scripts = Files.createDirectories(dir.resolve("control"));
        assertEquals(0, Proc.run(dir, Duration.ofMinutes(1), "dpkg-deb", "-e", deb.toString(), scripts.toString()).status());
        for (String script : new String[] {"postinst", "prerm", "postrm"}) {
            Proc n = Proc.run(dir, Duration.ofMinutes(1), "sh", "-n", scripts.resolve(script).toString());
            assertEquals(0, n.status(), () -> script + ": " + n);
        }
    }
}
