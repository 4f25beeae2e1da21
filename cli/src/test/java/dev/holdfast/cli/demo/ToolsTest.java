package dev.holdfast.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's preflight: what is missing is named, all of it at once, with exit status 3 (config_invalid). */
class ToolsTest {
    @TempDir
    Path empty;

    @Test
    void missingProgramsAreAllNamed() {
        // No PATH entry holds anything; the PostgreSQL of this machine is still found under /usr/lib/postgresql.
        HoldfastException e = assertThrows(HoldfastException.class, () -> Tools.find(Map.of("PATH", empty.toString())));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
        assertEquals(3, e.code().exitStatus());
        assertTrue(e.getMessage().contains("redis-server") && e.getMessage().contains("curl"), e.getMessage());
    }

    @Test
    void theMachinesToolsAreFoundAndAnExplicitPostgresBinWins() throws Exception {
        Tools found = Tools.find(System.getenv());
        assertTrue(Files.isExecutable(found.pg("initdb")) && Files.isExecutable(found.pg("pgbench")), found.toString());
        Tools explicit = Tools.find(Map.of("PATH", System.getenv("PATH"), "HOLDFAST_PG_BIN", found.pgBin().toString()));
        assertEquals(found.pgBin(), explicit.pgBin());
        HoldfastException bad = assertThrows(HoldfastException.class,
                () -> Tools.find(Map.of("PATH", empty.toString(), "HOLDFAST_PG_BIN", empty.toString())));
        assertTrue(bad.getMessage().contains("redis-server"), bad.getMessage());
    }
}
