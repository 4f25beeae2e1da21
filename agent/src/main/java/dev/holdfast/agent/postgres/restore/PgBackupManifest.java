package dev.holdfast.agent.postgres.restore;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.holdfast.repository.wal.Lsn;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;

/**
 * A {@code backup_manifest} in PostgreSQL's own format (version 1, what {@code pg_basebackup}
 * writes and {@code pg_verifybackup} reads), so that PostgreSQL's tool can check a restored
 * directory against checksums Holdfast took at backup time: per file path, size, modification
 * time and CRC32C; the WAL range the backup needs; and the SHA-256 of the manifest itself, over
 * every byte up to the line that holds it.
 *
 * <p>PostgreSQL writes a CRC32C as the hex of its four bytes in memory order (little-endian on
 * the platforms it supports); Holdfast's manifests write the checksum's value, so the bytes are
 * reversed here.
 */
public final class PgBackupManifest {
    private static final DateTimeFormatter MODIFIED = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'GMT'").withZone(ZoneOffset.UTC);

    /** One file of the restored directory. {@code crc32c} as Holdfast writes it (the value in hex). */
    public record File(String path, long size, Instant modified, String crc32c) {
    }

    private PgBackupManifest() {
    }

    public static byte[] render(List<File> files, int timeline, Lsn start, Lsn end) {
        JsonStringEncoder enc = JsonStringEncoder.getInstance();
        StringBuilder b = new StringBuilder();
        b.append("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [");
        boolean first = true;
        for (File f : files) {
            b.append(first ? "\n" : ",\n");
            first = false;
            b.append("{ \"Path\": \"").append(enc.quoteAsString(f.path())).append("\", \"Size\": ").append(f.size())
                    .append(", \"Last-Modified\": \"").append(MODIFIED.format(f.modified()))
                    .append("\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"").append(memoryOrder(f.crc32c())).append("\" }");
        }
        b.append(" ],\n\"WAL-Ranges\": [\n{ \"Timeline\": ").append(timeline).append(", \"Start-LSN\": \"").append(start)
                .append("\", \"End-LSN\": \"").append(end).append("\" }\n],\n");
        byte[] body = b.toString().getBytes(StandardCharsets.UTF_8);
        String checksum;
        try {
            checksum = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return (b + "\"Manifest-Checksum\": \"" + checksum + "\"}\n").getBytes(StandardCharsets.UTF_8);
    }

    /** {@code 8a3f0c11} (the value) to {@code 110c3f8a} (its little-endian bytes). */
    static String memoryOrder(String crc32c) {
        return crc32c.substring(6, 8) + crc32c.substring(4, 6) + crc32c.substring(2, 4) + crc32c.substring(0, 2);
    }
}
