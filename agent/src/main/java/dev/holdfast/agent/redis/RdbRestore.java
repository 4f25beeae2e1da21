package dev.holdfast.agent.redis;

import dev.holdfast.agent.postgres.restore.RestoreTarget;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;

/**
 * Restores an RDB snapshot as {@code <target>/dump.rdb}: written to a temporary file in the target,
 * size and SHA-256 checked against the manifest, then renamed into place. Blocking.
 */
public final class RdbRestore {
    private final Repository repo;

    public RdbRestore(Repository repo) {
        this.repo = repo;
    }

    public record Result(RdbBackup.Manifest backup, Path file) {
    }

    public Result restore(String source, String backupId, Path target, List<Path> allowed, boolean overwrite) throws IOException {
        RestoreTarget t = RestoreTarget.check(target, allowed, overwrite);
        RdbBackup.Manifest m = new RdbBackup(repo, Clock.systemUTC()).find(source, backupId);
        Files.createDirectories(t.path());
        Path tmp = t.path().resolve(".holdfast-dump.rdb.tmp");
        Files.deleteIfExists(tmp);
        try {
            MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            long n;
            try (InputStream in = repo.open(RdbBackup.data(m));
                 OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW), sha)) {
                n = in.transferTo(out);
            }
            String hex = HexFormat.of().formatHex(sha.digest());
            if (n != m.size() || !hex.equals(m.sha256())) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "RDB backup " + m.id() + " restored " + n + " bytes with SHA-256 " + hex
                        + ", its manifest says " + m.size() + " bytes, " + m.sha256());
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Path dest = t.path().resolve("dump.rdb");
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return new Result(m, dest);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
