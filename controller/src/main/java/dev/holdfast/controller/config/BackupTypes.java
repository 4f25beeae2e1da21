package dev.holdfast.controller.config;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which backup types each source type takes, for the API's {@code POST /backups} and for the
 * scheduler: a postgres source full, incr or logical; a Redis source an RDB snapshot ({@code rdb},
 * its AOF being shipped continuously anyway); a files source a {@code snapshot}.
 */
public final class BackupTypes {
    private static final Map<String, List<String>> BY_SOURCE = Map.of("postgres", List.of("full", "incr", "logical"), "redis", List.of("rdb"),
            "files", List.of("snapshot"));

    /**
     * The reserved schedule tag that runs a restore drill (docs/drill.md) of each postgres source the
     * policy covers, instead of a backup: {@code schedule: {drill: "0 5 * * SAT"}}.
     */
    public static final String DRILL_TAG = "drill";

    /** The source types the scheduler runs backups for. */
    public static final Set<String> SCHEDULED_SOURCE_TYPES = BY_SOURCE.keySet();

    private BackupTypes() {
    }

    /** The types a source of {@code sourceType} takes; empty for an unknown source type. */
    public static List<String> forSource(String sourceType) {
        return BY_SOURCE.getOrDefault(sourceType, List.of());
    }

    /** Whether any source type takes {@code type}. */
    public static boolean known(String type) {
        return BY_SOURCE.values().stream().anyMatch(t -> t.contains(type));
    }

    /** What a schedule of {@code scheduleType} (full or incr) runs for a source of {@code sourceType}. */
    public static String scheduled(String sourceType, String scheduleType) {
        return switch (sourceType) {
            case "redis" -> "rdb";
            case "files" -> "snapshot";
            default -> scheduleType;
        };
    }
}
