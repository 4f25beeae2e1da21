package dev.holdfast.agent.config;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The {@code wal:} section of a PostgreSQL source.
 *
 * @param mode             {@code stream} (default) or {@code archive}
 * @param slot             the replication slot's name, {@code [a-z0-9_]{1,63}}; default {@code holdfast}
 * @param partialInterval  how often the open segment is uploaded as a partial object (stream mode);
 *                         100ms to 1h, default 1s
 * @param synchronous      register as a synchronous standby (RPO 0); default false
 * @param applicationName  the replication connection's application_name; default {@code holdfast_<source>}
 * @param prefetch         segments wal-fetch fetches ahead during recovery, 0 to 64; default 8
 * @param archiveParallel  segments uploaded in parallel in archive mode, 1 to 32; default 4
 */
public record WalConfig(WalMode mode, String slot, Duration partialInterval, boolean synchronous, String applicationName,
                        int prefetch, int archiveParallel) {
    /** What a slot name must look like (PostgreSQL's rule for replication slots). */
    public static final Pattern SLOT = Pattern.compile("[a-z0-9_]{1,63}");
    public static final String DEFAULT_SLOT = "holdfast";
    public static final Duration DEFAULT_PARTIAL_INTERVAL = Duration.ofSeconds(1);
    public static final Duration MIN_PARTIAL_INTERVAL = Duration.ofMillis(100);
    public static final Duration MAX_PARTIAL_INTERVAL = Duration.ofHours(1);
    public static final int DEFAULT_PREFETCH = 8;
    public static final int MAX_PREFETCH = 64;
    public static final int DEFAULT_ARCHIVE_PARALLEL = 4;
    public static final int MAX_ARCHIVE_PARALLEL = 32;
    /** The {@code wal:} mapping of a postgres source. */
    public static final ConfigSection SECTION = ConfigSection.section("sources[].wal",
                    "How a PostgreSQL source's WAL reaches the repository (docs/postgresql.md, stream and archive modes).")
            .key("mode", "stream | archive", "stream",
                    "`stream`: the agent is a replication client; `archive`: PostgreSQL's archive_command hands segments over.")
            .key("slot", "replication slot name, [a-z0-9_]{1,63}", DEFAULT_SLOT, "The physical replication slot (stream mode), created if absent.")
            .key("partial_interval", "duration, " + MIN_PARTIAL_INTERVAL.toMillis() + "ms to " + MAX_PARTIAL_INTERVAL.toHours() + "h",
                    DEFAULT_PARTIAL_INTERVAL.toSeconds() + "s",
                    "How often the segment being filled is uploaded as a new part (stream mode): the RPO's upper bound.")
            .key("synchronous", "true | false", "false",
                    "Report the flush position only once durable, as a synchronous standby (add it to synchronous_standby_names): RPO 0.")
            .key("application_name", "1-63 printable ASCII characters", "holdfast_<source name>",
                    "The replication connection's application_name (what synchronous_standby_names names).")
            .key("prefetch", "0 to " + MAX_PREFETCH, String.valueOf(DEFAULT_PREFETCH), "Segments `holdfast-wal-fetch` fetches ahead during recovery.")
            .key("archive_parallel", "1 to " + MAX_ARCHIVE_PARALLEL, String.valueOf(DEFAULT_ARCHIVE_PARALLEL),
                    "Segments uploaded at once in archive mode (the agent uploads ahead from archive_status).")
            .build();

    public WalConfig {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(slot, "slot");
        Objects.requireNonNull(partialInterval, "partialInterval");
        Objects.requireNonNull(applicationName, "applicationName");
    }

    /** The defaults for a source named {@code sourceName}. */
    public static WalConfig defaults(String sourceName) {
        return new WalConfig(WalMode.STREAM, DEFAULT_SLOT, DEFAULT_PARTIAL_INTERVAL, false, "holdfast_" + sourceName,
                DEFAULT_PREFETCH, DEFAULT_ARCHIVE_PARALLEL);
    }

    static WalConfig parse(ConfigNode source, String sourceName) {
        ConfigNode wal = source.optionalMapping("wal", "a mapping (mode, slot, partial_interval, synchronous, ...)").orElse(null);
        if (wal == null) {
            return defaults(sourceName);
        }
        wal.allowOnly(SECTION);
        WalMode mode = wal.optionalString("mode", "stream or archive", s -> s.equals("stream") || s.equals("archive"))
                .map(s -> WalMode.valueOf(s.toUpperCase(java.util.Locale.ROOT))).orElse(WalMode.STREAM);
        String slot = wal.optionalString("slot", "a replication slot name of 1-63 characters [a-z0-9_]",
                s -> SLOT.matcher(s).matches()).orElse(DEFAULT_SLOT);
        Duration partial = wal.duration("partial_interval", MIN_PARTIAL_INTERVAL, MAX_PARTIAL_INTERVAL, DEFAULT_PARTIAL_INTERVAL);
        boolean sync = wal.bool("synchronous", false);
        String app = wal.optionalString("application_name", "an application_name of 1-63 printable ASCII characters",
                s -> s.length() <= 63 && s.chars().allMatch(c -> c >= 0x20 && c < 0x7f)).orElse("holdfast_" + sourceName);
        int prefetch = wal.integer("prefetch", 0, MAX_PREFETCH, DEFAULT_PREFETCH);
        int parallel = wal.integer("archive_parallel", 1, MAX_ARCHIVE_PARALLEL, DEFAULT_ARCHIVE_PARALLEL);
        return new WalConfig(mode, slot, partial, sync, app, prefetch, parallel);
    }
}
