package dev.holdfast.repository.store;

import java.util.List;
import java.util.Optional;

/**
 * One page of a listing, in ascending key order (UTF-8 byte order, as S3 lists).
 *
 * @param objects the complete objects on this page
 * @param next    the token for the next page, empty on the last page
 */
public record ListPage(List<ObjectInfo> objects, Optional<String> next) {
    public ListPage {
        objects = List.copyOf(objects);
    }
}
