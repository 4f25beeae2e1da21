package dev.holdfast.controller.audit;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.seal.SealingOutputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.PutOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The audit objects of a repository (docs/format.md section 15.3): writing the sealed key copy and
 * the exports, reading them back, and verifying the exported chain from the repository alone.
 * Blocking: call it on a worker thread.
 */
public final class AuditRepository {
    private final Repository repository;

    public AuditRepository(Repository repository) {
        this.repository = repository;
    }

    /** Stores the sealed copy of {@code key} unless one is there already. */
    public void ensureKeyCopy(AuditKey key) {
        ObjectKey name = AuditLayout.key(key.id());
        if (Futures.await(repository.store().head(name)).isPresent()) {
            return;
        }
        try {
            create(name, key.toJson(), PutOptions.DEFAULT);
        } catch (HoldfastException e) {
            if (e.code() != ErrorCode.OBJECT_EXISTS) {
                throw e;
            }
        }
    }

    /** Reads the sealed copy of key {@code keyId}; empty when the repository has none. */
    public Optional<AuditKey> key(String keyId) {
        ObjectKey name = AuditLayout.key(keyId);
        if (Futures.await(repository.store().head(name)).isEmpty()) {
            return Optional.empty();
        }
        AuditKey key = AuditKey.fromJson(read(name), "the repository's audit key copy " + name);
        if (!key.id().equals(keyId)) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the repository's audit key copy " + name + " holds key " + key.id());
        }
        return Optional.of(key);
    }

    /** The ids of the keys whose exports the repository holds, oldest chain first (by first seq). */
    public List<String> exportedKeyIds() {
        List<AuditLayout.ExportName> all = exports(Optional.empty());
        List<String> ids = new ArrayList<>();
        all.forEach(e -> {
            if (!ids.contains(e.keyId())) {
                ids.add(e.keyId());
            }
        });
        return ids;
    }

    /** Creates export object {@code name} (sealed) with {@code options}; fails with object_exists if it exists. */
    public void writeExport(ObjectKey name, byte[] jsonl, PutOptions options) {
        create(name, jsonl, options);
    }

    /** The export objects (of one key id, or all), in chain order. */
    public List<AuditLayout.ExportName> exports(Optional<String> keyId) {
        List<ObjectInfo> objects = Futures.await(repository.store().listAll(AuditLayout.LOG + keyId.map(k -> k + "/").orElse("")));
        List<AuditLayout.ExportName> out = new ArrayList<>();
        for (ObjectInfo o : objects) {
            AuditLayout.parseExport(o.key()).ifPresent(out::add);
        }
        out.sort(Comparator.comparingLong(AuditLayout.ExportName::firstSeq).thenComparingLong(AuditLayout.ExportName::lastSeq));
        return out;
    }

    /** An export's plaintext, authenticated (fails closed with integrity_failure). */
    public byte[] read(ObjectKey name) {
        try (OpeningInputStream in = repository.open(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * Verifies every export of key {@code key} in the repository as one chain: each export on its own
     * ({@link AuditVerifier#export}), its name agreeing with its trailer, the first starting at the
     * genesis value, and each next one starting right after the previous one's end. The result
     * covers the whole exported chain; a chain with no export covers nothing (count 0).
     */
    public AuditVerifier.Verified verify(AuditKey key) {
        List<AuditLayout.ExportName> exports = exports(Optional.of(key.id()));
        long first = -1;
        long expected = -1;
        AuditMac prev = AuditMac.GENESIS;
        long count = 0;
        TreeSet<Long> seen = new TreeSet<>();
        for (AuditLayout.ExportName e : exports) {
            String where = e.name().value();
            AuditJsonl.Parsed parsed = AuditJsonl.parse(read(e.name()), where);
            AuditVerifier.Verified v = AuditVerifier.export(key, parsed, where);
            AuditMac startsAt = parsed.trailer().orElseThrow().prevMac();
            if (v.firstSeq() != e.firstSeq() || v.lastSeq() != e.lastSeq()) {
                throw AuditVerifier.broken(where + ": holds seqs " + v.firstSeq() + " to " + v.lastSeq() + ", not the range its name says (renamed)");
            }
            if (!seen.add(v.firstSeq())) {
                throw AuditVerifier.broken(where + ": a second export starting at seq " + v.firstSeq());
            }
            if (expected < 0) {
                first = v.firstSeq();
                if (!startsAt.equals(AuditMac.GENESIS)) {
                    throw AuditVerifier.broken(where + ": seqs before " + v.firstSeq() + " missing (an export deleted): this export is not the"
                            + " chain's first");
                }
            } else if (v.firstSeq() > expected) {
                throw AuditVerifier.broken(AuditVerifier.missing(expected, v.firstSeq() - 1) + " (an export deleted) between " + (expected - 1)
                        + " and " + v.firstSeq());
            } else if (v.firstSeq() < expected) {
                throw AuditVerifier.broken(where + ": overlaps the previous export (seqs from " + v.firstSeq() + ", expected " + expected + ")");
            }
            if (expected >= 0 && !startsAt.equals(prev)) {
                throw AuditVerifier.broken(where + ": entry seq " + v.firstSeq() + " is not chained to seq " + (expected - 1)
                        + " of the previous export (mac mismatch)");
            }
            prev = v.lastMac();
            expected = v.lastSeq() + 1;
            count += v.count();
        }
        return expected < 0 ? new AuditVerifier.Verified(0, -1, 0, AuditMac.GENESIS) : new AuditVerifier.Verified(first, expected - 1, count, prev);
    }

    private void create(ObjectKey name, byte[] plaintext, PutOptions options) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(plaintext.length + 256);
        try (SealingOutputStream out = new SealingOutputStream(buf, repository.newCodec(name, true))) {
            out.write(plaintext);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot seal " + name + ": " + e.getMessage(), e);
        }
        Futures.await(repository.store().create(name, ByteBuffer.wrap(buf.toByteArray()), options));
    }
}
