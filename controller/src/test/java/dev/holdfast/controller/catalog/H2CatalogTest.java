package dev.holdfast.controller.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
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
    void aStoreAnotherProcessHoldsIsRefusedAsInUse() throws Exception {
        catalog.close();
        catalog = null;
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), H2Holder.class.getName(), dataDir.resolve("catalog").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream())).readLine();
            assertEquals("ready", line);
            HoldfastException e = failure(open());
            assertEquals(ErrorCode.CONFLICT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("in use by another process"), e.getMessage());
        } finally {
            holder.getOutputStream().close();
            holder.waitFor();
        }
        catalog = await(open());
        assertEquals(java.util.Optional.empty(), await(catalog.agent("db1")), "usable once the other process is gone");
    }

    @Test
    void theStoreIsAFileInTheDataDirectory() {
        assertTrue(Files.isRegularFile(dataDir.resolve("catalog.mv.db")));
    }
}
