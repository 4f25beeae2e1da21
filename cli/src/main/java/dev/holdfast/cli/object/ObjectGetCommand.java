package dev.holdfast.cli.object;

import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code holdfast object get NAME FILE}: unseal an object into a file. The plaintext goes to a
 * hidden temporary file beside FILE, which is fsynced and renamed into place only once the whole
 * object authenticated and its checksums matched; on any failure it is removed, so a failed get
 * leaves nothing behind.
 */
@Command(name = "get", mixinStandardHelpOptions = true, description = {
        "Unseal NAME into FILE (or - for standard output), checking every segment and the checksums.",
        "FILE appears only when everything verified; a failure leaves nothing behind.",
        "With -, output is streamed: on failure the data already written must be discarded (exit status non-zero)."})
public final class ObjectGetCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Parameters(index = "0", paramLabel = "NAME", description = "The object's name.")
    String name;

    @Parameters(index = "1", paramLabel = "FILE", description = "Where to write the plaintext, or - for standard output.")
    String file;

    @Option(names = "--overwrite", description = "Replace FILE if it exists.")
    boolean overwrite;

    @Option(names = "--json", description = "Print JSON (not with FILE -).")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ObjectKey key = ObjectKey.of(name);
        if ("-".equals(file)) {
            try (Repository repo = repository.open(Ambient.clock(), Ambient.random()); OpeningInputStream in = repo.open(key)) {
                in.transferTo(System.out);
                System.out.flush();
            }
            return 0;
        }
        Path target = Path.of(file).toAbsolutePath();
        if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !overwrite) {
            throw new HoldfastException(ErrorCode.OUTPUT_EXISTS, target + " exists; pass --overwrite to replace it");
        }
        if (Files.isDirectory(target)) {
            throw new HoldfastException(ErrorCode.OUTPUT_EXISTS, target + " is a directory");
        }
        Path dir = target.getParent();
        if (!Files.isDirectory(dir)) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "directory " + dir + " does not exist");
        }
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".holdfast-partial");
        Footer footer;
        boolean done = false;
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random()); OpeningInputStream in = repo.open(key)) {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE); OutputStream out = java.nio.channels.Channels.newOutputStream(ch)) {
                in.transferTo(out);
                out.flush();
                ch.force(true);
            }
            footer = in.footer();
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
        var w = spec.commandLine().getOut();
        if (json) {
            Json.print(w, Json.object().put("name", key.value()).put("file", target.toString()).put("bytes", footer.plaintextLength())
                    .put("crc32c", String.format("%08x", footer.crc32c())).put("sha256", footer.sha256Hex().orElse(null)));
        } else {
            w.printf("restored %s to %s: %d bytes, crc32c %08x%s, verified%n", key, target, footer.plaintextLength(), footer.crc32c(),
                    footer.sha256().map(h -> ", sha256 " + HexFormat.of().formatHex(h)).orElse(""));
        }
        return 0;
    }
}
