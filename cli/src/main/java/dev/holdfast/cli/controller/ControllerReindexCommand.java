package dev.holdfast.cli.controller;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.schedule.CronExpression;
import dev.holdfast.controller.catalog.Reindexer;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ObjectStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast controller reindex --config FILE [--json]}: clears the catalog's backup and WAL
 * tables and refills them from the configured repository (the bucket is the source of truth).
 * With the embedded catalog the controller must be stopped (H2 locks its file); with PostgreSQL it
 * may run, and sees a partial index while this runs.
 */
@Command(name = "reindex", mixinStandardHelpOptions = true, description = {
        "Rebuild the catalog's backups and WAL ranges from the repository alone.",
        "With the embedded catalog, stop the controller first."})
public final class ControllerReindexCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", required = true, description = "The controller's configuration file.")
    Path config;

    @Option(names = "--json", description = "Print JSON: sources, backups, complete, wal_ranges, problems.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ControllerConfig cfg = ControllerConfig.load(config, CronExpression::parse);
        RepositoryLocation loc = cfg.repository().orElseThrow(() -> new HoldfastException(ErrorCode.CONFIG_INVALID,
                config + ": no 'repository' section: reindex reads the backups from the repository"));
        Reindexer.Summary summary;
        Vertx vertx = Vertx.vertx();
        try (Repository repository = open(loc)) {
            Catalog catalog = await(CatalogFactory.open(vertx, cfg.catalog(), cfg.dataDir(), Ambient.clock()));
            try {
                summary = await(new Reindexer(vertx, repository).reindex(catalog));
            } finally {
                catalog.close();
            }
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("sources", summary.sources()).put("backups", summary.backups()).put("complete", summary.complete())
                    .put("wal_ranges", summary.walRanges());
            ArrayNode problems = root.putArray("problems");
            summary.problems().forEach(problems::add);
            Json.print(out, root);
        } else {
            for (String p : summary.problems()) {
                spec.commandLine().getErr().println("holdfast: warning: " + p);
            }
            out.printf("reindexed %d backups (%d complete) and %d WAL ranges for %d sources%n", summary.backups(), summary.complete(),
                    summary.walRanges(), summary.sources());
        }
        return 0;
    }

    private static Repository open(RepositoryLocation loc) {
        KeyFile keys = KeyFile.load(loc.keyFile());
        ObjectStore store = loc.openStore(Ambient.clock());
        try {
            return Repository.open(store, keys, Ambient.clock(), Ambient.random());
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** Waits for a future from this (non-Vert.x) thread; its failure is thrown as it is. */
    private static <T> T await(Future<T> f) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw e;
        } catch (TimeoutException e) {
            throw new HoldfastException(ErrorCode.INTERNAL, "reindex did not finish in 30 minutes");
        }
    }
}
