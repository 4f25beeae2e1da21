package dev.holdfast.controller.catalog;

import java.util.Locale;

/**
 * A restore request's life (docs/controller.md "Restore authorization"):
 * {@code requested -> approved -> running -> done | failed}; an approved request whose grant
 * expires before the agent starts becomes {@code expired}; one the agent refuses (signature,
 * expiry, host, target, replay) becomes {@code refused}.
 */
public enum RestoreState {
    REQUESTED, APPROVED, RUNNING, DONE, FAILED, REFUSED, EXPIRED;

    public boolean finished() {
        return this == DONE || this == FAILED || this == REFUSED || this == EXPIRED;
    }

    /** The stable lower-case name used in the API and the catalog. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static RestoreState ofWire(String s) {
        return valueOf(s.toUpperCase(Locale.ROOT));
    }
}
