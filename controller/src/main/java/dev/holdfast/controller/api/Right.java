package dev.holdfast.controller.api;

/** What an endpoint needs (see {@link Role#may}). */
public enum Right {
    /** Reading: every role. */
    READ,
    /** Operational mutations (backups, verify, restores, drills): admin and service. */
    OPERATE,
    /** Tokens, enrolment tokens, policies: admin only. */
    ADMINISTER
}
