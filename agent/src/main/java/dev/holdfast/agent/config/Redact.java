package dev.holdfast.agent.config;

import java.util.regex.Pattern;

/**
 * Removes secrets from strings that are shown to operators (logs, status, messages): passwords in
 * PostgreSQL connection strings (key/value and URI forms) and in URIs such as {@code redis://}.
 */
public final class Redact {
    /** {@code password=...} and {@code sslpassword=...} in a key/value conninfo: a quoted value or a bare word, both with backslash escapes. */
    private static final Pattern KV_PASSWORD = Pattern.compile("(?i)(\\b(?:ssl)?password\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'?|(?:\\\\.|[^\\s\\\\])*\\\\?)");
    /** {@code scheme://user:password@host}: the part between the first ':' after "//" and the '@'. */
    private static final Pattern URI_PASSWORD = Pattern.compile("(?i)([a-z][a-z0-9+.-]*://[^:/@\\s]*:)[^@\\s/]*(@)");
    /** {@code ?password=...} or {@code &password=...} in a URI's query. */
    private static final Pattern QUERY_PASSWORD = Pattern.compile("(?i)([?&]password=)[^&\\s]*");

    private Redact() {
    }

    /** A PostgreSQL conninfo (key/value or {@code postgresql://} URI) with every password replaced by {@code ****}. */
    public static String conninfo(String conninfo) {
        if (conninfo == null) {
            return null;
        }
        if (conninfo.trim().matches("(?is)postgres(ql)?://.*")) {
            return uri(conninfo);
        }
        return KV_PASSWORD.matcher(conninfo).replaceAll("$1****");
    }

    /** A URI (e.g. {@code redis://:secret@host:6379}) with its user-info password replaced by {@code ****}. */
    public static String uri(String uri) {
        if (uri == null) {
            return null;
        }
        return QUERY_PASSWORD.matcher(URI_PASSWORD.matcher(uri).replaceAll("$1****$2")).replaceAll("$1****");
    }
}
