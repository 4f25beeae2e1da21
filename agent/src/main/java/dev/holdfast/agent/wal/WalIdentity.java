package dev.holdfast.agent.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalFileName;
import dev.holdfast.repository.wal.WalPageHeader;
import dev.holdfast.repository.wal.WalSegmentName;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Which cluster a WAL file belongs to, without a database connection (archive mode): from a
 * segment's own long page header, or, for files that have none (history and backup history
 * files), from the data directory's {@code global/pg_control} and {@code pg_wal}. Blocking (file
 * reads); call on a worker.
 */
final class WalIdentity {
    private WalIdentity() {
    }

    /**
     * The cluster a segment-shaped file ({@link WalFileName.Kind#SEGMENT} or {@code .partial}) belongs
     * to, from its first bytes, after checking that it is the segment its name says and exactly one
     * segment long ({@code SOURCE_MISMATCH} otherwise).
     *
     * @param dataDir for the server version when the header's magic is not one this build knows; may be null
     */
    static WalClusterInfo ofSegment(WalFileName name, ByteBuffer firstBytes, long fileSize, Path dataDir) {
        String what = "WAL file " + name.name();
        WalPageHeader h = WalPageHeader.parse(firstBytes, what);
        WalSegmentName segment = name.segment();
        h.checkStarts(segment, fileSize, what);
        int major = h.majorVersion().or(() -> majorFromDataDir(dataDir)).orElseThrow(() -> new HoldfastException(
                ErrorCode.SOURCE_MISMATCH, what + " has WAL page magic " + String.format("0x%04X", h.magic())
                + ", which this build does not know, and PG_VERSION in the data directory is not readable"));
        return new WalClusterInfo(h.systemIdText(), h.segmentSize(), major * 10000);
    }

    /** The cluster from the data directory: pg_control's system identifier, a pg_wal segment's size, PG_VERSION. */
    static WalClusterInfo ofDataDir(Path dataDir, String forWhat) {
        if (dataDir == null) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot tell which cluster " + forWhat + " belongs to: no data directory"
                    + " is configured, and only a WAL segment carries its cluster's identity; push a segment first or configure data_dir");
        }
        Path control = dataDir.resolve("global").resolve("pg_control");
        byte[] head;
        try (InputStream in = Files.newInputStream(control)) {
            head = in.readNBytes(8);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot tell which cluster " + forWhat + " belongs to: " + control
                    + " is not readable (" + e.getMessage() + ")", e);
        }
        if (head.length < 8) {
            throw new HoldfastException(ErrorCode.IO_ERROR, control + " is too short to hold a system identifier");
        }
        long sysid = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getLong();
        long segmentSize = -1;
        Path walDir = dataDir.resolve("pg_wal");
        Optional<Integer> major = majorFromDataDir(dataDir);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(walDir)) {
            for (Path f : files) {
                if (WalSegmentName.matches(f.getFileName().toString()) && Files.isRegularFile(f)) {
                    segmentSize = Files.size(f);
                    if (major.isEmpty()) {
                        try (InputStream in = Files.newInputStream(f)) {
                            major = WalPageHeader.parse(ByteBuffer.wrap(in.readNBytes(WalPageHeader.LENGTH)), f.toString()).majorVersion();
                        } catch (HoldfastException e) {
                            // a recycled, never written file: its size still counts
                        }
                    }
                    break;
                }
            }
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot tell the WAL segment size for " + forWhat + ": " + walDir
                    + " is not readable (" + e.getMessage() + ")", e);
        }
        if (segmentSize < 0) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot tell the WAL segment size for " + forWhat + ": no segment file in "
                    + walDir);
        }
        int m = major.orElseThrow(() -> new HoldfastException(ErrorCode.IO_ERROR, "cannot tell the server version for " + forWhat
                + ": " + dataDir.resolve("PG_VERSION") + " is not readable"));
        return new WalClusterInfo(Long.toUnsignedString(sysid), segmentSize, m * 10000);
    }

    private static Optional<Integer> majorFromDataDir(Path dataDir) {
        if (dataDir == null) {
            return Optional.empty();
        }
        try {
            String v = Files.readString(dataDir.resolve("PG_VERSION"), StandardCharsets.US_ASCII).strip();
            return Optional.of(Integer.parseInt(v));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
