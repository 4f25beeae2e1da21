package dev.holdfast.cli.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Everything the demo started, stopped in reverse order of starting by {@link #close()}: on the
 * normal end, on a failure, and from the shutdown hook on Ctrl-C or SIGTERM. Closing twice (the
 * hook after the normal end) does nothing the second time. Each start is recorded as a line
 * {@code NAME PID PORT} in the {@code processes} file of the demo directory, so that a person or a
 * test can check that nothing is left running.
 */
final class Children implements AutoCloseable {
    /** How one child stops; it must not return before the child is gone (or was killed). */
    interface Stopper {
        void stop() throws Exception;
    }

    private record Entry(String name, Stopper stopper) {
    }

    private final Deque<Entry> entries = new ArrayDeque<>();
    private final Path record;
    private boolean closed;

    Children(Path record) {
        this.record = record;
    }

    /**
     * Registers a started child; {@code pid} and {@code port} are recorded (0 when there is none).
     * A child started while or after a signal stopped everything is stopped at once.
     */
    synchronized void add(String name, long pid, int port, Stopper stopper) {
        if (closed) {
            try {
                stopper.stop();
            } catch (Exception e) {
                // best effort: the demo is ending
            }
            return;
        }
        entries.push(new Entry(name, stopper));
        try {
            Files.writeString(record, name + " " + pid + " " + port + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            // the record is for people and tests; stopping does not depend on it
        }
    }

    /** Registers a child process stopped with SIGTERM (a JVM runs its shutdown hooks), killed if it lingers for a minute. */
    void add(String name, Process p, int port) {
        add(name, p.pid(), port, () -> terminate(p));
    }

    static void terminate(Process p) throws InterruptedException {
        if (!p.isAlive()) {
            return;
        }
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    synchronized boolean closed() {
        return closed;
    }

    /** Stops every child, newest first; returns the names of those stopped, and keeps going past one that fails to stop. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> failures = new ArrayList<>();
        while (!entries.isEmpty()) {
            Entry e = entries.pop();
            try {
                e.stopper().stop();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                failures.add(e.name() + ": interrupted");
            } catch (Exception ex) {
                failures.add(e.name() + ": " + ex.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("could not stop cleanly: " + String.join("; ", failures));
        }
    }
}
