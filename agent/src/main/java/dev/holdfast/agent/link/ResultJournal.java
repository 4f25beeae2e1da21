package dev.holdfast.agent.link;

import dev.holdfast.protocol.v1.JobResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The results of the agent's recent jobs, kept in {@code job-results.pb} of the identity
 * directory (length-delimited {@code JobResult}s) so that they survive an agent restart and a
 * long controller outage: every Hello carries them until they are {@link #RETENTION} old (at most
 * {@link #MAX} of them), and the controller ignores those it already has. Without this, a backup
 * that finished while the controller was away, followed by an agent restart, would be recorded
 * as failed.
 *
 * <p>Not thread-safe: used from the link's context; {@link #snapshot()} is what a worker writes.
 */
final class ResultJournal {
    static final Duration RETENTION = Duration.ofDays(7);
    static final int MAX = 100;

    private final Path file;
    private final Clock clock;
    private final Map<String, JobResult> results = new LinkedHashMap<>();

    ResultJournal(Path identityDir, Clock clock) {
        this.file = identityDir.resolve("job-results.pb");
        this.clock = clock;
        try (InputStream in = Files.newInputStream(file)) {
            JobResult r;
            while ((r = JobResult.parseDelimitedFrom(in)) != null) {
                results.put(r.getJobId(), r);
            }
        } catch (IOException e) {
            // absent or damaged: what was read so far is kept, the rest is lost (the controller then
            // fails those jobs as agent_unavailable rather than inventing an outcome)
        }
        prune();
    }

    Optional<JobResult> get(String jobId) {
        return Optional.ofNullable(results.get(jobId));
    }

    /** Adds a result; returns the bytes to write with {@link #write(byte[])} (off the event loop). */
    byte[] add(JobResult r) {
        results.remove(r.getJobId());
        results.put(r.getJobId(), r);
        prune();
        return snapshot();
    }

    /** The results still within the retention, oldest first. */
    List<JobResult> all() {
        prune();
        return new ArrayList<>(results.values());
    }

    private void prune() {
        long horizon = clock.millis() - RETENTION.toMillis();
        results.values().removeIf(r -> r.getFinishedAtMs() < horizon);
        while (results.size() > MAX) {
            results.remove(results.keySet().iterator().next());
        }
    }

    byte[] snapshot() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            for (JobResult r : results.values()) {
                r.writeDelimitedTo(out);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e); // a byte array does not fail
        }
        return out.toByteArray();
    }

    /** Writes a snapshot atomically (temp file, fsync, rename). Blocking. */
    void write(byte[] bytes) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream o = Files.newOutputStream(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.SYNC)) {
            o.write(bytes);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
