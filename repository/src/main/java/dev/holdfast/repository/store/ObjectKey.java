package dev.holdfast.repository.store;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The name of an object inside a repository, relative to the repository's root (bucket prefix or
 * directory). docs/format.md, "Object names", is the specification.
 *
 * <p>A key is one or more segments joined by {@code /}. Each segment is 1-255 characters of
 * {@code [A-Za-z0-9._=+-]}, does not start with {@code .} (so {@code .} and {@code ..} are
 * impossible and dot-names are free for a store's own temporary files), and the whole key is at most
 * 1024 bytes. These rules make a key safe as an S3 key, as a relative file path and in a shell,
 * with no escaping anywhere: traversal is impossible by construction.
 */
public final class ObjectKey implements Comparable<ObjectKey> {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_=+-][A-Za-z0-9._=+-]{0,254}");
    public static final int MAX_LENGTH = 1024;

    private final String value;

    private ObjectKey(String value) {
        this.value = value;
    }

    /** Parses and validates a key; throws {@link ErrorCode#USAGE} naming the offending part. */
    public static ObjectKey of(String value) {
        String problem = problem(value);
        if (problem != null) {
            throw new HoldfastException(ErrorCode.USAGE, "invalid object name '" + printable(value) + "': " + problem);
        }
        return new ObjectKey(value);
    }

    /** Whether {@code value} is a valid key. */
    public static boolean isValid(String value) {
        return problem(value) == null;
    }

    /** Joins validated segments, e.g. {@code ObjectKey.of("keys").resolve("abc")}. */
    public ObjectKey resolve(String child) {
        return of(value + "/" + child);
    }

    private static String problem(String value) {
        if (value == null || value.isEmpty()) {
            return "it is empty";
        }
        if (value.getBytes(StandardCharsets.UTF_8).length > MAX_LENGTH) {
            return "longer than " + MAX_LENGTH + " bytes";
        }
        if (value.startsWith("/") || value.endsWith("/")) {
            return "it starts or ends with '/'";
        }
        for (String segment : value.split("/", -1)) {
            if (segment.isEmpty()) {
                return "it has an empty path segment ('//')";
            }
            if (!SEGMENT.matcher(segment).matches()) {
                return "segment '" + printable(segment)
                        + "' must be 1-255 of [A-Za-z0-9._=+-] and must not start with '.'";
            }
        }
        return null;
    }

    private static String printable(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(200).forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f) {
                b.append(String.format("\\x%02x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.toString();
    }

    /** The key as stored, e.g. {@code wal/main/000000010000000000000003}. */
    public String value() {
        return value;
    }

    /** The last segment. */
    public String fileName() {
        int slash = value.lastIndexOf('/');
        return slash < 0 ? value : value.substring(slash + 1);
    }

    @Override
    public int compareTo(ObjectKey o) {
        return value.compareTo(o.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ObjectKey k && k.value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return value;
    }
}
