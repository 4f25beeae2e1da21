package dev.holdfast.cli.object;

import dev.holdfast.repository.store.Futures;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.ListPage;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectStore;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code holdfast object ls [PREFIX]}: list objects, page by page (memory stays flat on large buckets). */
@Command(name = "ls", mixinStandardHelpOptions = true, description = "List the repository's objects whose names start with PREFIX.")
public final class ObjectLsCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PREFIX", defaultValue = "", description = "Name prefix (default: everything).")
    String prefix;

    @Option(names = "--json", description = "Print JSON: {\"objects\": [{\"name\", \"size\", \"last_modified\"}]}.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        var w = spec.commandLine().getOut();
        var root = Json.object();
        ArrayNode arr = root.putArray("objects");
        long count = 0;
        long bytes = 0;
        try (ObjectStore store = repository.openStore(Ambient.clock())) {
            // Listing needs no key; checking the repository exists gives a clear error on a wrong URL.
            Repository.readConfig(store);
            Optional<String> token = Optional.empty();
            do {
                ListPage page = Futures.await(store.list(prefix, token, 1000));
                for (ObjectInfo o : page.objects()) {
                    count++;
                    bytes += o.size();
                    if (json) {
                        arr.addObject().put("name", o.key().value()).put("size", o.size()).put("last_modified", o.lastModified().toString());
                    } else {
                        w.printf("%12d  %s  %s%n", o.size(), o.lastModified(), o.key());
                    }
                }
                token = page.next();
            } while (token.isPresent());
        }
        if (json) {
            Json.print(w, root);
        } else {
            w.printf("%d object(s), %d bytes stored%n", count, bytes);
        }
        return 0;
    }
}
