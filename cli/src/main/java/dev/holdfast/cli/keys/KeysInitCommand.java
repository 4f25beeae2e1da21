package dev.holdfast.cli.keys;

import dev.holdfast.cli.Json;
import dev.holdfast.cli.Ambient;
import dev.holdfast.repository.crypto.KeyFile;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code holdfast keys init --out FILE}: a new master key file, mode 0600, never overwriting. */
@Command(name = "init", mixinStandardHelpOptions = true, description = {
        "Create a master key file (mode 0600) and print its key id.",
        "Refuses to overwrite an existing file. Keep an offline copy: holdfast keys export --format paper."})
public final class KeysInitCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the key file.")
    Path out;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        KeyFile file = KeyFile.create(out, Ambient.clock(), Ambient.random());
        var w = spec.commandLine().getOut();
        if (json) {
            Json.print(w, Json.object().put("key_id", file.current().id()).put("path", out.toAbsolutePath().toString()));
        } else {
            w.println(file.current().id());
            spec.commandLine().getErr().println("created master key " + file.current().id() + " in " + out + " (mode 0600). "
                    + "Without it every backup is unrecoverable: print an escrow copy now with "
                    + "'holdfast keys export --format paper --key-file " + out + "' and store it offline.");
        }
        return 0;
    }
}
