package dev.holdfast.cli.keys;

import dev.holdfast.cli.Json;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.crypto.MasterKey;
import dev.holdfast.repository.crypto.PaperKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code holdfast keys import --from-paper FILE --out KEYFILE}: rebuild a key file from its escrow copy. */
@Command(name = "import", mixinStandardHelpOptions = true, description = {
        "Rebuild a master key file from the text of an escrow copy (typed or scanned),",
        "checking every line and every key id. Refuses to overwrite an existing file."})
public final class KeysImportCommand implements Callable<Integer> {
    @Option(names = "--from-paper", required = true, paramLabel = "FILE", description = "The escrow copy's text.")
    Path paper;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The key file to create (mode 0600).")
    Path out;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        String text;
        try {
            text = Files.readString(paper, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "unable to read " + paper + ": " + e.getMessage(), e);
        }
        KeyFile file = KeyFile.create(out, PaperKey.parse(text, paper));
        var w = spec.commandLine().getOut();
        if (json) {
            var node = Json.object().put("path", out.toAbsolutePath().toString()).put("key_id", file.current().id());
            var arr = node.putArray("key_ids");
            file.keys().forEach(k -> arr.add(k.id()));
            Json.print(w, node);
        } else {
            w.println("restored " + file.keys().size() + " master key(s) " + file.keys().stream().map(MasterKey::id).toList()
                    + " into " + out + " (mode 0600); current: " + file.current().id());
        }
        return 0;
    }
}
