package dev.holdfast.cli.demo;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The demo directory: recreated on each run, but only when an earlier demo created it (its marker
 * file); and where PostgreSQL's part of it lives.
 */
final class DemoDirectory {
    static final String MARKER = ".holdfast-demo";
    /** The prefix of a private directory for the PostgreSQL part, when the postgres user cannot reach the demo directory. */
    static final String EXTERNAL_PREFIX = "holdfast-demo-pg-";

    private DemoDirectory() {
    }

    /**
     * Where PostgreSQL's part lives: {@code ROOT/postgresql}, handed to the server's user, when that
     * user can reach it; else a private directory under the temporary directory, linked as
     * {@code ROOT/postgresql} and removed by the next run. Also when the socket path would exceed
     * the 107 bytes a Unix socket address allows.
     */
    static Path postgresHome(Tools tools, Path root) throws IOException {
        Path inside = root.resolve("postgresql");
        Files.createDirectories(inside);
        Files.setPosixFilePermissions(inside, PosixFilePermissions.fromString("rwxr-xr-x"));
        tools.chownToPostgres(inside);
        if (tools.postgresCanReach(inside) && inside.resolve("run/agent.sock").toString().length() < 100
                && inside.resolve(".s.PGSQL.65535.lock").toString().length() < 100) {
            return inside;
        }
        Files.delete(inside);
        Path outside = Files.createTempDirectory(EXTERNAL_PREFIX);
        Files.setPosixFilePermissions(outside, PosixFilePermissions.fromString("rwxr-xr-x"));
        tools.chownToPostgres(outside);
        Files.createSymbolicLink(inside, outside);
        return outside;
    }

    /** {@code output_exists} for an existing directory without the demo's marker file: it is not the demo's to wipe. */
    static void refuseForeign(Path root) {
        if (Files.exists(root, LinkOption.NOFOLLOW_LINKS) && !Files.exists(root.resolve(MARKER), LinkOption.NOFOLLOW_LINKS)) {
            throw new HoldfastException(ErrorCode.OUTPUT_EXISTS, root + " exists and is not a Holdfast demo directory; choose another --dir");
        }
    }

    /**
     * Empties the demo directory of an earlier run (stopping a PostgreSQL that run left behind),
     * or creates it; refuses ({@code output_exists}) a directory without the demo's marker file.
     */
    static Path prepare(Tools tools, Path root) throws IOException {
        refuseForeign(root);
        if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            Path pgLink = root.resolve("postgresql");
            Path pgHome = Files.isSymbolicLink(pgLink) ? Files.readSymbolicLink(pgLink) : pgLink;
            for (Path data : List.of(pgHome.resolve("data"), pgHome.resolve("restore/main"))) {
                if (tools != null && Files.exists(data.resolve("postmaster.pid"))) {
                    Tools.run(tools.asPostgres(List.of(tools.pg("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "stop")));
                }
            }
            deleteTree(root);
            if (pgHome != pgLink && pgHome.getFileName().toString().startsWith(EXTERNAL_PREFIX)) {
                deleteTree(pgHome);
            }
        }
        Files.createDirectories(root);
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(root.resolve(MARKER), "created by holdfast demo; deleted and recreated by the next run\n", StandardCharsets.UTF_8);
        return root;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
