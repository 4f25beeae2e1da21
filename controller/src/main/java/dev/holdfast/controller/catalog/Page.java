package dev.holdfast.controller.catalog;

import java.util.List;
import java.util.Optional;

/**
 * One page of a list. @param items the items @param next the cursor for the next page; empty on the last page
 */
public record Page<T>(List<T> items, Optional<String> next) {
    public Page {
        items = List.copyOf(items);
    }
}
