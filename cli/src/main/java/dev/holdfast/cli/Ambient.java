package dev.holdfast.cli;

import java.security.SecureRandom;
import java.time.Clock;

/**
 * The clock and randomness commands use, injected so tests can fix them. Commands never call
 * {@code Instant.now()} or {@code new SecureRandom()} themselves.
 */
public final class Ambient {
    private static volatile Clock clock = Clock.systemUTC();
    private static volatile SecureRandom random = new SecureRandom();

    private Ambient() {
    }

    public static Clock clock() {
        return clock;
    }

    public static SecureRandom random() {
        return random;
    }

    /** For tests. */
    public static void use(Clock c, SecureRandom r) {
        clock = c;
        random = r;
    }
}
