package dev.holdfast.controller.catalog;

import java.util.Locale;

/** A job's life: queued -> dispatched -> running -> succeeded | failed. */
public enum JobState {
    QUEUED, DISPATCHED, RUNNING, SUCCEEDED, FAILED;

    public boolean finished() {
        return this == SUCCEEDED || this == FAILED;
    }

    /** The stable lower-case name used in the API and the catalog. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static JobState ofWire(String s) {
        return valueOf(s.toUpperCase(Locale.ROOT));
    }
}
