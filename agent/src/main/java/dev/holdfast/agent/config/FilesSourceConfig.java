package dev.holdfast.agent.config;

import java.util.List;
import java.util.Objects;

/**
 * A {@code type: files} source (docs/files.md).
 *
 * @param name           the source's name
 * @param paths          absolute paths or glob patterns of the files to keep (at least one, unless
 *                       {@code tail} is given); a path without glob characters that is a directory
 *                       means the directory and everything below it
 * @param exclude        glob patterns excluded from {@code paths}; may be empty
 * @param tail           absolute paths or globs of append-only files shipped continuously; may be empty
 * @param includeSecrets glob patterns of files kept although they look like secrets (by default such
 *                       files are excluded and reported, docs/files.md); may be empty
 */
public record FilesSourceConfig(String name, List<String> paths, List<String> exclude, List<String> tail, List<String> includeSecrets)
        implements SourceConfig {
    public static final String TYPE = "files";
    /** A {@code sources[]} entry of type files. */
    public static final ConfigSection SECTION = ConfigSection.section("sources[] (type: files)",
                    "Configuration and log files: content-addressed snapshots and tailed append-only files (docs/files.md).")
            .key("name", "1-63 of [A-Za-z0-9_-], starting with a letter or digit; unique", "required", "The source's name.")
            .key("type", "files", "required", "The source type.")
            .key("paths", "list of absolute paths or globs", "required unless tail is given",
                    "Files to snapshot; a directory means everything below it.")
            .key("exclude", "list of globs (absolute, or starting with **/)", "none", "Left out of snapshots; an excluded directory is not descended into.")
            .key("tail", "list of absolute paths or globs", "none", "Append-only files (logs) shipped continuously, through rotation.")
            .key("include_secrets", "list of globs", "none", "Files kept although they look like secrets (excluded by default).")
            .build();
    static final List<String> KEYS = SECTION.names();

    public FilesSourceConfig {
        Objects.requireNonNull(name, "name");
        paths = List.copyOf(paths);
        exclude = List.copyOf(exclude);
        tail = List.copyOf(tail);
        includeSecrets = List.copyOf(includeSecrets);
    }

    /** Without {@code include_secrets}. */
    public FilesSourceConfig(String name, List<String> paths, List<String> exclude, List<String> tail) {
        this(name, paths, exclude, tail, List.of());
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
        absolute(n, "paths", paths, abs);
        List<String> tail = n.stringList("tail", abs);
        absolute(n, "tail", tail, abs);
        List<String> exclude = n.stringList("exclude", "a glob pattern");
        List<String> include = n.stringList("include_secrets", "a glob pattern");
        for (String key : List.of("paths", "tail", "exclude", "include_secrets")) {
            List<String> l = switch (key) {
                case "paths" -> paths;
                case "tail" -> tail;
                case "exclude" -> exclude;
                default -> include;
            };
            for (int i = 0; i < l.size(); i++) {
                try {
                    java.nio.file.FileSystems.getDefault().getPathMatcher("glob:" + l.get(i));
                } catch (RuntimeException e) {
                    throw n.failAt(key + "[" + i + "]", "expected a valid glob pattern, found '" + l.get(i) + "'");
                }
            }
        }
        return new FilesSourceConfig(name, paths, exclude, tail, include);
    }

    private static void absolute(ConfigNode n, String key, List<String> l, String abs) {
        for (int i = 0; i < l.size(); i++) {
            if (!l.get(i).startsWith("/")) {
                throw n.failAt(key + "[" + i + "]", "expected " + abs + ", found '" + l.get(i) + "'");
            }
        }
    }
}
