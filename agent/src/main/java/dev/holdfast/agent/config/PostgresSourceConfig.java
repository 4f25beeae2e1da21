package dev.holdfast.agent.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A {@code type: postgres} source.
 *
 * @param name     the source's name
 * @param dataDir  the cluster's data directory; absolute (whether it exists is checked by the source when it starts)
 * @param conninfo a libpq connection string (key/value or URI); may hold a password, so it is never
 *                 shown: use {@link Redact#conninfo} to print it
 * @param wal      how WAL is received and shipped
 * @param databases the databases a logical dump ({@code backup --type logical}) takes, in this
 *                  order; empty (the default): every database that allows connections and is not a
 *                  template, as the server lists them when the dump starts
 * @param pgBinDir  where {@code pg_dump} and {@code pg_restore} are; empty (the default):
 *                  {@code /usr/lib/postgresql/<server major>/bin} when it exists, else the {@code PATH}
 */
public record PostgresSourceConfig(String name, Path dataDir, String conninfo, WalConfig wal, List<String> databases,
                                   Optional<Path> pgBinDir) implements SourceConfig {
    public static final String TYPE = "postgres";
    /** A {@code sources[]} entry of type postgres. */
    public static final ConfigSection SECTION = ConfigSection.section("sources[] (type: postgres)",
                    "A PostgreSQL cluster: continuous WAL, base backups, logical dumps (docs/postgresql.md).")
            .key("name", "1-63 of [A-Za-z0-9_-], starting with a letter or digit; unique", "required",
                    "The source's name in the repository and in every command (`--source`).")
            .key("type", "postgres", "required", "The source type.")
            .key("data_dir", "absolute path", "required", "The cluster's data directory (read by base backups).")
            .key("conninfo", "libpq connection string (key=value or URI); secret, never shown", "required",
                    "How the agent connects (replication and SQL), e.g. `host=/var/run/postgresql user=holdfast dbname=postgres`.")
            .key("wal", "mapping", "stream mode with the defaults below", "How WAL is received and shipped (see `sources[].wal`).")
            .key("databases", "non-empty list of distinct database names", "every database that allows connections, not templates",
                    "What `backup --type logical` dumps, in this order.")
            .key("pg_bin_dir", "absolute path", "/usr/lib/postgresql/<server major>/bin if it exists, else the PATH",
                    "Where `pg_dump` and `pg_restore` are.")
            .build();
    static final List<String> KEYS = SECTION.names();

    public PostgresSourceConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(conninfo, "conninfo");
        Objects.requireNonNull(wal, "wal");
        databases = List.copyOf(databases);
        Objects.requireNonNull(pgBinDir, "pgBinDir");
    }

    /** A source with the default logical-dump settings (every database, binaries found from the server version). */
    public PostgresSourceConfig(String name, Path dataDir, String conninfo, WalConfig wal) {
        this(name, dataDir, conninfo, wal, List.of(), Optional.empty());
    }

    @Override
    public String type() {
        return TYPE;
    }

    static PostgresSourceConfig parse(ConfigNode n, String name) {
        n.allowOnly(KEYS);
        Path dataDir = n.absolutePath("data_dir");
        String conninfo = n.string("conninfo", "a libpq connection string such as \"host=/var/run/postgresql user=holdfast\"");
        WalConfig wal = WalConfig.parse(n, name);
        List<String> databases = databases(n);
        Optional<Path> bin = n.optionalAbsolutePath("pg_bin_dir");
        return new PostgresSourceConfig(name, dataDir, conninfo, wal, databases, bin);
    }

    /** {@code databases}: absent means all; present, a non-empty list of distinct database names. */
    private static List<String> databases(ConfigNode n) {
        String expected = "a database name (1-63 bytes, no control characters)";
        if (n.has("databases") && (!n.raw().get("databases").isArray() || n.raw().get("databases").isEmpty())) {
            throw n.invalid("databases", "a non-empty list of database names (leave the key out to dump every database)");
        }
        List<String> names = n.stringList("databases", expected);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < names.size(); i++) {
            String db = names.get(i);
            if (db.getBytes(StandardCharsets.UTF_8).length > 63 || db.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw n.failAt("databases[" + i + "]", "expected " + expected + ", found '" + db.replaceAll("\\p{Cntrl}", "?") + "'");
            }
            if (!seen.add(db)) {
                throw n.failAt("databases[" + i + "]", "expected a database not listed before, found '" + db + "' again");
            }
        }
        return names;
    }

    @Override
    public String toString() {
        return "PostgresSourceConfig[name=" + name + ", dataDir=" + dataDir + ", conninfo=" + Redact.conninfo(conninfo)
                + ", wal=" + wal + ", databases=" + databases + ", pgBinDir=" + pgBinDir.map(Path::toString).orElse("(auto)") + "]";
    }
}
