package dev.holdfast.cli.keys;

import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.Ambient;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.crypto.PaperKey;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code holdfast keys export --format paper}: the printable escrow copy. It contains the keys. */
@Command(name = "export", mixinStandardHelpOptions = true, description = {
        "Print an escrow copy of the master key file for offline storage (it CONTAINS the keys:",
        "print it, do not save it on a networked machine). Read it back with 'keys import --from-paper'."})
public final class KeysExportCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--format", defaultValue = "paper", description = "Only 'paper' (hex with per-line checks).")
    String format;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (!"paper".equals(format)) {
            throw new HoldfastException(ErrorCode.USAGE, "unknown export format '" + format + "'; only 'paper' is supported");
        }
        KeyFile file = KeyFile.load(repository.keyFilePath());
        spec.commandLine().getOut().print(PaperKey.format(file, Ambient.clock().instant()));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
