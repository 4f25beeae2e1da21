package dev.holdfast.repository.crypto;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The printable escrow copy of a key file (docs/format.md section 5.5), and reading it back.
 * Each key is four lines of 8 bytes in hex groups of four, each line with a 4-hex-digit check
 * (first 2 bytes of SHA-256 of {@code line number || line bytes}), so a typo is found on its line;
 * the key id, derived from the key, checks the whole.
 */
public final class PaperKey {
    private static final HexFormat HEX = HexFormat.of();
    private static final Pattern KEY = Pattern.compile("^key \\d+ of \\d+: (mk-[0-9a-f]{16}) created (\\S+)");
    private static final Pattern LINE = Pattern.compile("^\\s*([1-4]): ((?:[0-9a-fA-F]{4}\\s*){4})\\[([0-9a-fA-F]{4})\\]\\s*$");

    private PaperKey() {
    }

    /** The printable text for every key in {@code file}. It contains the keys: print it, never store it online. */
    public static String format(KeyFile file, Instant now) {
        StringBuilder b = new StringBuilder();
        b.append("HOLDFAST MASTER KEY - ESCROW COPY\n");
        b.append("printed ").append(now).append(" from ").append(file.path()).append('\n');
        b.append("Whoever holds this page can decrypt every backup: keep it offline, in a safe or a vault.\n");
        b.append("Without this page and without the key file, the backups cannot be recovered by anyone.\n");
        b.append("To restore: holdfast keys import --from-paper TYPED.txt --out /etc/holdfast/master.key\n\n");
        List<MasterKey> keys = file.keys();
        for (int i = 0; i < keys.size(); i++) {
            MasterKey k = keys.get(i);
            b.append("key ").append(i + 1).append(" of ").append(keys.size()).append(": ").append(k.id())
                    .append(" created ").append(k.createdAt()).append(i == keys.size() - 1 ? " (current)" : "").append('\n');
            byte[] raw = k.exportBytes();
            for (int line = 0; line < 4; line++) {
                b.append("  ").append(line + 1).append(": ");
                for (int g = 0; g < 4; g++) {
                    b.append(HEX.formatHex(raw, line * 8 + g * 2, line * 8 + g * 2 + 2)).append(' ');
                }
                b.append('[').append(lineCheck(line + 1, raw, line * 8)).append("]\n");
            }
            java.util.Arrays.fill(raw, (byte) 0);
            b.append('\n');
        }
        return b.toString();
    }

    /** Reads the keys back from typed or scanned text, checking every line and every key id. */
    public static List<MasterKey> parse(String text, Path source) {
        List<MasterKey> keys = new ArrayList<>();
        String id = null;
        Instant created = null;
        byte[] raw = null;
        int lines = 0;
        int n = 0;
        for (String l : text.split("\r?\n")) {
            n++;
            Matcher km = KEY.matcher(l.trim());
            if (km.find()) {
                id = km.group(1);
                try {
                    created = Instant.parse(km.group(2));
                } catch (DateTimeParseException e) {
                    throw bad(source, n, "has a malformed creation time");
                }
                raw = new byte[32];
                lines = 0;
                continue;
            }
            Matcher lm = LINE.matcher(l);
            if (!lm.matches()) {
                continue;
            }
            if (raw == null) {
                throw bad(source, n, "is a key line before any 'key N of M' line");
            }
            int number = Integer.parseInt(lm.group(1));
            if (number != lines + 1) {
                throw bad(source, n, "is key line " + number + " where line " + (lines + 1) + " was expected");
            }
            byte[] bytes = HEX.parseHex(lm.group(2).replaceAll("\\s+", "").toLowerCase());
            System.arraycopy(bytes, 0, raw, (number - 1) * 8, 8);
            if (!lineCheck(number, raw, (number - 1) * 8).equalsIgnoreCase(lm.group(3))) {
                throw bad(source, n, "does not match its check [" + lm.group(3) + "]: a digit on this line is wrong");
            }
            lines++;
            if (lines == 4) {
                MasterKey k = new MasterKey(raw, created);
                if (!k.id().equals(id)) {
                    throw bad(source, n, "completes a key whose id is " + k.id() + ", not " + id);
                }
                keys.add(k);
                raw = null;
            }
        }
        if (raw != null) {
            throw new HoldfastException(ErrorCode.KEY_FILE_INVALID, source + ": key " + id + " is incomplete (" + lines + " of 4 lines)");
        }
        if (keys.isEmpty()) {
            throw new HoldfastException(ErrorCode.KEY_FILE_INVALID, source + " holds no key in the escrow format");
        }
        return keys;
    }

    private static String lineCheck(int number, byte[] raw, int offset) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((byte) number);
            sha.update(raw, offset, 8);
            return HEX.formatHex(sha.digest(), 0, 2);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static HoldfastException bad(Path source, int line, String what) {
        return new HoldfastException(ErrorCode.KEY_FILE_INVALID, source + " line " + line + " " + what);
    }
}
