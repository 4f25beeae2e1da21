package dev.holdfast.agent.redis;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

/**
 * Reads an AOF incr file's commands (RESP arrays of bulk strings) and timestamp annotations
 * ({@code #TS:<unix seconds>\r\n}, written by Redis 7 with {@code aof-timestamp-enabled yes} before
 * the first command of each new second) to find where the file may be cut: never inside a command,
 * never inside a {@code MULTI ... EXEC} block.
 */
public final class AofScanner {
    private AofScanner() {
    }

    /**
     * What a scan found.
     *
     * @param end            where to cut: the end of the last whole command (outside a transaction)
     *                       before the stop, or before the first annotation later than the limit
     * @param cut            whether the scan stopped at an annotation later than the limit
     * @param complete       whether the whole input was whole commands (nothing dropped at its end)
     * @param commands       whole commands kept
     * @param annotated      whether the first command was preceded by a timestamp annotation (false
     *                       when there is no command at all)
     * @param lastTimestamp  the last annotation kept (seconds), if any
     */
    public record Result(long end, boolean cut, boolean complete, long commands, boolean annotated, OptionalLong lastTimestamp) {
    }

    /**
     * Scans {@code in} (not closed) up to its end, or up to the first annotation whose time is later
     * than {@code limitSeconds} (none when empty).
     *
     * @throws HoldfastException {@code INTEGRITY_FAILURE} when the bytes are not an AOF
     */
    public static Result scan(InputStream in, OptionalLong limitSeconds, String what) throws IOException {
        Reader r = new Reader(new BufferedInputStream(in, 1 << 16));
        long safe = 0;
        long kept = 0; // whole commands up to safe
        long whole = 0; // whole commands read
        boolean inMulti = false;
        Boolean annotated = null;
        boolean sawAnnotation = false;
        OptionalLong last = OptionalLong.empty();
        while (true) {
            long start = r.pos;
            int b = r.read();
            if (b < 0) {
                return new Result(safe, false, safe == start, kept, Boolean.TRUE.equals(annotated), last);
            }
            if (b == '#') {
                String line = r.line();
                if (line == null) {
                    return new Result(safe, false, false, kept, Boolean.TRUE.equals(annotated), last);
                }
                if (line.startsWith("TS:")) {
                    long ts;
                    try {
                        ts = Long.parseLong(line.substring(3));
                    } catch (NumberFormatException e) {
                        throw bad(what, start, "an unreadable timestamp annotation");
                    }
                    if (limitSeconds.isPresent() && ts > limitSeconds.getAsLong()) {
                        // safe is this annotation's start, or the start of an unfinished MULTI
                        return new Result(safe, true, false, kept, Boolean.TRUE.equals(annotated), last);
                    }
                    sawAnnotation = true;
                    last = OptionalLong.of(ts);
                }
                if (!inMulti) {
                    safe = r.pos;
                }
                continue;
            }
            if (b != '*') {
                throw bad(what, start, "byte 0x" + Integer.toHexString(b) + " where a command or annotation starts");
            }
            String count = r.line();
            if (count == null) {
                return new Result(safe, false, false, kept, Boolean.TRUE.equals(annotated), last);
            }
            int n = parseInt(count, what, start);
            String name = null;
            boolean complete = true;
            for (int i = 0; i < n && complete; i++) {
                int d = r.read();
                if (d < 0) {
                    complete = false;
                    break;
                }
                if (d != '$') {
                    throw bad(what, r.pos - 1, "a missing bulk string");
                }
                String len = r.line();
                if (len == null) {
                    complete = false;
                    break;
                }
                int l = parseInt(len, what, start);
                if (i == 0 && l <= 16) {
                    byte[] arg = r.bytes(l);
                    if (arg == null) {
                        complete = false;
                        break;
                    }
                    name = new String(arg, StandardCharsets.US_ASCII);
                } else if (!r.skip(l)) {
                    complete = false;
                    break;
                }
                int cr = r.read();
                int lf = r.read();
                if (cr < 0 || lf < 0) {
                    complete = false;
                    break;
                }
                if (cr != '\r' || lf != '\n') {
                    throw bad(what, r.pos - 2, "a bulk string not followed by CRLF");
                }
            }
            if (!complete) {
                return new Result(safe, false, false, kept, Boolean.TRUE.equals(annotated), last);
            }
            whole++;
            if (annotated == null) {
                annotated = sawAnnotation;
            }
            if (name != null && name.equalsIgnoreCase("MULTI")) {
                inMulti = true;
            } else if (inMulti && name != null && (name.equalsIgnoreCase("EXEC") || name.equalsIgnoreCase("DISCARD"))) {
                inMulti = false;
            }
            if (!inMulti) {
                safe = r.pos;
                kept = whole;
            }
        }
    }

    private static int parseInt(String s, String what, long at) {
        try {
            int v = Integer.parseInt(s);
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw bad(what, at, "an unreadable length '" + s + "'");
        }
    }

    private static HoldfastException bad(String what, long at, String found) {
        return new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " is not an AOF: " + found + " at offset " + at);
    }

    /** A counting reader: lines end with CRLF; null or false at the end of the input. */
    private static final class Reader {
        final InputStream in;
        long pos;

        Reader(InputStream in) {
            this.in = in;
        }

        int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                pos++;
            }
            return b;
        }

        String line() throws IOException {
            StringBuilder s = new StringBuilder();
            while (true) {
                int b = read();
                if (b < 0) {
                    return null;
                }
                if (b == '\r') {
                    int lf = read();
                    if (lf < 0) {
                        return null;
                    }
                    return s.toString();
                }
                if (s.length() > 64) {
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "AOF line too long at offset " + pos);
                }
                s.append((char) b);
            }
        }

        byte[] bytes(int n) throws IOException {
            byte[] b = in.readNBytes(n);
            pos += b.length;
            return b.length == n ? b : null;
        }

        boolean skip(long n) throws IOException {
            long left = n;
            while (left > 0) {
                long s = in.skip(left);
                if (s <= 0) {
                    if (in.read() < 0) {
                        return false;
                    }
                    s = 1;
                }
                left -= s;
                pos += s;
            }
            return true;
        }
    }
}
