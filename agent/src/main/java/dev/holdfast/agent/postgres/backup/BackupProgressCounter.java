package dev.holdfast.agent.postgres.backup;

import java.util.concurrent.atomic.AtomicLong;

/** Bytes of the data directory dealt with so far, of the total the scan found; shared by the workers. */
final class BackupProgressCounter {
    private final AtomicLong done = new AtomicLong();
    private final long total;

    BackupProgressCounter(long total) {
        this.total = total;
    }

    void add(long bytes) {
        done.addAndGet(bytes);
    }

    long done() {
        return Math.min(done.get(), total);
    }

    long total() {
        return total;
    }
}
