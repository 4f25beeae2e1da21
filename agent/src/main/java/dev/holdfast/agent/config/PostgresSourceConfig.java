package dev.holdfast.agent.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A {@code type: postgres} source.
 *
 * @param name     the source's name
 * @param dataDir  the cluster's data directory; absolute (whether it exists is checked by the source when it starts)
 * @param conninfo a libpq connection string (key/value or URI); may hold a password, so it is never
 *                 shown: use {@link Redact#conninfo} to print it
 * @param wal      how WAL is received and shipped
 */
public record PostgresSourceConfig(String name, Path dataDir, String conninfo, WalConfig wal) implements SourceConfig {
    public static final String TYPE = "postgres";
    static final List<String> KEYS = List.of("name", "type", "data_dir", "conninfo", "wal");

    public PostgresSourceConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(conninfo, "conninfo");
        Objects.requireNonNull(wal, "wal");
    }

    @Override
    public String type() {
        return TYPE;
    }

    static PostgresSourceConfig parse(ConfigNode n, String name) {
        n.allowOnly(KEYS);
        Path dataDir = n.absolutePath("data_dir");
        String conninfo = n.string("conninfo", "a libpq connection string such as \"host=/var/run/postgresql user=holdfast\"");
        return new PostgresSourceConfig(name, dataDir, conninfo, WalConfig.parse(n, name));
    }

    @Override
    public String toString() {
        return "PostgresSourceConfig[name=" + name + ", dataDir=" + dataDir + ", conninfo=" + Redact.conninfo(conninfo)
                + ", wal=" + wal + "]";
    }
}
