package dev.holdfast.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/**
 * {@code holdfast --version}: the version and build commit recorded at build time.
 *
 * <p>The version comes from the jar manifest (Implementation-Version); the commit from
 * {@code build.properties}, which the cli module's build writes from {@code git describe --always
 * --dirty} (see cli/pom.xml). Run from classes without a manifest the version is "development";
 * without the resource the commit is "unknown".
 */
public final class Version implements CommandLine.IVersionProvider {
    private static final String BUILD_PROPERTIES = "build.properties";

    /** The project version, from the jar manifest (or "development" when run from classes). */
    public static String version() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "development" : v;
    }

    /** The commit this build was made from ({@code git describe}), or "unknown". */
    public static String commit() {
        try (InputStream in = Version.class.getResourceAsStream(BUILD_PROPERTIES)) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            String c = p.getProperty("commit", "").strip();
            return c.isEmpty() ? "unknown" : c;
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Override
    public String[] getVersion() {
        return new String[] {"holdfast " + version() + " (commit " + commit() + ")", "Java " + System.getProperty("java.version")};
    }
}
