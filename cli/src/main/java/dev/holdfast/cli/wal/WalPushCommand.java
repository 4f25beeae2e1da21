package dev.holdfast.cli.wal;

import dev.holdfast.agent.wal.PutOutcome;
import dev.holdfast.agent.wal.WalArchiver;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code holdfast wal-push [--source S] PATH}: {@code archive_command} without an agent. Exits 0
 * only once the file is durable in the repository (or was already, with identical bytes); a
 * different file of that name exits with {@code object_exists} (21) and the stored one is kept.
 */
@Command(name = "wal-push", mixinStandardHelpOptions = true, description = {
        "Archive one WAL file (archive_command = 'holdfast wal-push %%p'); exits 0 only once it is durable.",
        "A different file under a name already stored fails with object_exists (21); the stored one is never replaced."})
public final class WalPushCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--source", paramLabel = "NAME", description = "The PostgreSQL source (default: the configuration's only one).")
    String source;

    /** Accepted so that the hooks can hand their own arguments over unchanged; the CLI talks to no agent. */
    @Option(names = "--socket", paramLabel = "PATH", hidden = true, description = "Ignored here (the hook's control socket).")
    String socket;

    @Parameters(index = "0", paramLabel = "PATH", description = "The file to archive (%p: relative to the data directory).")
    Path path;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        WalSources.Source src = WalSources.resolve(repository, source);
        String name = path.getFileName().toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read " + path.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        Path dataDir = src.dataDir().orElseGet(() -> {
            // archive_command runs in the data directory, and %p is pg_wal/<file>
            Path parent = path.toAbsolutePath().getParent();
            return parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("pg_wal") ? parent.getParent() : null;
        });
        try (WalSession session = new WalSession(repository)) {
            WalArchiver archiver = new WalArchiver(session.vertx, src.name(), session::walRepository, dataDir, 0,
                    WalArchiver.DEFAULT_SCAN_INTERVAL, Ambient.clock(), new SimpleMeterRegistry());
            PutOutcome outcome = WalSession.await(archiver.push(name, Buffer.buffer(bytes)));
            spec.commandLine().getOut().println(outcome == PutOutcome.STORED ? "stored " + name + " (source " + src.name() + ")"
                    : name + " was already stored with identical bytes (source " + src.name() + ")");
        }
        return 0;
    }
}
