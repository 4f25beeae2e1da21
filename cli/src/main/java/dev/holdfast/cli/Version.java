package dev.holdfast.cli;

import picocli.CommandLine;

/** {@code holdfast --version}: the version and build commit recorded at build time. */
public final class Version implements CommandLine.IVersionProvider {
    /** The project version, from the jar manifest (or "development" when run from classes). */
    public static String version() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "development" : v;
    }

    @Override
    public String[] getVersion() {
        return new String[] {"holdfast " + version(), "Java " + System.getProperty("java.version")};
    }
}
