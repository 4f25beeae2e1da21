package dev.holdfast.cli.keys;

import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.Ambient;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.ObjectKey;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code holdfast keys retire}: delete the envelopes of master keys older than the current one. */
@Command(name = "retire", mixinStandardHelpOptions = true, description = {
        "Delete the key envelopes of every master key but the key file's current one,",
        "after checking the current key wraps every data key they wrap. Run it once every host has the new key file."})
public final class KeysRetireCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<ObjectKey> deleted;
        String current;
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            current = repo.masterKeyId();
            deleted = repo.retireOtherMasterKeys();
        }
        var w = spec.commandLine().getOut();
        if (json) {
            var node = Json.object().put("key_id", current);
            var arr = node.putArray("deleted");
            deleted.forEach(k -> arr.add(k.value()));
            Json.print(w, node);
        } else {
            w.println("deleted " + deleted.size() + " envelope object(s); the repository's data keys are now wrapped only by " + current);
        }
        return 0;
    }
}
