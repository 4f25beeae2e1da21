package dev.holdfast.controller.catalog;

import dev.holdfast.controller.audit.AuditKey;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.r2dbc.h2.H2ConnectionConfiguration;
import io.r2dbc.h2.H2ConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.postgresql.client.SSLMode;
import io.r2dbc.spi.ConnectionFactory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Opens the catalog the configuration names, creating or migrating its schema:
 * <ul>
 *   <li>{@code embedded}: H2 in the file {@code <data_dir>/catalog.mv.db}, in H2's PostgreSQL
 *       mode. One process at a time: H2 locks the file, so {@code holdfast controller reindex}
 *       needs the controller stopped.</li>
 *   <li>{@code postgresql://user[:password]@host[:port]/database[?sslmode=...]}: PostgreSQL over
 *       TCP through a connection pool. {@code sslmode} is {@code disable} (the default),
 *       {@code require}, {@code verify-ca} or {@code verify-full}. User and password may be
 *       percent-encoded. (Unix sockets are not offered: r2dbc-postgresql needs Netty's native
 *       transport for them, which the controller does not ship.)</li>
 * </ul>
 * Neither the URL nor the password ever appears in an exception or a log line.
 */
public final class CatalogFactory {
    /** Connections per catalog: enough for the controller's concurrent requests, small for a shared database. */
    static final int POOL_SIZE = 10;

    private CatalogFactory() {
    }

    public static Future<Catalog> open(Vertx vertx, ControllerConfig.CatalogUrl url, Path dataDir) {
        return open(vertx, url, dataDir, Clock.systemUTC());
    }

    public static Future<Catalog> open(Vertx vertx, ControllerConfig.CatalogUrl url, Path dataDir, Clock clock) {
        return open(vertx, url, dataDir, clock, new SecureRandom());
    }

    /**
     * Opens the catalog with the audit chain's key {@code <data_dir>/audit.key}, created (0600, from
     * {@code random}) when it does not exist yet. Fails with {@code audit_key_mismatch} when the
     * catalog's chain was made with another key (docs/controller.md "Audit log").
     */
    public static Future<Catalog> open(Vertx vertx, ControllerConfig.CatalogUrl url, Path dataDir, Clock clock, SecureRandom random) {
        Path keyFile = dataDir.resolve(AUDIT_KEY_FILE);
        return openStore(vertx, url, dataDir, clock).compose(c -> vertx.executeBlocking(() -> AuditKey.loadOrCreate(keyFile, random))
                .compose(key -> ((R2dbcCatalog) c).checkAuditKey(key).map(v -> {
                    ((R2dbcCatalog) c).auditKey(key);
                    return c;
                }))
                .recover(e -> {
                    c.close();
                    return Future.failedFuture(e);
                }));
    }

    /**
     * Opens the catalog without the audit key: everything but {@link Catalog#appendAudit} works.
     * For {@code holdfast audit verify} and {@code export}, which must read a chain whatever key
     * they are given.
     */
    public static Future<Catalog> openForReading(Vertx vertx, ControllerConfig.CatalogUrl url, Path dataDir, Clock clock) {
        return openStore(vertx, url, dataDir, clock);
    }

    /** The audit key's file in the data directory. */
    public static final String AUDIT_KEY_FILE = "audit.key";

    private static Future<Catalog> openStore(Vertx vertx, ControllerConfig.CatalogUrl url, Path dataDir, Clock clock) {
        R2dbcCatalog catalog;
        try {
            catalog = url.embedded() ? embedded(vertx, dataDir) : postgres(vertx, url.url());
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        return catalog.migrate(clock).<Catalog>map(v -> catalog).recover(e -> {
            catalog.close();
            if (url.embedded() && String.valueOf(e.getMessage()).contains("90020")) {
                // H2's "database may be already in use": another process (a running controller) holds the file.
                return Future.failedFuture(new HoldfastException(ErrorCode.CONFLICT, "the " + catalog
                        + " is in use by another process: stop the controller first", e));
            }
            return Future.failedFuture(new HoldfastException(e instanceof HoldfastException h ? h.code() : ErrorCode.INTERNAL,
                    "cannot open the " + catalog + ": " + e.getMessage(), e));
        });
    }

    private static R2dbcCatalog embedded(Vertx vertx, Path dataDir) {
        Path file = dataDir.toAbsolutePath().resolve("catalog");
        try {
            Files.createDirectories(dataDir);
        } catch (java.io.IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot create the data directory " + dataDir + ": " + e.getMessage(), e);
        }
        H2ConnectionConfiguration cfg = H2ConnectionConfiguration.builder()
                .file(file.toString())
                .username("holdfast")
                .property("MODE", "PostgreSQL")
                .property("DATABASE_TO_LOWER", "TRUE")
                .property("DEFAULT_NULL_ORDERING", "HIGH")
                // A concurrent writer of the same row waits this long (ms) for its lock.
                .property("LOCK_TIMEOUT", "10000")
                .build();
        return new R2dbcCatalog(vertx, pool(new H2ConnectionFactory(cfg)), true, "embedded (" + file + ".mv.db)");
    }

    private static R2dbcCatalog postgres(Vertx vertx, String url) {
        HoldfastException bad = new HoldfastException(ErrorCode.CONFIG_INVALID,
                "catalog: expected postgresql://user[:password]@host[:port]/database[?sslmode=...]");
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            throw bad;
        }
        if (!"postgresql".equals(u.getScheme()) || u.getRawUserInfo() == null || u.getHost() == null || u.getRawPath() == null
                || u.getRawPath().length() < 2) {
            throw bad;
        }
        String[] userInfo = u.getRawUserInfo().split(":", 2);
        String database = decode(u.getRawPath().substring(1));
        Map<String, String> query = new LinkedHashMap<>();
        if (u.getRawQuery() != null) {
            for (String kv : u.getRawQuery().split("&")) {
                String[] p = kv.split("=", 2);
                query.put(decode(p[0]), p.length > 1 ? decode(p[1]) : "");
            }
        }
        for (String k : query.keySet()) {
            if (!k.equals("sslmode")) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, "catalog: unknown URL parameter '" + k + "' (known: sslmode)");
            }
        }
        SSLMode ssl = switch (query.getOrDefault("sslmode", "disable")) {
            case "disable" -> SSLMode.DISABLE;
            case "require" -> SSLMode.REQUIRE;
            case "verify-ca" -> SSLMode.VERIFY_CA;
            case "verify-full" -> SSLMode.VERIFY_FULL;
            default -> throw new HoldfastException(ErrorCode.CONFIG_INVALID,
                    "catalog: sslmode must be disable, require, verify-ca or verify-full");
        };
        PostgresqlConnectionConfiguration.Builder b = PostgresqlConnectionConfiguration.builder()
                .username(decode(userInfo[0]))
                .database(database)
                .applicationName("holdfast-controller")
                .connectTimeout(Duration.ofSeconds(10))
                .sslMode(ssl);
        if (userInfo.length > 1) {
            b.password(decode(userInfo[1]));
        }
        int port = u.getPort() > 0 ? u.getPort() : 5432;
        b.host(u.getHost()).port(port);
        String where = u.getHost() + ":" + port;
        return new R2dbcCatalog(vertx, pool(new PostgresqlConnectionFactory(b.build())), false,
                "postgresql (" + decode(userInfo[0]) + "@" + where + "/" + database + ")");
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static ConnectionPool pool(ConnectionFactory factory) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(factory)
                .initialSize(1)
                .maxSize(POOL_SIZE)
                .maxIdleTime(Duration.ofMinutes(10))
                .maxAcquireTime(Duration.ofSeconds(30))
                .build());
    }
}
