package dev.holdfast.cli.keys;

import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.Ambient;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.KeyFile;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code holdfast keys rotate}: a new master key version; data keys re-wrapped; no data object rewritten. */
@Command(name = "rotate", mixinStandardHelpOptions = true, description = {
        "Add a new master key version to the key file and re-wrap every data key with it.",
        "No data object is read or rewritten. Envelopes of the older master keys stay until 'keys retire',",
        "so hosts that still have the old key file keep working until they get the new one."})
public final class KeysRotateCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--new-data-key", description = "Also start a new data key version for objects written from now on.")
    boolean newDataKey;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        KeyFile keys = KeyFile.load(repository.location().keyFile());
        String before;
        KeyFile after;
        int dataKeys;
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            before = repo.masterKeyId();
            after = repo.rotateMasterKey(keys, newDataKey);
            dataKeys = repo.keyring().all().size() + (newDataKey ? 1 : 0);
        }
        var w = spec.commandLine().getOut();
        if (json) {
            Json.print(w, Json.object().put("previous_key_id", before).put("key_id", after.current().id())
                    .put("data_keys_wrapped", dataKeys).put("key_file", after.path().toString()));
        } else {
            w.println("rotated master key " + before + " -> " + after.current().id() + "; " + dataKeys + " data key(s) re-wrapped"
                    + (newDataKey ? " (including a new data key for new objects)" : "") + "; no data object was rewritten.");
            w.println("Next: copy " + after.path() + " to every host, print a new escrow copy (keys export --format paper),");
            w.println("then run 'holdfast keys retire' to delete the envelopes of the previous master key.");
        }
        return 0;
    }
}
