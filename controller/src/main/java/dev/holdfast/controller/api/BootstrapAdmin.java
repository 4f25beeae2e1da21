package dev.holdfast.controller.api;

import dev.holdfast.controller.Tokens;
import dev.holdfast.controller.catalog.ApiTokenRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The first admin token ({@code auth.bootstrap_admin_token_file}).
 *
 * <p>Contract of {@link #ensure}: if the file exists, its token (the first line, trimmed) is the
 * admin token and its hash is put in the catalog as {@code admin} unless already there; a file that
 * others may read or that holds no token is refused (nothing starts). If the file does not exist, a
 * new token is created and written atomically with mode 0600 (its directory created with mode 0700
 * when missing), and then its hash stored. The file is written before the catalog row, so a crash
 * between the two is repaired at the next start. The token itself is never logged.
 */
public final class BootstrapAdmin {
    /** The token's name in the catalog and in audit entries. */
    public static final String NAME = "bootstrap-admin";
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_.~+/=-]{16,512}");

    private BootstrapAdmin() {
    }

    /** What {@link #ensure} did. */
    public enum Outcome {
        /** A new token was written to the file and registered. */
        CREATED,
        /** The file's token was registered now (a new catalog, or an operator-written file). */
        REGISTERED,
        /** The file's token was already the admin token in the catalog. */
        PRESENT
    }

    public static Future<Outcome> ensure(Catalog catalog, Path tokenFile, Vertx vertx, Clock clock, SecureRandom random) {
        return vertx.executeBlocking(() -> readOrCreate(tokenFile, random), false).compose(rc -> {
            String hash = Tokens.hash(rc.token());
            return catalog.apiToken(hash).compose(existing -> {
                if (existing.isPresent()) {
                    if (!Role.ADMIN.wire().equals(existing.get().role())) {
                        return Future.failedFuture(new HoldfastException(ErrorCode.CONFIG_INVALID, "the token in " + tokenFile
                                + " (auth.bootstrap_admin_token_file) is registered with role " + existing.get().role()
                                + ", not admin; put another token in the file or remove it to create one"));
                    }
                    return Future.succeededFuture(Outcome.PRESENT);
                }
                // A new file token replaces the old one: the previous bootstrap admin token (the file
                // was removed or rewritten to rotate it) stops working.
                return catalog.insertApiToken(new ApiTokenRecord(hash, Role.ADMIN.wire(), NAME, clock.instant(), "bootstrap"))
                        .compose(v -> catalog.deleteApiTokens(NAME, hash))
                        .map(v -> rc.created() ? Outcome.CREATED : Outcome.REGISTERED);
            });
        });
    }

    private record ReadOrCreated(String token, boolean created) {
        @Override
        public String toString() {
            return "ReadOrCreated[created=" + created + "]";
        }
    }

    private static ReadOrCreated readOrCreate(Path file, SecureRandom random) {
        try {
            if (Files.exists(file)) {
                return new ReadOrCreated(read(file), false);
            }
            String token = Tokens.newToken("hfa_", random);
            write(file, token);
            return new ReadOrCreated(token, true);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read or create the bootstrap admin token file " + file
                    + " (auth.bootstrap_admin_token_file): " + e.getClass().getSimpleName() + " " + e.getMessage(), e);
        }
    }

    private static String read(Path file) throws IOException {
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            for (PosixFilePermission p : perms) {
                if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
                    throw new HoldfastException(ErrorCode.CONFIG_INVALID, "the bootstrap admin token file " + file
                            + " (auth.bootstrap_admin_token_file) may be read or written by others (mode "
                            + PosixFilePermissions.toString(perms) + "); chmod 600 it");
                }
            }
        }
        String content = Files.readString(file, StandardCharsets.UTF_8);
        String first = content.lines().findFirst().orElse("").trim();
        if (!TOKEN.matcher(first).matches()) {
            // Never quote the content: it is meant to be a secret.
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "the bootstrap admin token file " + file
                    + " (auth.bootstrap_admin_token_file) does not hold a token on its first line (16 to 512 characters of"
                    + " letters, digits and _.~+/=-); remove it to have one created");
        }
        return first;
    }

    /** Writes {@code token} to a 0600 temporary file beside {@code file}, syncs it, and renames it into place. */
    private static void write(Path file, String token) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        boolean posix;
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            if (posix) {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } else {
                Files.createFile(tmp);
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(StandardCharsets.UTF_8.encode(token + "\n"));
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file);
            }
        } catch (FileAlreadyExistsException e) {
            throw new IOException("a temporary file " + tmp + " appeared while writing; is another controller starting?", e);
        } finally {
            Files.deleteIfExists(tmp);
        }
        if (posix) {
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException e) {
                // Some filesystems cannot sync a directory; the rename is durable at the next sync then.
            }
        }
    }
}
