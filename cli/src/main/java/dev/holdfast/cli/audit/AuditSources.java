package dev.holdfast.cli.audit;

import dev.holdfast.cli.Ambient;
import dev.holdfast.controller.audit.AuditExporter;
import dev.holdfast.controller.audit.AuditKey;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.schedule.CronExpression;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What the audit commands read: the controller's configuration, its catalog, key and repository. */
final class AuditSources {
    private AuditSources() {
    }

    static ControllerConfig config(Path file) {
        return ControllerConfig.load(file, CronExpression::parse);
    }

    /** The key in the controller's data directory, if it has one. */
    static Optional<AuditKey> dataDirKey(ControllerConfig cfg) {
        Path p = cfg.dataDir().resolve(CatalogFactory.AUDIT_KEY_FILE);
        return Files.exists(p) ? Optional.of(AuditKey.load(p)) : Optional.empty();
    }

    static Catalog openCatalog(Vertx vertx, ControllerConfig cfg) throws Exception {
        return await(CatalogFactory.openForReading(vertx, cfg.catalog(), cfg.dataDir(), Ambient.clock()), "opening the catalog");
    }

    static Repository openRepository(ControllerConfig cfg) {
        return AuditExporter.openRepository(cfg.repository().orElseThrow(() -> new HoldfastException(ErrorCode.CONFIG_INVALID,
                cfg.file() + ": no 'repository' section")), Ambient.clock(), Ambient.random());
    }

    static void close(Vertx vertx) throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** Waits for a future from this (non-Vert.x) thread; its failure is thrown as it is. */
    static <T> T await(Future<T> f, String what) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw e;
        } catch (TimeoutException e) {
            throw new HoldfastException(ErrorCode.INTERNAL, what + " did not finish in 30 minutes");
        }
    }
}
