package dev.holdfast.controller.catalog;

import java.util.Optional;

/**
 * Which page of a list: an opaque cursor from the previous {@link Page#next()} (empty: the first
 * page) and a page size (1..{@value #MAX_LIMIT}).
 */
public record PageRequest(Optional<String> cursor, int limit) {
    public static final int DEFAULT_LIMIT = 100;
    public static final int MAX_LIMIT = 1000;
    public static final PageRequest FIRST = new PageRequest(Optional.empty(), DEFAULT_LIMIT);

    public PageRequest {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be 1.." + MAX_LIMIT + ", not " + limit);
        }
    }
}
