package dev.holdfast.repository.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.Futures;
import java.io.IOException;
import java.util.Optional;

/**
 * Reads one cluster's WAL area ({@code wal/<source>/<system-id>/}, docs/format.md section 11)
 * into a {@link WalIndex}: its descriptor for the segment size, then one listing. For readers
 * outside the agent (verify, list, restore planning); the agent has its own asynchronous
 * {@code WalRepository.index()} over the same classification.
 *
 * <p>Blocking: call from a worker or CLI thread, never an event loop.
 */
public final class WalArea {
    private WalArea() {
    }

    /**
     * The index of {@code layout}'s WAL, or empty when the area holds nothing at all. Fails with
     * {@code integrity_failure} when it holds WAL but no descriptor (the descriptor is written
     * first and never deleted before the WAL), and with the store's or the opening's error when the
     * descriptor cannot be read.
     */
    public static Optional<WalIndex> index(Repository repository, WalLayout layout) {
        if (Futures.await(repository.store().list(layout.listPrefix(), Optional.empty(), 1)).objects().isEmpty()) {
            return Optional.empty();
        }
        WalClusterInfo info = descriptor(repository, layout);
        return Optional.of(WalIndex.load(repository.store(), layout, info.walSegmentSize()));
    }

    /**
     * The area's descriptor ({@code cluster.json}). Fails with {@code integrity_failure} when it is
     * missing (call only for an area that holds WAL), and with the store's or the opening's error
     * when it cannot be read.
     */
    public static WalClusterInfo descriptor(Repository repository, WalLayout layout) {
        WalClusterInfo info;
        try (OpeningInputStream in = repository.open(layout.descriptor())) {
            info = WalClusterInfo.fromJson(in.readAllBytes(), "'" + layout.descriptor() + "'");
        } catch (IOException e) {
            HoldfastException h = HoldfastException.find(e);
            throw h != null ? h : new HoldfastException(ErrorCode.STORE_UNAVAILABLE, "reading " + layout.descriptor() + ": " + e.getMessage(), e);
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.OBJECT_NOT_FOUND) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, layout + " holds WAL but no " + WalLayout.DESCRIPTOR
                        + " (it is written first and never deleted before the WAL)");
            }
            throw e;
        }
        return info;
    }
}
