package dev.holdfast.agent.grant;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The grant ids this agent has consumed, in {@code grants-used} of the identity directory: one line
 * {@code <grant id> <expires_at epoch ms>} each. A grant is consumed, durably (written to a temporary
 * file, forced to disk, renamed), before its restore writes anything, so a grant is used at most once
 * even across an agent restart. An id is kept until its grant expired more than the allowed clock
 * skew ago: after that the grant is refused as expired anyway.
 *
 * <p>Fails closed: a journal that exists but cannot be read or parsed refuses every grant (an
 * {@code io_error} naming the file) rather than forget what was used.
 *
 * <p>Thread-safe; blocking (call from a worker).
 */
public final class GrantJournal {
    static final String FILE = "grants-used";
    private static final Pattern LINE = Pattern.compile("([0-9a-f]{16,64}) ([0-9]{1,19})");

    private final Path file;
    private final Clock clock;
    private final Duration skew;
    private Map<String, Long> used;

    public GrantJournal(Path identityDir, Clock clock, Duration skew) {
        this.file = identityDir.resolve(FILE);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.skew = Objects.requireNonNull(skew, "skew");
    }

    /** Whether {@code grantId} was consumed (and is still remembered). */
    public synchronized boolean isUsed(String grantId) {
        return load().containsKey(grantId);
    }

    /**
     * Consumes {@code grantId}: true the first time (it is on disk when this returns), false when it
     * was consumed before (a replay).
     */
    public synchronized boolean consume(String grantId, Instant expiresAt) {
        if (!LINE.matcher(grantId + " 0").matches()) {
            throw new HoldfastException(ErrorCode.GRANT_INVALID, "the grant id is not 16 to 64 lower-case hex digits");
        }
        Map<String, Long> m = load();
        if (m.containsKey(grantId)) {
            return false;
        }
        Map<String, Long> next = new LinkedHashMap<>(m);
        next.put(grantId, expiresAt.toEpochMilli());
        long horizon = clock.millis() - skew.toMillis();
        next.values().removeIf(exp -> exp < horizon);
        next.putIfAbsent(grantId, expiresAt.toEpochMilli()); // even an already expired one: it was consumed
        write(next);
        used = next;
        return true;
    }

    private Map<String, Long> load() {
        if (used != null) {
            return used;
        }
        Map<String, Long> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                if (line.isEmpty()) {
                    continue;
                }
                var x = LINE.matcher(line);
                if (!x.matches()) {
                    throw new HoldfastException(ErrorCode.IO_ERROR, "the grant journal " + file + " is damaged; refusing restore grants"
                            + " until it is repaired (it lists the grant ids already used)");
                }
                m.put(x.group(1), Long.parseLong(x.group(2)));
            }
        } catch (NoSuchFileException e) {
            // none consumed yet
        } catch (IOException | RuntimeException e) {
            if (e instanceof HoldfastException h) {
                throw h;
            }
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read the grant journal " + file + ": " + e.getMessage()
                    + "; refusing restore grants", e);
        }
        used = m;
        return m;
    }

    private void write(Map<String, Long> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((id, exp) -> sb.append(id).append(' ').append(exp).append('\n'));
        Path tmp = file.resolveSibling(FILE + ".tmp");
        try {
            Files.createDirectories(file.getParent());
            try (OutputStream o = Files.newOutputStream(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE, StandardOpenOption.SYNC)) {
                o.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot record the grant as used in " + file + ": " + e.getMessage()
                    + "; nothing was restored", e);
        }
    }
}
