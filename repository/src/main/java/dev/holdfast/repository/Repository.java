package dev.holdfast.repository;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.GcmWarmUp;
import dev.holdfast.repository.crypto.KeyEnvelope;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.crypto.Keyring;
import dev.holdfast.repository.crypto.MasterKey;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.ObjectHeader;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.seal.SealingOutputStream;
import dev.holdfast.repository.seal.SegmentCodec;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.StoreException;
import dev.holdfast.repository.store.StreamingUpload;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An open repository: its store, config and data keys (docs/format.md sections 3-5). Creating,
 * opening, rotating keys and the plumbing reads and writes of whole objects.
 *
 * <p>Blocking: methods wait for the store. Call them from the CLI's thread or a worker, never from
 * an event loop (the agent's pipeline uses {@link #newCodec} and the store's futures directly).
 */
public final class Repository implements AutoCloseable {
    public static final ObjectKey CONFIG = ObjectKey.of("config");
    public static final ObjectKey CONFIG_COPY = ObjectKey.of("config.copy");
    public static final String KEYS_PREFIX = "keys/";
    /** Part size for whole-object writes: above S3's 5 MiB minimum, small enough to keep memory low. */
    static final int PART_SIZE = 8 << 20;
    private static final Logger LOG = LoggerFactory.getLogger(Repository.class);

    private final ObjectStore store;
    private final RepositoryConfig config;
    private final MasterKey master;
    private final Keyring keyring;
    private final Clock clock;
    private final SecureRandom random;

    private Repository(ObjectStore store, RepositoryConfig config, MasterKey master, Keyring keyring, Clock clock, SecureRandom random) {
        // Bulk sealing and opening follow; from cold, JDK 17's GCM runs under 100 MB/s (format.md section 10).
        GcmWarmUp.startInBackground();
        this.store = store;
        this.config = config;
        this.master = master;
        this.keyring = keyring;
        this.clock = clock;
        this.random = random;
    }

    /**
     * Creates a repository in an empty store: data key version 1 wrapped by the key file's current
     * master key, then the config (envelopes first, so a config never exists without its keys).
     */
    public static Repository init(ObjectStore store, KeyFile keyFile, int segmentSize, int level, String createdBy,
                                  Clock clock, SecureRandom random) {
        List<ObjectInfo> existing = Futures.await(store.list("", Optional.empty(), 1)).objects();
        if (!existing.isEmpty()) {
            throw new HoldfastException(ErrorCode.REPOSITORY_NOT_EMPTY, store.describe() + " already holds objects (e.g. '"
                    + existing.get(0).key() + "'); refusing to create a repository there");
        }
        byte[] id = new byte[16];
        random.nextBytes(id);
        RepositoryConfig config = new RepositoryConfig(id, clock.instant(), createdBy, segmentSize, level);
        MasterKey master = keyFile.current();
        DataKey dk = DataKey.generate(1, random);
        writeEnvelope(store, dk, master, id, clock, random);
        byte[] json = config.toJson();
        Futures.await(store.create(CONFIG, ByteBuffer.wrap(json), PutOptions.DEFAULT));
        Futures.await(store.create(CONFIG_COPY, ByteBuffer.wrap(json), PutOptions.DEFAULT));
        return new Repository(store, config, master, new Keyring(master.id(), Map.of(1, dk)), clock, random);
    }

    /** Opens the repository in {@code store} with the newest master key in {@code keyFile} that it knows. */
    public static Repository open(ObjectStore store, KeyFile keyFile, Clock clock, SecureRandom random) {
        RepositoryConfig config = readConfig(store);
        Map<String, TreeSet<Integer>> wrapped = envelopes(store);
        if (wrapped.isEmpty()) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "repository " + store.describe()
                    + " has a config but no key envelopes under keys/: its data keys are gone");
        }
        List<MasterKey> candidates = new ArrayList<>(keyFile.keys());
        java.util.Collections.reverse(candidates);
        for (MasterKey mk : candidates) {
            TreeSet<Integer> versions = wrapped.get(mk.id());
            if (versions != null) {
                Map<Integer, DataKey> keys = new TreeMap<>();
                for (int v : versions) {
                    keys.put(v, unwrapWithCopy(store, mk, v, config.repositoryId()));
                }
                return new Repository(store, config, mk, new Keyring(mk.id(), keys), clock, random);
            }
        }
        throw new HoldfastException(ErrorCode.KEY_MISMATCH, "the key file " + keyFile.path() + " holds master key "
                + keyFile.keys().stream().map(MasterKey::id).toList() + " but repository " + store.describe()
                + " expects master key " + wrapped.keySet() + "; use the key file this repository was created or rotated with");
    }

    /** Reads {@code config}, falling back to {@code config.copy} (docs/format.md section 4). */
    public static RepositoryConfig readConfig(ObjectStore store) {
        Optional<RepositoryConfig> primary = tryConfig(store, CONFIG);
        Optional<RepositoryConfig> copy = tryConfig(store, CONFIG_COPY);
        if (primary.isPresent() && copy.isPresent() && !primary.get().equals(copy.get())) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "repository " + store.describe()
                    + ": 'config' and 'config.copy' differ; refusing to guess which is right");
        }
        if (primary.isPresent()) {
            return primary.get();
        }
        if (copy.isPresent()) {
            LOG.warn("repository {}: 'config' is missing or damaged; using 'config.copy'", store.describe());
            return copy.get();
        }
        throw new HoldfastException(ErrorCode.REPOSITORY_NOT_FOUND, "no Holdfast repository at " + store.describe()
                + " ('config' is missing); create one with: holdfast repo init");
    }

    private static Optional<RepositoryConfig> tryConfig(ObjectStore store, ObjectKey key) {
        byte[] bytes;
        try {
            bytes = Futures.await(store.get(key));
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.OBJECT_NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
        try {
            return Optional.of(RepositoryConfig.parse(bytes, "'" + key + "'"));
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.FORMAT_UNSUPPORTED) {
                throw e;
            }
            LOG.warn("repository {}: {}", store.describe(), e.getMessage());
            return Optional.empty();
        }
    }

    /** Master key id to the data key versions it wraps, from the names under {@code keys/}. */
    private static Map<String, TreeSet<Integer>> envelopes(ObjectStore store) {
        Map<String, TreeSet<Integer>> out = new LinkedHashMap<>();
        for (ObjectInfo o : Futures.await(store.listAll(KEYS_PREFIX))) {
            KeyEnvelope.parseName(o.key()).ifPresent(n -> out.computeIfAbsent(n.masterKeyId(), k -> new TreeSet<>()).add(n.dataKeyVersion()));
        }
        return out;
    }

    private static DataKey unwrapWithCopy(ObjectStore store, MasterKey mk, int version, byte[] repositoryId) {
        HoldfastException first = null;
        for (boolean copy : new boolean[] {false, true}) {
            ObjectKey name = copy ? KeyEnvelope.copyName(mk.id(), version) : KeyEnvelope.name(mk.id(), version);
            try {
                byte[] bytes = Futures.await(store.get(name));
                DataKey dk = KeyEnvelope.unwrap(bytes, KeyEnvelope.parseName(name).orElseThrow(), mk, repositoryId);
                if (first != null) {
                    LOG.warn("{}; used its copy", first.getMessage());
                }
                return dk;
            } catch (HoldfastException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        throw first;
    }

    private static void writeEnvelope(ObjectStore store, DataKey dk, MasterKey mk, byte[] repositoryId, Clock clock, SecureRandom random) {
        byte[] env = KeyEnvelope.wrap(dk, mk, repositoryId, clock.instant(), random);
        Futures.await(store.create(KeyEnvelope.name(mk.id(), dk.version()), ByteBuffer.wrap(env), PutOptions.DEFAULT));
        Futures.await(store.create(KeyEnvelope.copyName(mk.id(), dk.version()), ByteBuffer.wrap(env), PutOptions.DEFAULT));
    }

    /**
     * Rotates the master key (docs/format.md section 5.4): a new master key wraps every data key, the
     * envelopes are read back and verified, and only then is the key file replaced with the new key
     * appended. Data objects are never touched. Optionally starts a new data key version too.
     *
     * @return the updated key file
     */
    public KeyFile rotateMasterKey(KeyFile keyFile, boolean newDataKey) {
        MasterKey next = KeyFile.generate(clock, random);
        List<DataKey> keys = new ArrayList<>(keyring.all());
        if (newDataKey) {
            keys.add(DataKey.generate(nextDataKeyVersion(), random));
        }
        for (DataKey dk : keys) {
            writeEnvelope(store, dk, next, config.repositoryId(), clock, random);
        }
        for (DataKey dk : keys) {
            unwrapWithCopy(store, next, dk.version(), config.repositoryId());
        }
        return keyFile.withNewKey(next);
    }

    /** Adds data key version N+1, wrapped by the current master key; new objects use it from now on. */
    public int addDataKey() {
        DataKey dk = DataKey.generate(nextDataKeyVersion(), random);
        writeEnvelope(store, dk, master, config.repositoryId(), clock, random);
        return dk.version();
    }

    private int nextDataKeyVersion() {
        return envelopes(store).values().stream().mapToInt(TreeSet::last).max().orElse(0) + 1;
    }

    /**
     * Deletes the envelopes of master keys other than the one this repository was opened with, once
     * that key wraps every data key version they wrap (so no data key can be lost).
     *
     * @return the envelope objects deleted
     */
    public List<ObjectKey> retireOtherMasterKeys() {
        Map<String, TreeSet<Integer>> all = envelopes(store);
        TreeSet<Integer> mine = all.getOrDefault(master.id(), new TreeSet<>());
        List<ObjectKey> deleted = new ArrayList<>();
        for (Map.Entry<String, TreeSet<Integer>> e : all.entrySet()) {
            if (e.getKey().equals(master.id())) {
                continue;
            }
            if (!mine.containsAll(e.getValue())) {
                TreeSet<Integer> missing = new TreeSet<>(e.getValue());
                missing.removeAll(mine);
                throw new HoldfastException(ErrorCode.KEY_MISMATCH, "master key " + master.id() + " does not wrap data key versions "
                        + missing + " that " + e.getKey() + " wraps; refusing to retire " + e.getKey());
            }
        }
        for (ObjectInfo o : Futures.await(store.listAll(KEYS_PREFIX))) {
            Optional<KeyEnvelope.Name> n = KeyEnvelope.parseName(o.key());
            if (n.isPresent() && !n.get().masterKeyId().equals(master.id())) {
                Futures.await(store.delete(o.key()));
                deleted.add(o.key());
            }
        }
        return deleted;
    }

    /** Whether {@code name} is repository metadata that plumbing commands must not write. */
    public static boolean isReserved(ObjectKey name) {
        return name.equals(CONFIG) || name.equals(CONFIG_COPY) || name.value().equals("keys") || name.value().startsWith(KEYS_PREFIX);
    }

    /**
     * A codec for a new object {@code name}: fresh salt and nonce prefix, current data key, config
     * defaults; {@code sha256} records the plaintext's SHA-256 in the footer.
     */
    public SegmentCodec newCodec(ObjectKey name, boolean sha256) {
        ObjectHeader h = ObjectHeader.fresh(1, keyring.current().version(), config.segmentSize(), sha256, random);
        return SegmentCodec.of(h, name, keyring.current(), config.repositoryId(), config.compressionLevel());
    }

    /**
     * Seals {@code plaintext} into a new object {@code name}. Nothing is visible unless every byte was
     * read and stored; on any failure the upload is aborted. Refuses an existing name.
     */
    public Footer put(ObjectKey name, InputStream plaintext, boolean sha256) throws IOException {
        return put(name, plaintext, sha256, PutOptions.DEFAULT);
    }

    /**
     * {@link #put(ObjectKey, InputStream, boolean)} with {@code options} (storage class, Object Lock):
     * a store that cannot honour them fails the write (PutOptions), never writes the object without.
     */
    public Footer put(ObjectKey name, InputStream plaintext, boolean sha256, PutOptions options) throws IOException {
        SegmentCodec codec = newCodec(name, sha256);
        int partSize = (int) Math.max(PART_SIZE, store.capabilities().minPartSize());
        StreamingUpload upload = new StreamingUpload(store, name, options, partSize, 2);
        boolean done = false;
        try {
            SealingOutputStream out = new SealingOutputStream(new UploadStream(upload), codec);
            plaintext.transferTo(out);
            out.close();
            done = true;
            return out.footer();
        } finally {
            if (!done) {
                upload.abort().handle((v, t) -> null).join();
            }
        }
    }

    /**
     * Opens object {@code name} for reading its plaintext; see {@link OpeningInputStream} for the
     * fail-closed contract (the output is valid only once read to its end).
     */
    public OpeningInputStream open(ObjectKey name) throws IOException {
        InputStream raw = Futures.await(store.openStream(name));
        try {
            return OpeningInputStream.open(raw, name, config.repositoryId(), keyring);
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /** What {@code object inspect} shows: read from the object's first 56 and last 81 bytes only. */
    public record Inspection(ObjectInfo info, ObjectHeader header, Footer footer) {
    }

    public Inspection inspect(ObjectKey name) {
        ObjectInfo info = Futures.await(store.head(name)).orElseThrow(() -> StoreException.notFound(name));
        String what = "object '" + name + "'";
        if (isReserved(name)) {
            throw new HoldfastException(ErrorCode.USAGE, what + " is repository metadata (JSON), not a sealed object");
        }
        if (info.size() < ObjectHeader.LENGTH + Footer.SEGMENT_LENGTH) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " is too short (" + info.size() + " bytes) to be a sealed object");
        }
        ObjectHeader header = ObjectHeader.parse(Futures.await(store.getRange(name, 0, ObjectHeader.LENGTH)), what);
        SegmentCodec codec = SegmentCodec.of(header, name, keyring.get(header.dataKeyVersion(), what), config.repositoryId(), 0);
        byte[] tail = Futures.await(store.getRange(name, info.size() - Footer.SEGMENT_LENGTH, Footer.SEGMENT_LENGTH));
        return new Inspection(info, header, codec.openFooter(ByteBuffer.wrap(tail)));
    }

    public ObjectStore store() {
        return store;
    }

    public RepositoryConfig config() {
        return config;
    }

    public Keyring keyring() {
        return keyring;
    }

    /** The master key id this repository was opened with. */
    public String masterKeyId() {
        return master.id();
    }

    @Override
    public void close() {
        store.close();
    }

    @Override
    public String toString() {
        return "Repository[" + store.describe() + ", id " + config.repositoryIdHex() + ", " + keyring + "]";
    }

    /** An OutputStream over a StreamingUpload: write waits for back-pressure, close finishes the object. */
    private static final class UploadStream extends OutputStream {
        private final StreamingUpload upload;

        UploadStream(StreamingUpload upload) {
            this.upload = Objects.requireNonNull(upload);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            Futures.await(upload.write(ByteBuffer.wrap(b, off, len)));
        }

        @Override
        public void close() {
            Futures.await(upload.finish());
        }
    }
}
