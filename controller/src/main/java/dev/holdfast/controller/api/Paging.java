package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.Page;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Cursor pagination (docs/api.md "Pagination"): {@code ?limit=} 1..1000 (default 100) and
 * {@code ?cursor=} from the previous page's {@code next}; a page is {@code {"items": [...], "next":
 * cursor-or-null}}. Only {@code next: null} means the end: a page may hold fewer items than
 * {@code limit} (a filtered list stops scanning after {@value #MAX_SCANNED_PAGES} catalog pages).
 *
 * <p>Cursors of lists the API composes itself (filtered or merged lists) are base64url JSON made
 * here; the others are the catalog's own, passed through.
 */
final class Paging {
    static final int MAX_SCANNED_PAGES = 20;
    static final int MAX_CURSOR_LENGTH = 4096;

    private Paging() {
    }

    /** The page asked for by {@code ?limit=} and {@code ?cursor=}; {@code usage} naming the parameter otherwise. */
    static PageRequest request(HttpServerRequest req) {
        int limit = PageRequest.DEFAULT_LIMIT;
        String l = req.getParam("limit");
        if (l != null) {
            try {
                limit = Integer.parseInt(l.trim());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > PageRequest.MAX_LIMIT) {
                throw new HoldfastException(ErrorCode.USAGE, "query parameter 'limit' must be an integer from 1 to "
                        + PageRequest.MAX_LIMIT);
            }
        }
        String c = req.getParam("cursor");
        if (c != null && (c.isEmpty() || c.length() > MAX_CURSOR_LENGTH)) {
            throw badCursor();
        }
        return new PageRequest(Optional.ofNullable(c), limit);
    }

    static HoldfastException badCursor() {
        return new HoldfastException(ErrorCode.USAGE, "query parameter 'cursor' is not a cursor this list returned"
                + " (pass the 'next' value of the previous page unchanged)");
    }

    /** The JSON body of a page. */
    static JsonObject body(List<JsonObject> items, Optional<String> next) {
        return new JsonObject().put("items", new JsonArray(new ArrayList<>(items))).put("next", next.orElse(null));
    }

    static String encode(JsonObject cursor) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(cursor.encode().getBytes(StandardCharsets.UTF_8));
    }

    /** A cursor made by {@link #encode}; {@code usage} for anything else. */
    static JsonObject decode(String cursor) {
        try {
            return new JsonObject(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException | DecodeException | ClassCastException e) {
            throw badCursor();
        }
    }

    /**
     * The items of a catalog list that {@code keep} accepts, paged. The cursor remembers the catalog
     * cursor of the page it stopped in ({@code u}), that page's size ({@code l}) and how many of its
     * items were consumed ({@code s}), so that no item is skipped or repeated.
     */
    static <T> Future<Page<T>> filtered(Function<PageRequest, Future<Page<T>>> fetch, Predicate<T> keep, PageRequest req) {
        Optional<String> under;
        int skip;
        int pageSize;
        if (req.cursor().isPresent()) {
            JsonObject c = decode(req.cursor().get());
            try {
                under = Optional.ofNullable(c.getString("u"));
                Integer s = c.getInteger("s");
                Integer l = c.getInteger("l");
                if (s == null || l == null || s < 0 || l < 1 || l > PageRequest.MAX_LIMIT || s > l) {
                    throw badCursor();
                }
                skip = s;
                pageSize = l;
            } catch (ClassCastException e) {
                throw badCursor();
            }
        } else {
            under = Optional.empty();
            skip = 0;
            pageSize = req.limit();
        }
        return scan(fetch, keep, req.limit(), under, skip, pageSize, new ArrayList<>(), 0);
    }

    private static <T> Future<Page<T>> scan(Function<PageRequest, Future<Page<T>>> fetch, Predicate<T> keep, int limit,
                                            Optional<String> under, int skip, int pageSize, List<T> out, int scanned) {
        return fetch.apply(new PageRequest(under, pageSize)).compose(page -> {
            List<T> items = page.items();
            for (int i = skip; i < items.size(); i++) {
                if (keep.test(items.get(i))) {
                    out.add(items.get(i));
                    if (out.size() == limit) {
                        int consumed = i + 1;
                        Optional<String> next = consumed < items.size()
                                ? Optional.of(cursor(under, consumed, pageSize))
                                : page.next().map(n -> cursor(Optional.of(n), 0, pageSize));
                        return Future.succeededFuture(new Page<>(out, next));
                    }
                }
            }
            if (page.next().isEmpty()) {
                return Future.succeededFuture(new Page<>(out, Optional.empty()));
            }
            if (scanned + 1 >= MAX_SCANNED_PAGES) {
                return Future.succeededFuture(new Page<>(out, Optional.of(cursor(page.next(), 0, pageSize))));
            }
            return scan(fetch, keep, limit, page.next(), 0, pageSize, out, scanned + 1);
        });
    }

    private static String cursor(Optional<String> under, int skip, int pageSize) {
        return encode(new JsonObject().put("u", under.orElse(null)).put("s", skip).put("l", pageSize));
    }

    /** Walks every page of a catalog list (for small lists the API joins, such as sources). */
    static <T> Future<List<T>> all(Function<PageRequest, Future<Page<T>>> fetch) {
        return allFrom(fetch, Optional.empty(), new ArrayList<>());
    }

    private static <T> Future<List<T>> allFrom(Function<PageRequest, Future<Page<T>>> fetch, Optional<String> cursor, List<T> out) {
        return fetch.apply(new PageRequest(cursor, PageRequest.MAX_LIMIT)).compose(p -> {
            out.addAll(p.items());
            return p.next().isEmpty() ? Future.succeededFuture(out) : allFrom(fetch, p.next(), out);
        });
    }
}
