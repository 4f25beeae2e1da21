package dev.holdfast.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One node of a configuration file with its key path ({@code sources[1].wal.mode}), and typed,
 * validating accessors. Every failure is {@code CONFIG_INVALID} with the message
 * {@code <file>: <path>: expected <what>, found <what was there>}; values of keys in
 * {@link #SECRET_KEYS} are never quoted back, only their type.
 */
public final class ConfigNode {
    /** Keys whose values are never shown in messages. */
    static final Set<String> SECRET_KEYS = Set.of("secret_access_key", "conninfo", "uri", "password", "catalog");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");

    private final Path file;
    private final String path;
    private final JsonNode node;

    private ConfigNode(Path file, String path, JsonNode node) {
        this.file = file;
        this.path = path;
        this.node = node;
    }

    /**
     * Reads {@code file} as YAML whose top level is a mapping.
     *
     * @throws HoldfastException {@code CONFIG_INVALID} naming the file when it is missing, unreadable,
     *                           not YAML or not a mapping
     */
    public static ConfigNode read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " is not readable (permission denied)");
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " could not be read: " + e);
        }
        JsonNode root;
        try {
            root = YAML.readTree(bytes);
        } catch (IOException e) {
            // Jackson's first line names the problem and the position, never the whole document.
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " is not valid YAML: " + msg);
        }
        if (root == null || !root.isObject()) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " must be a YAML mapping");
        }
        return new ConfigNode(file, "", root);
    }

    /** The file this node came from. */
    public Path file() {
        return file;
    }

    /** The key path, e.g. {@code sources[1].wal}; empty at the top level. */
    public String path() {
        return path;
    }

    /** The raw node (never null; a missing key is a {@code MissingNode}). */
    public JsonNode raw() {
        return node;
    }

    private String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /**
     * Refuses any key of this mapping not in {@code allowed}.
     *
     * @throws HoldfastException {@code CONFIG_INVALID} naming the key and listing the allowed ones
     */
    public ConfigNode allowOnly(Collection<String> allowed) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": " + child(k) + ": unknown key (expected one of "
                        + String.join(", ", allowed) + ")");
            }
        }
        return this;
    }

    /** As {@link #allowOnly(Collection)} with the keys {@code section} declares. */
    public ConfigNode allowOnly(ConfigSection section) {
        return allowOnly(section.names());
    }

    /** Whether the key is present with a non-null value. */
    public boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** The mapping under {@code key}, or empty when absent. */
    public Optional<ConfigNode> optionalMapping(String key, String expected) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonNode v = node.get(key);
        if (!v.isObject()) {
            throw invalid(key, expected);
        }
        return Optional.of(new ConfigNode(file, child(key), v));
    }

    /** The mapping under {@code key}; required. */
    public ConfigNode mapping(String key, String expected) {
        return optionalMapping(key, expected).orElseThrow(() -> missing(key, expected));
    }

    /** The elements of the list under {@code key}, each a node named {@code key[i]}; empty when absent. */
    public List<ConfigNode> list(String key, String expected) {
        if (!has(key)) {
            return List.of();
        }
        JsonNode v = node.get(key);
        if (!v.isArray()) {
            throw invalid(key, expected);
        }
        List<ConfigNode> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            out.add(new ConfigNode(file, child(key) + "[" + i + "]", v.get(i)));
        }
        return out;
    }

    /** A list of strings under {@code key}; empty when absent. */
    public List<String> stringList(String key, String expected) {
        List<String> out = new ArrayList<>();
        for (ConfigNode e : list(key, "a list of " + expected)) {
            if (!e.node.isTextual() || e.node.asText().isEmpty()) {
                throw e.fail("expected " + expected + ", found " + e.describe(key));
            }
            out.add(e.node.asText());
        }
        return out;
    }

    /** A string under {@code key}, or empty when absent. Numbers and booleans are not strings. */
    public Optional<String> optionalString(String key, String expected) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonNode v = node.get(key);
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw invalid(key, expected);
        }
        return Optional.of(v.asText());
    }

    /** A required string under {@code key}. */
    public String string(String key, String expected) {
        return optionalString(key, expected).orElseThrow(() -> missing(key, expected));
    }

    /** A string that must match {@code valid}. */
    public Optional<String> optionalString(String key, String expected, Predicate<String> valid) {
        Optional<String> s = optionalString(key, expected);
        if (s.isPresent() && !valid.test(s.get())) {
            throw invalid(key, expected);
        }
        return s;
    }

    /** A boolean ({@code true} or {@code false}), or {@code dflt} when absent. */
    public boolean bool(String key, boolean dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode v = node.get(key);
        if (!v.isBoolean()) {
            throw invalid(key, "true or false");
        }
        return v.asBoolean();
    }

    /** An integer in {@code [min, max]}, or {@code dflt} when absent. */
    public int integer(String key, int min, int max, int dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode v = node.get(key);
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw invalid(key, "an integer from " + min + " to " + max);
        }
        return v.asInt();
    }

    /** A duration such as {@code 500ms}, {@code 1s}, {@code 2m}, {@code 1h} in {@code [min, max]}, or {@code dflt}. */
    public Duration duration(String key, Duration min, Duration max, Duration dflt) {
        String expected = "a duration such as 500ms, 1s, 2m or 1h, from " + format(min) + " to " + format(max);
        Optional<String> s = optionalString(key, expected);
        if (s.isEmpty()) {
            return dflt;
        }
        Matcher m = DURATION.matcher(s.get().trim());
        if (!m.matches()) {
            throw invalid(key, expected);
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw invalid(key, expected);
        }
        return d;
    }

    /** An absolute path under {@code key}, or empty when absent. */
    public Optional<Path> optionalAbsolutePath(String key) {
        return optionalString(key, "an absolute path", s -> s.startsWith("/")).map(Path::of).map(Path::normalize);
    }

    /** A required absolute path under {@code key}. */
    public Path absolutePath(String key) {
        return optionalAbsolutePath(key).orElseThrow(() -> missing(key, "an absolute path"));
    }

    /** The {@code CONFIG_INVALID} failure for {@code key} of this node: expected, found. */
    public HoldfastException invalid(String key, String expected) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": " + child(key) + ": expected " + expected + ", found "
                + describe(node.get(key), key));
    }

    /** The failure for a required key that is absent. */
    public HoldfastException missing(String key, String expected) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": " + child(key) + ": expected " + expected
                + ", found nothing (it is required)");
    }

    /** A failure about this node as a whole. */
    public HoldfastException fail(String message) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": " + (path.isEmpty() ? "" : path + ": ") + message);
    }

    /** A failure about {@code subPath} below this node (e.g. {@code paths[0]}). */
    public HoldfastException failAt(String subPath, String message) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": " + child(subPath) + ": " + message);
    }

    private String describe(String key) {
        return describe(node, key);
    }

    /** What was found, for messages: the value of a scalar (not of a secret key), else its kind. */
    static String describe(JsonNode v, String key) {
        if (v == null || v.isMissingNode() || v.isNull()) {
            return "nothing";
        }
        if (v.isObject()) {
            return "a mapping";
        }
        if (v.isArray()) {
            return "a list";
        }
        if (SECRET_KEYS.contains(key)) {
            return v.isTextual() ? "a string (not shown)" : "a " + v.getNodeType().name().toLowerCase(Locale.ROOT);
        }
        if (v.isTextual()) {
            String s = v.asText();
            return s.isEmpty() ? "an empty string" : "'" + (s.length() > 80 ? s.substring(0, 80) + "..." : s) + "'";
        }
        return v.toString();
    }

    private static String format(Duration d) {
        if (d.toMillis() < 1000) {
            return d.toMillis() + "ms";
        }
        if (d.toSeconds() < 60) {
            return d.toSeconds() + "s";
        }
        if (d.toMinutes() < 60) {
            return d.toMinutes() + "m";
        }
        return d.toHours() + "h";
    }
}
