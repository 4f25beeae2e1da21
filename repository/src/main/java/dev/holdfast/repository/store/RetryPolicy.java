package dev.holdfast.repository.store;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How {@link RetryingObjectStore} spaces its attempts: exponential backoff with "full jitter"
 * (each delay uniform between zero and the exponential bound), which spreads the retries of many
 * clients hit by one outage instead of having them return in waves.
 *
 * @param baseDelay   bound of the delay before the first retry; doubles for each further retry
 * @param maxDelay    the bound never grows beyond this
 * @param maxAttempts attempts in total, the first included (1 = never retry)
 */
public record RetryPolicy(Duration baseDelay, Duration maxDelay, int maxAttempts) {
    /**
     * 100 ms doubling, capped at 10 s, 8 attempts: the 7 waits are bounded by 0.1 + 0.2 + ... + 6.4 =
     * 12.7 s in total (half that on average), so an operation gives up within about 13 s of outage
     * plus the attempts' own time.
     */
    public static final RetryPolicy DEFAULT = new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(10), 8);

    public RetryPolicy {
        Objects.requireNonNull(baseDelay, "baseDelay");
        Objects.requireNonNull(maxDelay, "maxDelay");
        if (baseDelay.isNegative() || baseDelay.isZero()) {
            throw new IllegalArgumentException("baseDelay must be positive, is " + baseDelay);
        }
        if (maxDelay.compareTo(baseDelay) < 0) {
            throw new IllegalArgumentException("maxDelay " + maxDelay + " is below baseDelay " + baseDelay);
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, is " + maxAttempts);
        }
    }

    /**
     * The upper bound of the delay before attempt {@code attempt} (2 is the first retry):
     * {@code min(maxDelay, baseDelay * 2^(attempt - 2))}.
     */
    public Duration bound(int attempt) {
        if (attempt < 2) {
            throw new IllegalArgumentException("attempt " + attempt + " is not a retry");
        }
        long base = baseDelay.toNanos();
        long max = maxDelay.toNanos();
        int shift = attempt - 2;
        long bound = shift >= 62 || base > (max >> shift) ? max : base << shift;
        return Duration.ofNanos(Math.min(bound, max));
    }

    /** A delay before attempt {@code attempt}, uniform in {@code [0, bound(attempt)]}. */
    public Duration delay(int attempt, RandomGenerator random) {
        return Duration.ofNanos(random.nextLong(bound(attempt).toNanos() + 1));
    }
}
