package dev.holdfast.repository.retention;

import java.time.Duration;
import java.time.ZoneId;
import java.util.Objects;

/**
 * What a policy keeps (docs/retention.md).
 *
 * @param daily           how many daily slots are kept (0: none)
 * @param weekly          how many ISO-week slots are kept
 * @param monthly         how many month slots are kept
 * @param pitrWindow      how far back every point in time stays restorable; {@link Duration#ZERO} for none
 * @param zone            the zone days, weeks and months are read in (the policy's {@code time_zone})
 * @param incompleteGrace how long an incomplete backup (packs without a manifest) may be a backup
 *                        still being written before it is garbage
 */
public record RetentionRules(int daily, int weekly, int monthly, Duration pitrWindow, ZoneId zone, Duration incompleteGrace) {
    /** The default grace for incomplete backups: a day since their last object was written. */
    public static final Duration DEFAULT_GRACE = Duration.ofDays(1);

    public RetentionRules {
        if (daily < 0 || weekly < 0 || monthly < 0) {
            throw new IllegalArgumentException("negative retention count");
        }
        Objects.requireNonNull(pitrWindow, "pitrWindow");
        Objects.requireNonNull(zone, "zone");
        Objects.requireNonNull(incompleteGrace, "incompleteGrace");
        if (pitrWindow.isNegative() || incompleteGrace.isNegative()) {
            throw new IllegalArgumentException("negative duration");
        }
    }

    /** "7 daily / 4 weekly / 12 monthly": the counts, as reasons quote them. */
    public String counts() {
        return daily + " daily / " + weekly + " weekly / " + monthly + " monthly";
    }
}
