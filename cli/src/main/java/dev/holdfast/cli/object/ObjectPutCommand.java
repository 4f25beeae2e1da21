package dev.holdfast.cli.object;

import dev.holdfast.repository.store.Futures;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code holdfast object put FILE NAME}: seal a file (or standard input) into the repository. */
@Command(name = "put", mixinStandardHelpOptions = true, description = {
        "Seal FILE (or - for standard input) into the repository as NAME (zstd + AES-256-GCM).",
        "Refuses an existing NAME; nothing is visible unless the whole input was stored."})
public final class ObjectPutCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Parameters(index = "0", paramLabel = "FILE", description = "The file to seal, or - for standard input.")
    String file;

    @Parameters(index = "1", paramLabel = "NAME", description = "The object's name, e.g. files/etc/app.conf.")
    String name;

    @Option(names = "--no-sha256", description = "Do not record the plaintext's SHA-256 (faster; CRC32C is always recorded).")
    boolean noSha256;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ObjectKey key = ObjectKey.of(name);
        if (Repository.isReserved(key)) {
            throw new HoldfastException(ErrorCode.USAGE, "'" + key + "' is repository metadata; choose another name");
        }
        long t0 = System.nanoTime();
        Footer footer;
        long stored;
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random()); InputStream in = input()) {
            footer = repo.put(key, in, !noSha256);
            stored = Futures.await(repo.store().head(key)).map(i -> i.size()).orElse(-1L);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        var w = spec.commandLine().getOut();
        if (json) {
            Json.print(w, Json.object().put("name", key.value()).put("bytes", footer.plaintextLength()).put("stored_bytes", stored)
                    .put("segments", footer.dataSegments()).put("crc32c", String.format("%08x", footer.crc32c()))
                    .put("sha256", footer.sha256Hex().orElse(null)).put("seconds", secs));
        } else {
            w.printf("stored %s: %d bytes -> %d stored (%.1f%%), %d segment(s), %.2f s%s%n", key, footer.plaintextLength(), stored,
                    footer.plaintextLength() == 0 ? 100.0 : 100.0 * stored / footer.plaintextLength(), footer.dataSegments(), secs,
                    footer.sha256Hex().map(h -> ", sha256 " + h).orElse(""));
        }
        return 0;
    }

    private InputStream input() throws IOException {
        if ("-".equals(file)) {
            return System.in;
        }
        Path p = Path.of(file);
        if (Files.isDirectory(p)) {
            throw new HoldfastException(ErrorCode.USAGE, file + " is a directory; object put takes one file");
        }
        try {
            return Files.newInputStream(p);
        } catch (NoSuchFileException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "unable to open missing file '" + file + "' for read");
        }
    }
}
