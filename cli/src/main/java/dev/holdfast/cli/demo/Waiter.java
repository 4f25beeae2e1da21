package dev.holdfast.cli.demo;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Polls a condition until it holds or a deadline passes. The demo waits on conditions (a job's
 * state, a durable LSN, a server answering), never for a fixed time, with deadlines generous
 * enough for a busy two-core machine.
 */
final class Waiter {
    /** A condition: a checked exception means "not yet", an unchecked one fails the wait at once (a child exited). */
    interface Condition {
        boolean holds() throws Exception;
    }

    private final Clock clock;
    private final Duration timeout;

    Waiter(Clock clock, Duration timeout) {
        this.clock = clock;
        this.timeout = timeout;
    }

    Waiter within(Duration other) {
        return new Waiter(clock, other);
    }

    /** Returns once {@code condition} holds; {@code io_error} naming {@code what} after the timeout. */
    void until(String what, Condition condition) throws InterruptedException {
        Instant deadline = clock.instant().plus(timeout);
        while (true) {
            try {
                if (condition.holds()) {
                    return;
                }
            } catch (RuntimeException | InterruptedException e) {
                throw e; // a child exited, a job failed, a bug: waiting longer cannot help
            } catch (Exception e) {
                // not yet (a refused connection, a server still starting): try again
            }
            if (clock.instant().isAfter(deadline)) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(100);
        }
    }
}
