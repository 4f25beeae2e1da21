package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
    @TempDir
    Path dir;

    @Test
    void theDemoSealsRestoresVerifiesAndCanRunAgain() {
        Path demo = dir.resolve("demo");
        for (int run = 0; run < 2; run++) {
            Cli r = Cli.run("demo", "--no-wait", "--dir", demo.toString());
            assertEquals(0, r.status(), r::toString);
            assertTrue(r.out().contains("6 of 6 files byte-identical"), r::toString);
            assertTrue(r.out().contains("was refused"), r::toString);
        }
        assertTrue(Files.exists(demo.resolve("restored/logs/app.log")));
    }

    @Test
    void theDemoRefusesToWipeADirectoryItDidNotCreate() throws Exception {
        Path precious = Files.createDirectory(dir.resolve("precious"));
        Files.writeString(precious.resolve("data"), "keep");
        Cli r = Cli.run("demo", "--no-wait", "--dir", precious.toString());
        assertEquals(5, r.status(), r::toString);
        assertEquals("keep", Files.readString(precious.resolve("data")));
    }
}
