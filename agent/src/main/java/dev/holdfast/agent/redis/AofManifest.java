package dev.holdfast.agent.redis;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Redis 7's multi-part AOF manifest ({@code appendonlydir/<appendfilename>.manifest}): one line per
 * file, {@code file <name> seq <n> type <b|h|i>}, in order: the base, history files, then the
 * incr files in the order Redis replays them. Only the keys Redis 7.0 writes are read; a file name
 * Redis had to quote (spaces, special characters) is refused rather than guessed.
 *
 * @param base  the base file (at most one; Redis may run without one until its first rewrite)
 * @param incrs the incr files, in replay order
 */
public record AofManifest(Optional<Entry> base, List<Entry> incrs) {
    /** One file of the manifest. */
    public record Entry(String file, long seq, char type) {
        /** Whether the base is an RDB ({@code .base.rdb}, the preamble) rather than an AOF. */
        public boolean rdb() {
            return file.endsWith(".rdb");
        }
    }

    public AofManifest {
        incrs = List.copyOf(incrs);
    }

    /** Parses a manifest's text; {@code what} names it in errors. History ({@code h}) entries are skipped. */
    public static AofManifest parse(String text, String what) {
        Entry base = null;
        List<Entry> incrs = new ArrayList<>();
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] w = line.split(" +");
            String file = null;
            Long seq = null;
            Character type = null;
            if (w.length % 2 != 0) {
                throw bad(what, line);
            }
            for (int i = 0; i < w.length; i += 2) {
                switch (w[i]) {
                    case "file" -> file = w[i + 1];
                    case "seq" -> {
                        try {
                            seq = Long.parseLong(w[i + 1]);
                        } catch (NumberFormatException e) {
                            throw bad(what, line);
                        }
                    }
                    case "type" -> type = w[i + 1].length() == 1 ? w[i + 1].charAt(0) : '?';
                    default -> {
                        // keys of later versions are ignored, as Redis does
                    }
                }
            }
            if (file == null || seq == null || type == null || file.contains("\"") || !AofEpoch.plain(file)) {
                throw bad(what, line);
            }
            Entry e = new Entry(file, seq, type);
            switch (type) {
                case 'b' -> {
                    if (base != null) {
                        throw bad(what, line + " (a second base)");
                    }
                    base = e;
                }
                case 'i' -> incrs.add(e);
                case 'h' -> {
                    // history: about to be deleted by Redis, not part of the data set
                }
                default -> throw bad(what, line);
            }
        }
        return new AofManifest(Optional.ofNullable(base), incrs);
    }

    /** The manifest's text as Redis writes it (base first, then the incr files). */
    public static String render(Entry base, List<Entry> incrs) {
        StringBuilder b = new StringBuilder();
        b.append("file ").append(base.file()).append(" seq ").append(base.seq()).append(" type b\n");
        for (Entry e : incrs) {
            b.append("file ").append(e.file()).append(" seq ").append(e.seq()).append(" type i\n");
        }
        return b.toString();
    }

    /** The incr entry of sequence {@code seq}, if listed. */
    public Optional<Entry> incr(long seq) {
        return incrs.stream().filter(e -> e.seq() == seq).findFirst();
    }

    private static HoldfastException bad(String what, String line) {
        return new HoldfastException(ErrorCode.SOURCE_ERROR, what + ": cannot read the line '" + line
                + "' (expected 'file NAME seq N type b|h|i' with a plain file name)");
    }
}
