package dev.holdfast.agent.postgres.replication;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libpq's password file ({@code .pgpass}): lines {@code hostname:port:database:username:password},
 * {@code #} comments, {@code \:} and {@code \\} escapes, {@code *} matching anything in the first
 * four fields, first match wins.
 *
 * <p>As in libpq: a connection over a Unix socket matches the host {@code localhost} (and, here,
 * also the socket directory itself); a physical replication connection matches the database
 * {@code replication}; a file readable or writable by group or others is ignored with a warning.
 * Reading a file blocks: call from a worker, not an event loop.
 */
final class PgPass {
    private static final Logger LOG = LoggerFactory.getLogger(PgPass.class);

    private PgPass() {
    }

    /** The file to read: {@code passfile}, else {@code $PGPASSFILE}, else {@code ~/.pgpass}. */
    static Path file(ConnInfo info, Map<String, String> env, String userHome) {
        if (info.passfile() != null) {
            return Path.of(info.passfile());
        }
        String fromEnv = env.get("PGPASSFILE");
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return Path.of(fromEnv);
        }
        return Path.of(userHome, ".pgpass");
    }

    /** Looks the connection's password up in the default file ({@link #file}); blocking. */
    static Optional<String> lookup(ConnInfo info, boolean replication) {
        return lookup(file(info, System.getenv(), System.getProperty("user.home")), info, replication);
    }

    /** Looks the connection's password up in {@code file}; empty when absent, ignored or no line matches. */
    static Optional<String> lookup(Path file, ConnInfo info, boolean replication) {
        List<String> lines;
        try {
            if (!Files.isRegularFile(file)) {
                return Optional.empty();
            }
            try {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
                if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                    LOG.warn("password file {} has group or world access; permissions should be u=rw (0600) or less: ignored", file);
                    return Optional.empty();
                }
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: no permission check, as libpq on Windows
            }
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read password file " + file + ": " + e.getMessage(), e);
        }
        String host = info.host();
        boolean unix = info.isUnixSocket();
        String port = Integer.toString(info.port());
        String db = replication ? "replication" : info.dbname();
        for (String line : lines) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            List<String> f = fields(line);
            if (f.size() < 5) {
                continue;
            }
            boolean hostMatches = f.get(0).equals("*") || f.get(0).equals(host) || (unix && f.get(0).equals("localhost"));
            if (hostMatches && matches(f.get(1), port) && matches(f.get(2), db) && matches(f.get(3), info.user())) {
                return Optional.of(f.get(4));
            }
        }
        return Optional.empty();
    }

    private static boolean matches(String pattern, String value) {
        return pattern.equals("*") || pattern.equals(value);
    }

    /** Splits on unescaped ':' into at most five fields (the password keeps any further ':'), unescaping. */
    static List<String> fields(String line) {
        List<String> out = new ArrayList<>(5);
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                cur.append(line.charAt(++i));
            } else if (c == ':' && out.size() < 4) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
