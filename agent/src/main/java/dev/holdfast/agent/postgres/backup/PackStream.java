package dev.holdfast.agent.postgres.backup;

import dev.holdfast.repository.backup.PackReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The plaintext of one pack: its files' bytes one after the other, each read from disk as the
 * sealing consumer asks for more, with each file's CRC32C and SHA-256 computed on the way.
 *
 * <p>A file is read up to the size it had when listed; one that shrank meanwhile contributes what
 * it still has, one that grew contributes the listed size (the backup's WAL replays both changes,
 * as with {@code pg_basebackup}), and one that vanished contributes nothing and no entry. The
 * offsets and sizes of {@link #written()} are those of the bytes actually produced.
 *
 * <p>Not thread-safe: one sealing thread reads it.
 */
final class PackStream extends InputStream {
    private static final HexFormat HEX = HexFormat.of();

    /** A file as stored: where in the pack, how many bytes, their checksums. */
    record Written(DataDirectoryScan.SourceFile file, long offset, long size, String crc32c, String sha256) {
    }

    private final List<DataDirectoryScan.SourceFile> files;
    private final List<Written> written = new ArrayList<>();
    private final ByteBuffer buffer = ByteBuffer.allocate(1 << 20).flip();
    private final BackupProgressCounter progress;
    private int next;
    private FileChannel channel;
    private DataDirectoryScan.SourceFile current;
    private long currentRead;
    private long currentStart;
    private long position;
    private final CRC32C crc = new CRC32C();
    private final MessageDigest sha;

    PackStream(List<DataDirectoryScan.SourceFile> files, BackupProgressCounter progress) {
        this.files = files;
        this.progress = progress;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What was stored, in order; complete once the stream was read to its end. */
    List<Written> written() {
        return written;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (!buffer.hasRemaining()) {
            if (!fill()) {
                return -1;
            }
        }
        int n = Math.min(len, buffer.remaining());
        buffer.get(b, off, n);
        position += n;
        return n;
    }

    /**
     * Hands the buffer's contents to {@code out} directly, a buffer (up to 1 MiB) at a time, instead
     * of through InputStream's small copy buffer: the sealing stream then cuts segments from
     * large writes.
     */
    @Override
    public long transferTo(java.io.OutputStream out) throws IOException {
        long n = 0;
        while (true) {
            while (!buffer.hasRemaining()) {
                if (!fill()) {
                    return n;
                }
            }
            int len = buffer.remaining();
            out.write(buffer.array(), buffer.arrayOffset() + buffer.position(), len);
            buffer.position(buffer.position() + len);
            position += len;
            n += len;
        }
    }

    /** Refills the buffer from the current file, moving to the next one as files end. False at the end of the pack. */
    private boolean fill() throws IOException {
        while (true) {
            if (channel == null && !openNext()) {
                return false;
            }
            long want = current.size() - currentRead;
            int r = 0;
            if (want > 0) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), want));
                r = channel.read(buffer);
                buffer.flip();
            }
            if (r > 0) {
                crc.update(buffer.duplicate());
                sha.update(buffer.duplicate());
                currentRead += r;
                progress.add(r);
                return true;
            }
            finishCurrent();
        }
    }

    private boolean openNext() throws IOException {
        while (next < files.size()) {
            DataDirectoryScan.SourceFile f = files.get(next++);
            try {
                channel = FileChannel.open(f.file(), StandardOpenOption.READ);
            } catch (NoSuchFileException e) {
                progress.add(f.size()); // dropped meanwhile: nothing to copy, recovery drops it too
                continue;
            }
            current = f;
            currentRead = 0;
            currentStart = position;
            crc.reset();
            sha.reset();
            return true;
        }
        return false;
    }

    private void finishCurrent() throws IOException {
        channel.close();
        channel = null;
        written.add(new Written(current, currentStart, currentRead, PackReader.crc32cHex(crc), HEX.formatHex(sha.digest())));
        if (currentRead < current.size()) {
            progress.add(current.size() - currentRead);
        }
        current = null;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }
}
