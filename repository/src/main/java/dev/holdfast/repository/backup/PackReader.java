package dev.holdfast.repository.backup;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads the files of one pack (docs/format.md section 12) in a single sequential pass: the pack
 * is opened, decrypted and decompressed segment by segment, each wanted file's bytes are handed
 * to a consumer as they stream by, and every file's CRC32C (and, when asked, SHA-256) is compared
 * with its manifest entry. Bytes between wanted files are read and dropped; the pack is always
 * read to its end so that the object's own end-of-object check (fail closed, {@link
 * OpeningInputStream}) runs.
 *
 * <p>A consumer must treat what it received as unverified until {@link #read} returns: a checksum
 * mismatch is only known at a file's last byte, a truncated pack only at its end. Blocking.
 */
public final class PackReader {
    private static final HexFormat HEX = HexFormat.of();
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[1 << 16]);

    /** Receives one file's bytes. It may read fewer than {@code entry.size()}; the rest is drained. */
    @FunctionalInterface
    public interface FileConsumer {
        void accept(BackupManifest.FileEntry entry, InputStream bytes) throws IOException;
    }

    private PackReader() {
    }

    /** The CRC32C of a file as manifests write it: the checksum value, 8 lowercase hex digits. */
    public static String crc32cHex(CRC32C crc) {
        return String.format("%08x", crc.getValue());
    }

    /**
     * Reads pack {@code key} and hands each of {@code wanted} (files of this pack; any order) to
     * {@code consumer}, in offset order.
     *
     * @param sha256 also compare each file's SHA-256 (CRC32C is always compared)
     * @param what   names the backup in errors
     * @throws HoldfastException {@code integrity_failure} naming the file when its bytes do not match
     *                           its entry or the pack ends early; the store's and the opening's errors otherwise
     */
    public static void read(Repository repository, ObjectKey key, List<BackupManifest.FileEntry> wanted, boolean sha256, String what,
                            FileConsumer consumer) throws IOException {
        List<BackupManifest.FileEntry> files = new ArrayList<>(wanted);
        files.sort(Comparator.comparingLong(BackupManifest.FileEntry::offset));
        try (OpeningInputStream in = repository.open(key)) {
            long position = 0;
            long previousEnd = 0;
            for (BackupManifest.FileEntry f : files) {
                if (f.offset() < previousEnd) {
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + ": files '" + f.path() + "' and another overlap in " + key);
                }
                skipFully(in, f.offset() - position, key, f, what);
                EntryStream entry = new EntryStream(in, f.size(), sha256);
                consumer.accept(f, entry);
                entry.drain();
                if (entry.remaining > 0) {
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + ": pack " + key + " ends inside file '" + f.path() + "'");
                }
                String crc = crc32cHex(entry.crc);
                if (!crc.equals(f.crc32c())) {
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + ": file '" + f.path() + "' has CRC32C " + crc
                            + " but its manifest says " + f.crc32c() + " (pack " + key + ")");
                }
                if (sha256) {
                    String sha = HEX.formatHex(entry.sha.digest());
                    if (!sha.equals(f.sha256())) {
                        throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + ": file '" + f.path() + "' has SHA-256 " + sha
                                + " but its manifest says " + f.sha256() + " (pack " + key + ")");
                    }
                }
                position = f.offset() + f.size();
                previousEnd = position;
            }
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }

    private static void skipFully(InputStream in, long n, ObjectKey key, BackupManifest.FileEntry f, String what) throws IOException {
        long left = n;
        byte[] scratch = SCRATCH.get();
        while (left > 0) {
            int r = in.read(scratch, 0, (int) Math.min(left, scratch.length));
            if (r < 0) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + ": pack " + key + " ends before file '" + f.path() + "'");
            }
            left -= r;
        }
    }

    /** One file's bytes, digested as they pass. */
    private static final class EntryStream extends InputStream {
        private final InputStream in;
        private final CRC32C crc = new CRC32C();
        private final MessageDigest sha;
        private long remaining;

        EntryStream(InputStream in, long size, boolean sha256) {
            this.in = in;
            this.remaining = size;
            try {
                this.sha = sha256 ? MessageDigest.getInstance("SHA-256") : null;
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int r = in.read(b, off, (int) Math.min(len, remaining));
            if (r < 0) {
                return -1;
            }
            crc.update(b, off, r);
            if (sha != null) {
                sha.update(b, off, r);
            }
            remaining -= r;
            return r;
        }

        void drain() throws IOException {
            byte[] scratch = SCRATCH.get();
            while (read(scratch, 0, scratch.length) >= 0) {
                // digested by read
            }
        }

        @Override
        public void close() {
            // the pack stays open: the reader owns it
        }
    }
}
