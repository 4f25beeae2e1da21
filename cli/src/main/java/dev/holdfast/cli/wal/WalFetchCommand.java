package dev.holdfast.cli.wal;

import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code holdfast wal-fetch [--source S] [--system-id ID] NAME DEST}: {@code restore_command}
 * without an agent. Writes DEST through a temporary file in its directory, renamed into place only
 * once everything read authenticated; exits 1 when the repository does not have NAME (what
 * PostgreSQL takes as "not found"), and with the failure's code otherwise.
 */
@Command(name = "wal-fetch", mixinStandardHelpOptions = true, description = {
        "Fetch one WAL file (restore_command = 'holdfast wal-fetch %%f %%p').",
        "Exits 1 when the repository does not have it; DEST appears only when everything read verified."})
public final class WalFetchCommand implements Callable<Integer> {
    /** PostgreSQL's "file not found" for restore_command. */
    public static final int NOT_FOUND = 1;

    @Mixin
    RepositoryOptions repository;

    @Option(names = "--source", paramLabel = "NAME", description = "The PostgreSQL source (default: the configuration's only one).")
    String source;

    @Option(names = "--system-id", paramLabel = "ID", description = "The cluster's system identifier (default: the only one stored for the source).")
    String systemId;

    /** Accepted so that the hooks can hand their own arguments over unchanged; the CLI talks to no agent. */
    @Option(names = "--socket", paramLabel = "PATH", hidden = true, description = "Ignored here (the hook's control socket).")
    String socket;

    @Parameters(index = "0", paramLabel = "NAME", description = "The WAL file name (%f).")
    String name;

    @Parameters(index = "1", paramLabel = "DEST", description = "Where to write it (%p).")
    Path dest;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * Any failure but "not found": PostgreSQL stops recovery on a status above 125 instead of taking
     * the failure for the end of WAL and promoting early (bin/holdfast-wal-fetch does the same).
     */
    static final int FAILED = 126;

    @Override
    public Integer call() {
        try {
            return fetch();
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.USAGE) {
                throw e;
            }
            spec.commandLine().getErr().println("holdfast: " + e.code().code() + ": " + e.getMessage());
            return FAILED;
        } catch (IOException | RuntimeException e) {
            spec.commandLine().getErr().println("holdfast: " + ErrorCode.IO_ERROR.code() + ": " + e.getMessage());
            return FAILED;
        }
    }

    private int fetch() throws IOException {
        WalSources.Source src = WalSources.resolve(repository, source);
        try (WalSession session = new WalSession(repository)) {
            String id = systemId != null ? systemId : onlySystemId(session.repository.store(), src.name()).orElse(null);
            if (id == null) {
                spec.commandLine().getErr().println("holdfast: wal-fetch: " + name + " not found: no WAL for source " + src.name());
                return NOT_FOUND;
            }
            Optional<Buffer> bytes = WalSession.await(session.walRepository(new WalLayout(src.name(), id)).fetch(name));
            if (bytes.isEmpty()) {
                spec.commandLine().getErr().println("holdfast: wal-fetch: " + name + " not found (source " + src.name()
                        + ", system identifier " + id + ")");
                return NOT_FOUND;
            }
            write(bytes.get());
        }
        return 0;
    }

    /** The system identifiers stored under {@code wal/<source>/}: the only one, none, or USAGE listing several. */
    static Optional<String> onlySystemId(ObjectStore store, String source) {
        TreeSet<String> ids = systemIds(store, source);
        if (ids.size() > 1) {
            throw new HoldfastException(ErrorCode.USAGE, "source " + source + " has WAL of several clusters (system identifiers "
                    + ids + "); pass --system-id ID");
        }
        return ids.stream().findFirst();
    }

    /** Every system identifier with objects under {@code wal/<source>/}. Lists the whole area. */
    public static TreeSet<String> systemIds(ObjectStore store, String source) {
        return new TreeSet<>(dev.holdfast.agent.wal.WalRepository.systemIds(store, source));
    }

    private void write(Buffer bytes) throws IOException {
        Path target = dest.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "directory " + dir + " does not exist");
        }
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".holdfast-partial");
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(bytes.getBytes());
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
