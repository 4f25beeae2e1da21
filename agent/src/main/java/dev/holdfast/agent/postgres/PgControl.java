package dev.holdfast.agent.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads a data directory's {@code global/pg_control} for its system identifier, without a
 * connection: {@code ControlFileData} starts with {@code uint64 system_identifier} in the server's
 * byte order (this host's, the file being local) in every PostgreSQL version.
 */
public final class PgControl {
    private PgControl() {
    }

    /** The cluster's system identifier in decimal (as {@code pg_control_system()} shows it), or empty when the file cannot be read. */
    public static Optional<String> systemIdentifier(Path dataDir) {
        try (InputStream in = Files.newInputStream(dataDir.resolve("global").resolve("pg_control"))) {
            byte[] b = in.readNBytes(8);
            if (b.length < 8) {
                return Optional.empty();
            }
            long id = ByteBuffer.wrap(b).order(ByteOrder.nativeOrder()).getLong();
            return id == 0 ? Optional.empty() : Optional.of(Long.toUnsignedString(id));
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }
}
