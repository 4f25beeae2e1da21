package dev.holdfast.agent.postgres.stream;

import dev.holdfast.repository.wal.Lsn;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Stream mode's meters, tagged {@code source}. Positions are exported as plain numbers (the LSN's
 * 64-bit value) so that rates and differences work in PromQL: {@code holdfast_wal_server_lsn -
 * holdfast_wal_last_durable_lsn} is the byte lag.
 */
final class WalStreamMetrics {
    final Counter segments;
    final Counter parts;
    final Counter bytes;
    final Counter errors;
    final Counter gaps;
    final Timer uploadSeconds;
    private final AtomicLong durableLsn = new AtomicLong();
    private final AtomicLong receivedLsn = new AtomicLong();
    private final AtomicLong serverLsn = new AtomicLong();
    private final AtomicLong connected = new AtomicLong();
    private final AtomicLong timeline = new AtomicLong();
    private final AtomicLong lastDurableMillis = new AtomicLong();

    WalStreamMetrics(MeterRegistry registry, String source, RpoSupplier rpo) {
        Tags tags = Tags.of("source", source);
        segments = Counter.builder("holdfast.wal.segments.shipped").description("WAL segments stored complete in the repository")
                .tags(tags).register(registry);
        parts = Counter.builder("holdfast.wal.parts.shipped").description("Parts of segments being filled stored in the repository")
                .tags(tags).register(registry);
        bytes = Counter.builder("holdfast.wal.bytes.shipped").description("WAL bytes (before compression) stored in the repository")
                .baseUnit("bytes").tags(tags).register(registry);
        errors = Counter.builder("holdfast.wal.stream.errors").description("Replication sessions that ended in an error")
                .tags(tags).register(registry);
        gaps = Counter.builder("holdfast.wal.gaps").description("Times the server no longer had WAL the repository lacked (wal_gap)")
                .tags(tags).register(registry);
        uploadSeconds = Timer.builder("holdfast.wal.upload").description("Time to make a part or segment durable")
                .tags(tags).publishPercentiles(0.5, 0.99).register(registry);
        Gauge.builder("holdfast.wal.last.durable.lsn", durableLsn, AtomicLong::doubleValue)
                .description("End of the WAL durable in the repository (LSN as a number)").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.received.lsn", receivedLsn, AtomicLong::doubleValue)
                .description("End of the WAL received from the server (LSN as a number)").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.server.lsn", serverLsn, AtomicLong::doubleValue)
                .description("The server's WAL end as last reported by it (LSN as a number)").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.connected", connected, AtomicLong::doubleValue)
                .description("1 while a replication session streams").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.timeline", timeline, AtomicLong::doubleValue)
                .description("Timeline being streamed").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.last.durable.timestamp.seconds", lastDurableMillis, v -> v.get() / 1000.0)
                .description("When WAL last became durable (Unix time)").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.rpo.seconds", rpo, RpoSupplier::rpoSeconds).strongReference(true)
                .description("Age of the oldest WAL received but not yet durable in the repository; 0 when caught up")
                .tags(tags).register(registry);
    }

    /** Reads the live RPO (called by the registry on scrape, from any thread). */
    interface RpoSupplier {
        double rpoSeconds();
    }

    void durable(Lsn lsn, long nowMillis) {
        durableLsn.set(lsn.value());
        lastDurableMillis.set(nowMillis);
    }

    void received(Lsn lsn) {
        receivedLsn.set(lsn.value());
    }

    void server(Lsn lsn) {
        serverLsn.set(lsn.value());
    }

    void connected(boolean on, int tli) {
        connected.set(on ? 1 : 0);
        if (on) {
            timeline.set(tli);
        }
    }
}
