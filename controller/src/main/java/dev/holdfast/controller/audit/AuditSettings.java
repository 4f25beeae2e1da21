package dev.holdfast.controller.audit;

import dev.holdfast.agent.config.ConfigNode;
import dev.holdfast.agent.config.ConfigSection;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.repository.store.ObjectLock;
import dev.holdfast.repository.store.PutOptions;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code audit:} section of the controller configuration (docs/controller.md "Audit log"):
 * <pre>
 * audit:
 *   export_interval: 5m              # how often new entries are exported into the repository; 1s to 24h
 *   object_lock:                     # optional: export objects are created under S3 Object Lock
 *     mode: compliance               # or governance
 *     retain_days: 365               # 1 to 36500
 * </pre>
 * Read from the configuration's file on its own (the rest of the file was validated by
 * {@link ControllerConfig#load}); invalid values fail with {@code config_invalid} naming the key.
 *
 * @param exportInterval how often the exporter runs
 * @param lock           Object Lock mode and retention for export objects; empty for none
 */
public record AuditSettings(Duration exportInterval, Optional<Lock> lock) {
    public static final AuditSettings DEFAULT = new AuditSettings(Duration.ofMinutes(5), Optional.empty());
    /** The {@code audit:} mapping (docs/configuration.md is generated from it). */
    public static final ConfigSection SECTION = ConfigSection.section("audit",
                    "The audit log's export into the repository (docs/controller.md, \"Audit log\").")
            .key("export_interval", "duration, 1s to 24h", DEFAULT.exportInterval().toMinutes() + "m",
                    "How often entries appended since the last export are written into the repository (and once at shutdown).")
            .key("object_lock", "mapping", "none", "Create export objects under S3 Object Lock (see `audit.object_lock`).")
            .build();
    /** The {@code audit.object_lock:} mapping. */
    public static final ConfigSection LOCK_SECTION = ConfigSection.section("audit.object_lock",
                    "Object Lock for audit export objects (the bucket must have Object Lock enabled).")
            .key("mode", "governance | compliance", "compliance", "The lock mode.")
            .key("retain_days", "1 to 36500", "365", "Days each export object is locked from its creation.")
            .build();
    /** Both sections, in the order the reference lists them. */
    public static final List<ConfigSection> SECTIONS = List.of(SECTION, LOCK_SECTION);

    /** @param retain how long each export object is locked from its creation */
    public record Lock(ObjectLock.Mode mode, Duration retain) {
    }

    /** The settings of a loaded configuration; defaults when its file has no {@code audit:} section (or, in tests, no file). */
    public static AuditSettings of(ControllerConfig config) {
        if (!Files.isRegularFile(config.file())) {
            return DEFAULT;
        }
        ConfigNode root = ConfigNode.read(config.file());
        return root.optionalMapping("audit", "a mapping with export_interval and object_lock").map(a -> {
            a.allowOnly(SECTION);
            Duration interval = a.duration("export_interval", Duration.ofSeconds(1), Duration.ofHours(24), DEFAULT.exportInterval());
            Optional<Lock> lock = a.optionalMapping("object_lock", "a mapping with mode and retain_days").map(l -> {
                l.allowOnly(LOCK_SECTION);
                String mode = l.optionalString("mode", "governance or compliance", m -> m.equals("governance") || m.equals("compliance"))
                        .orElse("compliance");
                return new Lock(ObjectLock.Mode.valueOf(mode.toUpperCase(Locale.ROOT)), Duration.ofDays(l.integer("retain_days", 1, 36500, 365)));
            });
            return new AuditSettings(interval, lock);
        }).orElse(DEFAULT);
    }

    /** The options export objects are created with at {@code now}. */
    public PutOptions putOptions(Instant now) {
        return lock.map(l -> new PutOptions(Optional.empty(), Optional.of(new ObjectLock(l.mode(), now.plus(l.retain()))), false))
                .orElse(PutOptions.DEFAULT);
    }
}
