package dev.holdfast.controller.api;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RequestBody;
import java.util.Collection;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Request bodies: a JSON object whose fields are checked one by one; every failure is
 * {@code usage} (400) naming the field and what was expected. Unknown fields are refused too, so
 * that a misspelt optional field is not silently ignored.
 */
final class Bodies {
    private Bodies() {
    }

    static JsonObject object(RequestBody body, String example) {
        String s = body == null || body.isEmpty() ? "" : body.asString();
        if (s == null || s.isBlank()) {
            throw new HoldfastException(ErrorCode.USAGE, "a JSON object body is required, such as " + example);
        }
        try {
            return new JsonObject(s);
        } catch (DecodeException | ClassCastException e) {
            throw new HoldfastException(ErrorCode.USAGE, "the body is not a JSON object; expected one such as " + example);
        }
    }

    static void allowOnly(JsonObject body, Collection<String> fields) {
        for (String f : body.fieldNames()) {
            if (!fields.contains(f)) {
                throw new HoldfastException(ErrorCode.USAGE, "unknown field '" + clip(f) + "' (expected: " + String.join(", ", fields) + ")");
            }
        }
    }

    static String string(JsonObject body, String field, Pattern shape, String expected) {
        return optionalString(body, field, shape, expected)
                .orElseThrow(() -> new HoldfastException(ErrorCode.USAGE, "field '" + field + "' is required: " + expected));
    }

    static Optional<String> optionalString(JsonObject body, String field, Pattern shape, String expected) {
        Object v = body.getValue(field);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof String s)) {
            throw new HoldfastException(ErrorCode.USAGE, "field '" + field + "' must be a string: " + expected);
        }
        if (!shape.matcher(s).matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "field '" + field + "' is invalid: " + expected);
        }
        return Optional.of(s);
    }

    /** A client-supplied name shortened for a message. */
    static String clip(String s) {
        String t = s.replaceAll("[^\\x20-\\x7e]", "?");
        return t.length() <= 64 ? t : t.substring(0, 64) + "...";
    }
}
