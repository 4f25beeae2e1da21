package dev.holdfast.controller.catalog;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.config.ControllerConfig;
import io.vertx.core.Future;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog contract on the embedded store: H2 in a file under the data directory. */
class H2CatalogTest extends CatalogContract {
    @TempDir
    Path tmp;
    Path dataDir;

    @Override
    void newStore() {
        dataDir = tmp.resolve("data");
    }

    @Override
    Future<Catalog> open() {
        return CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dataDir);
    }

    @Test
    void theStoreIsAFileInTheDataDirectory() {
        assertTrue(Files.isRegularFile(dataDir.resolve("catalog.mv.db")));
    }
}
