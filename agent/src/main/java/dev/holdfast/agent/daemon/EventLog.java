package dev.holdfast.agent.daemon;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.config.Redact;
import dev.holdfast.error.HoldfastException;
import java.io.PrintStream;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The agent's event log: one event per line, in logfmt (docs/operations.md "Agent logs").
 *
 * <pre>
 *   ts=2026-11-23T10:00:01.250Z level=info event=source_started source=main type=postgres msg="..."   (a terminal, a file)
 *   &lt;6&gt;event=source_started source=main type=postgres msg="..."                                      (under systemd)
 * </pre>
 *
 * When the environment has {@code JOURNAL_STREAM} (systemd connected standard output to the
 * journal), each line starts with its syslog priority ({@code <3>} error, {@code <4>} warn,
 * {@code <6>} info, {@code <7>} debug) and has no timestamp, since journald adds both. Keys are
 * {@code [a-z0-9_]+}; {@code event} comes first, {@code msg} last; a value is written bare when it
 * is made of {@code [A-Za-z0-9._:/@+-]} and quoted (with {@code \"}, {@code \\}, {@code \n}
 * escapes) otherwise.
 *
 * <h2>Secrets</h2>
 * Values of keys {@code conninfo} and {@code uri} are passed through {@link Redact}; values of keys
 * that contain {@code password}, {@code secret} or {@code token} are replaced by {@code ****}.
 * Callers still never pass key material or credentials.
 *
 * <p>Thread-safe: each event is written with one {@code println}.
 */
public final class EventLog {
    private static final Pattern KEY = Pattern.compile("[a-z0-9_]+");
    private static final Pattern BARE = Pattern.compile("[A-Za-z0-9._:/@+-]+");
    private static final DateTimeFormatter TS = DateTimeFormatter.ISO_INSTANT;

    private final PrintStream out;
    private final Clock clock;
    private final LogLevel level;
    private final boolean journal;
    private final List<Object> context;

    /**
     * A log writing to {@code out}, events at {@code level} and more severe.
     *
     * @param journal whether to write journald lines (priority prefix, no timestamp); see {@link #journalDetected()}
     */
    public EventLog(PrintStream out, Clock clock, LogLevel level, boolean journal) {
        this(out, clock, level, journal, List.of());
    }

    private EventLog(PrintStream out, Clock clock, LogLevel level, boolean journal, List<Object> context) {
        this.out = Objects.requireNonNull(out, "out");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.level = Objects.requireNonNull(level, "level");
        this.journal = journal;
        this.context = context;
    }

    /** Whether systemd connected standard output to the journal ({@code JOURNAL_STREAM} is set). */
    public static boolean journalDetected() {
        String js = System.getenv("JOURNAL_STREAM");
        return js != null && !js.isEmpty();
    }

    /** A log that adds {@code key=value} to every event, after {@code event} (e.g. {@code with("source", "main")}). */
    public EventLog with(String key, Object value) {
        List<Object> c = new ArrayList<>(context);
        c.add(checkKey(key));
        c.add(value);
        return new EventLog(out, clock, level, journal, List.copyOf(c));
    }

    /** The configured level. */
    public LogLevel level() {
        return level;
    }

    /** Whether events at {@code l} are written. */
    public boolean enabled(LogLevel l) {
        return level.logs(l);
    }

    /** Logs an error event: {@code keyValues} alternate key and value; a {@code msg} key is written last. */
    public void error(String event, Object... keyValues) {
        log(LogLevel.ERROR, event, keyValues);
    }

    public void warn(String event, Object... keyValues) {
        log(LogLevel.WARN, event, keyValues);
    }

    public void info(String event, Object... keyValues) {
        log(LogLevel.INFO, event, keyValues);
    }

    public void debug(String event, Object... keyValues) {
        log(LogLevel.DEBUG, event, keyValues);
    }

    /** Logs an event at {@code l}. */
    public void log(LogLevel l, String event, Object... keyValues) {
        if (!enabled(l)) {
            return;
        }
        out.println(format(l, event, keyValues));
    }

    /** The line an event is written as (without the newline). */
    String format(LogLevel l, String event, Object... keyValues) {
        if (keyValues.length % 2 != 0) {
            throw new IllegalArgumentException("keyValues must alternate key and value");
        }
        StringBuilder b = new StringBuilder(128);
        if (journal) {
            b.append('<').append(priority(l)).append('>');
        } else {
            b.append("ts=").append(TS.format(clock.instant().truncatedTo(ChronoUnit.MILLIS)))
                    .append(" level=").append(l.value()).append(' ');
        }
        b.append("event=").append(checkKey(event));
        for (int i = 0; i < context.size(); i += 2) {
            pair(b, (String) context.get(i), context.get(i + 1));
        }
        Object msg = null;
        for (int i = 0; i < keyValues.length; i += 2) {
            String k = checkKey(String.valueOf(keyValues[i]));
            if (k.equals("msg")) {
                msg = keyValues[i + 1];
            } else {
                pair(b, k, keyValues[i + 1]);
            }
        }
        if (msg != null) {
            pair(b, "msg", msg);
        }
        return b.toString();
    }

    private static void pair(StringBuilder b, String key, Object value) {
        b.append(' ').append(key).append('=').append(quote(redact(key, render(value))));
    }

    private static String render(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Throwable t) {
            HoldfastException h = HoldfastException.find(t);
            if (h != null) {
                return h.code().code() + ": " + h.getMessage();
            }
            return t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
        }
        return v.toString();
    }

    static String redact(String key, String value) {
        if (key.equals("conninfo")) {
            return Redact.conninfo(value);
        }
        if (key.equals("uri") || key.equals("url")) {
            return Redact.uri(value);
        }
        if (key.contains("password") || key.contains("secret") || key.contains("token")) {
            return "****";
        }
        return value;
    }

    static String quote(String s) {
        if (BARE.matcher(s).matches()) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private static int priority(LogLevel l) {
        return switch (l) {
            case ERROR -> 3;
            case WARN -> 4;
            case INFO -> 6;
            case DEBUG -> 7;
        };
    }

    private static String checkKey(String key) {
        if (!KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("log keys are [a-z0-9_]+: " + key);
        }
        return key;
    }
}
