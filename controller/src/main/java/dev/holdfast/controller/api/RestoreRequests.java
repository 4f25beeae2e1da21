package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.PageRequest;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Objects;
import java.util.Optional;

/**
 * Restore requests ({@code /api/v1/restores}, docs/api.md), implemented by the controller's restore
 * service. The API has checked the fields' shape and the caller's right (OPERATE: admin and
 * service; analyst neither requests nor approves) and audits each call itself; implementations
 * audit the later steps (grant, delivery, outcome). Answers are the request's JSON form.
 */
public interface RestoreRequests {
    /**
     * What a requester asks for.
     *
     * @param host   the agent that restores (target host)
     * @param backup {@code latest} or a backup id
     * @param toTime RFC 3339; at most one of toTime, toLsn, immediate
     * @param target absolute directory on {@code host}
     */
    record Ask(String host, String source, String backup, Optional<String> toTime, Optional<String> toLsn, boolean immediate,
               String target) {
        public Ask {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(backup, "backup");
            Objects.requireNonNull(toTime, "toTime");
            Objects.requireNonNull(toLsn, "toLsn");
            Objects.requireNonNull(target, "target");
        }
    }

    /** Validates and stores a request ({@code requested}); fails with usage, not_found, conflict or target_not_allowed. */
    Future<JsonObject> request(Ask ask, Actor actor, String requestId);

    /**
     * Adds an approval; the last one needed issues the signed grant and sends it to the agent if
     * connected. Fails with not_found, conflict (not {@code requested}) or approval_refused (the
     * two-person rule).
     */
    Future<JsonObject> approve(String id, Actor actor, String requestId);

    Future<JsonObject> get(String id);

    /** A page of requests, newest first: {@code {"items": [...], "next": ...}}. */
    Future<JsonObject> list(PageRequest page);
}
