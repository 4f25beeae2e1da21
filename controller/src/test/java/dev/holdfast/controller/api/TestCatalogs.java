package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.Catalog;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;

/** The catalog the API tests run on. */
final class TestCatalogs {
    private TestCatalogs() {
    }

    static Future<Catalog> open(Vertx vertx, Path dataDir, Clock clock) {
        return Future.succeededFuture(new InMemoryCatalog());
    }
}
