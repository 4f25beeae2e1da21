package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.config.ControllerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;

/** The catalog the API tests run on: the real embedded one (H2 in a file under {@code dataDir}). */
final class TestCatalogs {
    private TestCatalogs() {
    }

    static Future<Catalog> open(Vertx vertx, Path dataDir, Clock clock) {
        return CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dataDir, clock);
    }
}
