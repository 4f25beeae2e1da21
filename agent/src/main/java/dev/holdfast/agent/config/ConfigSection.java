package dev.holdfast.agent.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The declaration of one mapping of a configuration file: its path, what it is for, and every key
 * it may hold with its type, default and meaning. Declared once, beside the parser that reads the
 * mapping: the parser's unknown-key check ({@link ConfigNode#allowOnly(ConfigSection)}) and the
 * generated configuration reference (docs/configuration.md, {@code holdfast config reference}) both
 * come from it, so the documentation cannot list a key the parser refuses or miss one it takes.
 *
 * @param path    where the mapping is, e.g. {@code sources[] (type: postgres)} or {@code sources[].wal}
 * @param summary one sentence on what the mapping configures
 * @param keys    its keys, in the order the reference lists them
 */
public record ConfigSection(String path, String summary, List<Key> keys) {
    public ConfigSection {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(summary, "summary");
        keys = List.copyOf(keys);
    }

    /**
     * One key.
     *
     * @param name         the key as written in the file
     * @param type         what value it takes, for a reader ("duration (ms, s, m, h)", "absolute path", ...)
     * @param defaultValue the value when the key is absent, as a reader would write it; "required" when
     *                     it must be given, "none" when absence means "not used"
     * @param description  what it does
     */
    public record Key(String name, String type, String defaultValue, String description) {
        public Key {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(defaultValue, "defaultValue");
            Objects.requireNonNull(description, "description");
        }
    }

    /** A section under construction. */
    public static Builder section(String path, String summary) {
        return new Builder(path, summary);
    }

    /** The key names, in declaration order. */
    public List<String> names() {
        return keys.stream().map(Key::name).toList();
    }

    /** Builds a {@link ConfigSection} key by key. */
    public static final class Builder {
        private final String path;
        private final String summary;
        private final List<Key> keys = new ArrayList<>();

        private Builder(String path, String summary) {
            this.path = path;
            this.summary = summary;
        }

        /** Adds a key; {@code defaultValue} is "required" for a key that must be given. */
        public Builder key(String name, String type, String defaultValue, String description) {
            keys.add(new Key(name, type, defaultValue, description));
            return this;
        }

        public ConfigSection build() {
            return new ConfigSection(path, summary, keys);
        }
    }
}
