package dev.holdfast.agent.config;

import java.util.List;
import java.util.Objects;

/**
 * A {@code type: files} source. Parsed and validated; this build cannot run it yet.
 *
 * @param name    the source's name
 * @param paths   absolute paths or glob patterns of the files to keep (at least one)
 * @param exclude glob patterns excluded from {@code paths} (secrets, keys); may be empty
 * @param tail    absolute paths or globs of append-only files shipped continuously; may be empty
 */
public record FilesSourceConfig(String name, List<String> paths, List<String> exclude, List<String> tail) implements SourceConfig {
    public static final String TYPE = "files";
    static final List<String> KEYS = List.of("name", "type", "paths", "exclude", "tail");

    public FilesSourceConfig {
        Objects.requireNonNull(name, "name");
        paths = List.copyOf(paths);
        exclude = List.copyOf(exclude);
        tail = List.copyOf(tail);
    }

    @Override
    public String type() {
        return TYPE;
    }

    static FilesSourceConfig parse(ConfigNode n, String name) {
        n.allowOnly(KEYS);
        String abs = "an absolute path or glob pattern";
        List<String> paths = n.stringList("paths", abs);
        if (paths.isEmpty() && !n.has("tail")) {
            throw n.missing("paths", "a list of absolute paths or glob patterns");
        }
        for (int i = 0; i < paths.size(); i++) {
            if (!paths.get(i).startsWith("/")) {
                throw n.failAt("paths[" + i + "]", "expected " + abs + ", found '" + paths.get(i) + "'");
            }
        }
        List<String> tail = n.stringList("tail", abs);
        for (int i = 0; i < tail.size(); i++) {
            if (!tail.get(i).startsWith("/")) {
                throw n.failAt("tail[" + i + "]", "expected " + abs + ", found '" + tail.get(i) + "'");
            }
        }
        return new FilesSourceConfig(name, paths, n.stringList("exclude", "a glob pattern"), tail);
    }
}
