package dev.holdfast.agent.postgres.restore;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * PostgreSQL's {@code restore_command} for a restored copy: this installation's
 * {@code holdfast-wal-fetch} hook (beside {@code bin/holdfast}, found through the
 * {@code holdfast.home} system property that the launcher sets; else from {@code PATH}), through
 * the agent's control socket, with the agent's configuration, source and system identifier.
 * Shared by {@code holdfast restore}, granted restores and drills, so that a copy restored any way
 * fetches its WAL the same way.
 */
public final class WalFetchHook {
    private WalFetchHook() {
    }

    /** The command, with PostgreSQL's {@code %f %p} placeholders; every word quoted for sh where needed. */
    public static String command(Path controlSocket, Path configFile, String source, String systemId) {
        String home = System.getProperty("holdfast.home");
        String hook = home != null && Files.isExecutable(Path.of(home, "bin", "holdfast-wal-fetch"))
                ? Path.of(home, "bin", "holdfast-wal-fetch").toString() : "holdfast-wal-fetch";
        return sh(hook) + " --socket " + sh(controlSocket.toAbsolutePath().toString()) + " --config "
                + sh(configFile.toAbsolutePath().toString()) + " --source " + sh(source) + " --system-id " + sh(systemId) + " %f %p";
    }

    /** A word for sh: as is when it holds only safe characters, else single-quoted. */
    public static String sh(String word) {
        return word.matches("[A-Za-z0-9_./:=@+-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }
}
