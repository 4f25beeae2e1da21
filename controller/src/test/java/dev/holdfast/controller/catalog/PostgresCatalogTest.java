package dev.holdfast.controller.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.testkit.PgCluster;
import io.vertx.core.Future;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The catalog contract on a real PostgreSQL: one cluster for the class, a fresh database per test,
 * reached over TCP on 127.0.0.1 as a password (SCRAM) role that owns it.
 */
class PostgresCatalogTest extends CatalogContract {
    static final String ROLE = "holdfast_catalog";
    static final String PASSWORD = "c@t:al/og pw";
    static PgCluster pg;
    static int databases;
    String database;
    @org.junit.jupiter.api.io.TempDir
    Path dataDir;

    @BeforeAll
    static void startPostgres() {
        pg = PgCluster.builder().start();
        pg.createRole(ROLE, PASSWORD, false, "scram-sha-256");
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    @Override
    void newStore() {
        database = "catalog_" + (++databases);
        pg.psql("CREATE DATABASE " + database + " OWNER " + ROLE);
    }

    static String url(String user, String password, String database) {
        return "postgresql://" + user + ":" + java.net.URLEncoder.encode(password, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20")
                + "@127.0.0.1:" + pg.port() + "/" + database + "?sslmode=disable";
    }

    @Override
    Future<Catalog> open() {
        // The data directory holds the audit key only (the catalog is in PostgreSQL).
        return CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl(url(ROLE, PASSWORD, database)), dataDir);
    }

    @Test
    void aWrongPasswordFailsToOpenWithoutShowingIt() {
        var e = failure(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl(url(ROLE, "wrong-secret", database)), Path.of("/x")));
        assertEquals(false, e.getMessage().contains("wrong-secret"), e.getMessage());
        assertEquals(ErrorCode.INTERNAL, e.code());
    }

    @Test
    void theSchemaIsVersioned() throws Exception {
        await(open()).close();
        String versions = pg.run(java.time.Duration.ofMinutes(1), PgCluster.BIN.resolve("psql").toString(), "-X", "-U", PgCluster.SUPERUSER,
                "-d", database, "-A", "-t", "-q", "-c", "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version").strip();
        String expected = String.join(",", java.util.stream.IntStream.rangeClosed(1, Schema.MIGRATIONS.size()).mapToObj(Integer::toString).toList());
        assertEquals(expected, versions, "every migration, each applied once although the suite opened the store before");
    }
}
