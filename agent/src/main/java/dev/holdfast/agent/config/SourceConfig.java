package dev.holdfast.agent.config;

import java.util.regex.Pattern;

/**
 * One entry of {@code sources:}. Every source has a unique {@link #name()} (1-63 of
 * {@code [A-Za-z0-9_-]}, starting with a letter or digit: it appears in object names) and a
 * {@link #type()}; the rest depends on the type. {@code toString()} never shows a secret.
 */
public sealed interface SourceConfig permits PostgresSourceConfig, RedisSourceConfig, FilesSourceConfig {
    /** What a source name must look like. */
    Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");

    /** The source's name, unique in the file. */
    String name();

    /** {@code postgres}, {@code redis} or {@code files}. */
    String type();
}
