package dev.holdfast.controller.api;

import java.util.Locale;
import java.util.Optional;

/**
 * An API token's role. Rights are fixed (docs/api.md "Roles"): {@code analyst} reads,
 * {@code service} also runs operational mutations (backups, verify, restores, drills), {@code admin}
 * may do everything, including issuing tokens and changing policies.
 */
public enum Role {
    ADMIN, SERVICE, ANALYST;

    /** The stable lower-case name stored in the catalog and used in the API. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The role named {@code s} (lower case), if it is one. */
    public static Optional<Role> ofWire(String s) {
        for (Role r : values()) {
            if (r.wire().equals(s)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** Whether this role holds {@code right}. */
    public boolean may(Right right) {
        return switch (right) {
            case READ -> true;
            case OPERATE -> this == ADMIN || this == SERVICE;
            case ADMINISTER -> this == ADMIN;
        };
    }
}
