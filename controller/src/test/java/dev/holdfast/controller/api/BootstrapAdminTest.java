package dev.holdfast.controller.api;

import dev.holdfast.controller.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.Tokens;
import dev.holdfast.controller.catalog.ApiTokenRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bootstrap admin token: created once, 0600, reused on restart; a file others can read is refused. */
class BootstrapAdminTest {
    @TempDir
    Path dir;
    Vertx vertx;
    final ManualClock clock = new ManualClock(Instant.parse("2026-11-24T09:00:00Z"));
    final SecureRandom random = new SecureRandom();

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void stop() throws Exception {
        ApiHarness.await(vertx.close());
    }

    private Catalog catalog(String name) throws Exception {
        return ApiHarness.await(TestCatalogs.open(vertx, dir.resolve(name), clock));
    }

    @Test
    void theTokenFileIsCreated0600InA0700DirectoryAndReusedOnRestart() throws Exception {
        Path file = dir.resolve("etc/holdfast/admin.token");
        Catalog catalog = catalog("data");
        assertEquals(BootstrapAdmin.Outcome.CREATED, ApiHarness.await(BootstrapAdmin.ensure(catalog, file, vertx, clock, random)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
        String token = Files.readString(file).trim();
        assertTrue(token.matches("hfa_[A-Za-z0-9_-]{43}"));
        assertFalse(Files.list(file.getParent()).anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        ApiTokenRecord rec = ApiHarness.await(catalog.apiToken(Tokens.hash(token))).orElseThrow();
        assertEquals("admin", rec.role());
        assertEquals(BootstrapAdmin.NAME, rec.name());

        // A restart: the same file, the same catalog.
        assertEquals(BootstrapAdmin.Outcome.PRESENT, ApiHarness.await(BootstrapAdmin.ensure(catalog, file, vertx, clock, random)));
        assertEquals(token, Files.readString(file).trim(), "the token is reused, not replaced");
        catalog.close();

        // A new catalog (e.g. a fresh data_dir) with the old file: the token is registered again.
        Catalog fresh = catalog("data2");
        assertEquals(BootstrapAdmin.Outcome.REGISTERED, ApiHarness.await(BootstrapAdmin.ensure(fresh, file, vertx, clock, random)));
        assertEquals("admin", ApiHarness.await(fresh.apiToken(Tokens.hash(token))).orElseThrow().role());

        // Rotation: the file removed, a new token created at the next start; the old one stops working.
        Files.delete(file);
        assertEquals(BootstrapAdmin.Outcome.CREATED, ApiHarness.await(BootstrapAdmin.ensure(fresh, file, vertx, clock, random)));
        String rotated = Files.readString(file).trim();
        assertTrue(ApiHarness.await(fresh.apiToken(Tokens.hash(rotated))).isPresent());
        assertTrue(ApiHarness.await(fresh.apiToken(Tokens.hash(token))).isEmpty(), "the previous bootstrap token is revoked");
        fresh.close();
    }

    @Test
    void anOperatorWrittenTokenIsAccepted() throws Exception {
        Path file = dir.resolve("admin.token");
        Files.writeString(file, "my-own-long-admin-token-0123456789\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
        Catalog catalog = catalog("data");
        assertEquals(BootstrapAdmin.Outcome.REGISTERED, ApiHarness.await(BootstrapAdmin.ensure(catalog, file, vertx, clock, random)));
        assertTrue(ApiHarness.await(catalog.apiToken(Tokens.hash("my-own-long-admin-token-0123456789"))).isPresent());
        catalog.close();
    }

    @Test
    void aFileOthersMayReadOrAnEmptyOneIsRefusedWithoutQuotingIt() throws Exception {
        Path file = dir.resolve("admin.token");
        Files.writeString(file, "hfa_readable-by-everyone-0123456789\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Catalog catalog = catalog("data");
        HoldfastException e = failure(catalog, file);
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
        assertFalse(e.getMessage().contains("readable-by-everyone"));

        Files.writeString(file, "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        HoldfastException empty = failure(catalog, file);
        assertEquals(ErrorCode.CONFIG_INVALID, empty.code());
        assertTrue(empty.getMessage().contains("does not hold a token"), empty.getMessage());
        catalog.close();
    }

    @Test
    void aFileTokenRegisteredWithAnotherRoleIsRefused() throws Exception {
        Path file = dir.resolve("admin.token");
        Files.writeString(file, "hfa_this-one-is-an-analyst-0123456789\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Catalog catalog = catalog("data");
        ApiHarness.await(catalog.insertApiToken(new ApiTokenRecord(Tokens.hash("hfa_this-one-is-an-analyst-0123456789"), "analyst",
                "x", clock.instant(), "test")));
        HoldfastException e = failure(catalog, file);
        assertTrue(e.getMessage().contains("role analyst, not admin"), e.getMessage());
        catalog.close();
    }

    private HoldfastException failure(Catalog catalog, Path file) {
        ExecutionException ex = assertThrows(ExecutionException.class,
                () -> ApiHarness.await(BootstrapAdmin.ensure(catalog, file, vertx, clock, random)));
        HoldfastException h = HoldfastException.find(ex);
        assertTrue(h != null, () -> "a HoldfastException, not " + ex.getCause());
        return h;
    }
}
