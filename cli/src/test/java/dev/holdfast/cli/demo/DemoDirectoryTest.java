package dev.holdfast.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo directory: recreated when the demo made it, refused otherwise, and its private PostgreSQL directory removed with it. */
class DemoDirectoryTest {
    @TempDir
    Path tmp;

    @Test
    void aDemoDirectoryIsEmptiedAndRecreatedWithItsLinkedPostgresDirectory() throws Exception {
        Path root = tmp.resolve("demo");
        DemoDirectory.prepare(null, root);
        assertTrue(Files.exists(root.resolve(DemoDirectory.MARKER)));
        Files.writeString(root.resolve("old-file"), "from the last run");
        Path external = Files.createDirectory(tmp.resolve(DemoDirectory.EXTERNAL_PREFIX + "1"));
        Files.writeString(external.resolve("PG_VERSION"), "15");
        Files.createSymbolicLink(root.resolve("postgresql"), external);
        Path unrelated = Files.createDirectory(tmp.resolve("unrelated"));
        Files.createSymbolicLink(root.resolve("link-elsewhere"), unrelated);

        DemoDirectory.prepare(null, root);
        assertTrue(Files.exists(root.resolve(DemoDirectory.MARKER)));
        assertFalse(Files.exists(root.resolve("old-file")));
        assertFalse(Files.exists(external), "the private PostgreSQL directory of the last run is removed");
        assertTrue(Files.isDirectory(unrelated), "other links are removed, never followed");
    }

    @Test
    void aDirectoryWithoutTheMarkerIsRefusedAndUntouched() throws Exception {
        Path precious = Files.createDirectory(tmp.resolve("precious"));
        Files.writeString(precious.resolve("data"), "keep");
        HoldfastException e = assertThrows(HoldfastException.class, () -> DemoDirectory.prepare(null, precious));
        assertEquals(ErrorCode.OUTPUT_EXISTS, e.code());
        assertEquals("keep", Files.readString(precious.resolve("data")));
        assertEquals(1, Files.list(precious).count());
    }
}
