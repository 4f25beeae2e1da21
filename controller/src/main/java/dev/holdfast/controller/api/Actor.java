package dev.holdfast.controller.api;

import java.util.Objects;

/**
 * Who made an API request: the token's name (its role when it has none) and its role. This is what
 * audit entries name; it never holds the token itself.
 */
public record Actor(String name, Role role) {
    public Actor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(role, "role");
    }
}
