package dev.holdfast.repository.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.WalArea;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Checks that the base backups of one cluster can be restored, from the repository alone
 * (docs/format.md sections 11 and 12), and says exactly which backup and which object is wrong.
 *
 * <p>For each selected backup:
 * <ul>
 *   <li><b>Manifest</b>: both {@code manifest} and {@code manifest.copy} are read and authenticated;
 *       one damaged or missing copy is an error even though the other still serves restores (the
 *       redundancy is gone). Packs without any manifest are an interrupted backup: a warning, since
 *       restore never uses it and retention removes it.</li>
 *   <li><b>Chain</b>: an incremental backup's parents are read back to its full backup; every
 *       {@code from} must name a backup of that chain.</li>
 *   <li><b>Packs</b>: every pack an entry names (in this backup or an ancestor) exists, and its
 *       authenticated footer (the last 81 bytes) says it holds at least as many plaintext bytes as
 *       the entries need, in a stored size a sealed object of that many segments can have.</li>
 *   <li><b>Data</b> ({@code readData}): every pack is read once, decrypted and decompressed, and
 *       each file's CRC32C and SHA-256 compared with its entry ({@link PackReader}); so is the WAL
 *       from the backup's start to its stop LSN (each object's own checksums).</li>
 *   <li><b>WAL</b>: the WAL from {@code start_lsn} to {@code stop_lsn} is stored without a hole (else
 *       the backup cannot be restored at all), and from there on to the newest durable WAL; the
 *       first hole after it caps the backup's recovery window ({@link WalReach}).</li>
 * </ul>
 * A problem in a pack is reported against every selected backup whose entries name that pack, so an
 * incremental backup that takes files from a damaged pack of its parent is reported as affected too,
 * and a backup that does not use the pack is not.
 *
 * <p>Nothing is written or repaired. Blocking: run it on a worker or CLI thread, never an event
 * loop; a scheduler may run it in the background (it holds no state between calls). Store and key
 * errors that are not about the data itself (store unavailable, wrong master key) are thrown, not
 * reported: they say nothing about the backups.
 */
public final class BackupVerifier {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Errors fail the check; warnings are reported and do not. */
    public enum Severity { ERROR, WARNING }

    /** What is wrong. The {@link #code()} decides the exit status of {@code verify}. */
    public enum Kind {
        /** Packs without a manifest: an interrupted backup, never restored, removed by retention. */
        INCOMPLETE(Severity.WARNING, null),
        /** Retention has started deleting the backup (its {@code pruning} marker exists); the next run finishes. */
        PRUNING(Severity.WARNING, null),
        /** A complete backup of a type this build does not verify (a logical dump, a later kind). */
        UNSUPPORTED_TYPE(Severity.WARNING, null),
        /** Neither manifest copy can be read (or the manifest is invalid): the backup cannot be restored. */
        MANIFEST_UNREADABLE(Severity.ERROR, ErrorCode.INTEGRITY_FAILURE),
        /** One manifest copy is missing, damaged or differs; the other still serves. */
        MANIFEST_COPY_DAMAGED(Severity.ERROR, ErrorCode.INTEGRITY_FAILURE),
        /** A parent's manifest cannot be read, or an entry names a backup outside the chain. */
        CHAIN_BROKEN(Severity.ERROR, ErrorCode.INTEGRITY_FAILURE),
        /** A pack an entry names does not exist. */
        PACK_MISSING(Severity.ERROR, ErrorCode.INTEGRITY_FAILURE),
        /** A pack is too small for the entries that name it. */
        PACK_SIZE(Severity.ERROR, ErrorCode.INTEGRITY_FAILURE),
        /** A pack does not authenticate, or a file's checksums do not match its entry. */
        PACK_DAMAGED(Severity.ERROR, ErrorCode.INTEGRITY_FAILURE),
        /** The WAL area cannot be read (no descriptor), or a WAL object the backup needs is damaged. */
        WAL_DAMAGED(Severity.ERROR, ErrorCode.INTEGRITY_FAILURE),
        /** WAL between the backup's start and stop LSN is missing: the backup cannot be restored. */
        WAL_MISSING(Severity.ERROR, ErrorCode.WAL_GAP),
        /** A hole in the WAL after the backup's stop LSN: it can be restored only up to the hole. */
        WAL_GAP(Severity.ERROR, ErrorCode.WAL_GAP);

        private final Severity severity;
        private final ErrorCode code;

        Kind(Severity severity, ErrorCode code) {
            this.severity = severity;
            this.code = code;
        }

        public Severity severity() {
            return severity;
        }

        /** The error code an error of this kind stands for; empty for warnings. */
        public Optional<ErrorCode> code() {
            return Optional.ofNullable(code);
        }

        /** The stable lower-case form used in JSON. */
        public String token() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One finding.
     *
     * @param backup the backup affected (null for a finding about the cluster's WAL area as a whole)
     * @param object the object at fault (a pack, a manifest, a WAL segment), or null when none is
     */
    public record Problem(Kind kind, String source, String systemId, String backup, String object, String message) {
        public Problem {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(message, "message");
        }

        public Severity severity() {
            return kind.severity();
        }
    }

    /**
     * What was found for one backup.
     *
     * @param type       the manifest's type when read, else the id's
     * @param restorable complete, its manifest, chain and packs sound (their data too when read) and
     *                   the WAL from start to stop stored
     * @param wal        how far the WAL carries it; empty when it was not evaluated (no usable manifest)
     * @param chain      the backups it needs, oldest first, itself last (empty without a manifest)
     * @param packs      the packs it names (its own and its ancestors')
     * @param packsRead  of those, how many were read in full by this run
     */
    public record Result(String source, String systemId, BackupId id, String type, boolean complete, boolean restorable,
                         Optional<WalReach> wal, List<BackupId> chain, int packs, int packsRead) {
        public boolean restorableToLatest() {
            return restorable && wal.map(WalReach::toLatest).orElse(false);
        }
    }

    /** The outcome: per backup, and every problem found, in backup order. */
    public record Report(List<Result> backups, List<Problem> problems) {
        public Report {
            backups = List.copyOf(backups);
            problems = List.copyOf(problems);
        }

        public static Report merge(List<Report> reports) {
            List<Result> b = new ArrayList<>();
            List<Problem> p = new ArrayList<>();
            reports.forEach(r -> {
                b.addAll(r.backups());
                p.addAll(r.problems());
            });
            return new Report(b, p);
        }

        public List<Problem> errors() {
            return problems.stream().filter(p -> p.severity() == Severity.ERROR).toList();
        }

        public List<Problem> warnings() {
            return problems.stream().filter(p -> p.severity() == Severity.WARNING).toList();
        }

        /**
         * The code the check fails with: {@code integrity_failure} when any data is damaged or
         * missing, else {@code wal_gap} when only WAL continuity is broken; empty when all is well
         * (warnings do not fail it).
         */
        public Optional<ErrorCode> failure() {
            List<Problem> errors = errors();
            if (errors.stream().anyMatch(p -> p.kind().code().orElse(null) == ErrorCode.INTEGRITY_FAILURE)) {
                return Optional.of(ErrorCode.INTEGRITY_FAILURE);
            }
            return errors.isEmpty() ? Optional.empty() : Optional.of(ErrorCode.WAL_GAP);
        }
    }

    private final Repository repository;
    private final BackupCatalog catalog;

    public BackupVerifier(Repository repository) {
        this.repository = Objects.requireNonNull(repository, "repository");
        this.catalog = new BackupCatalog(repository);
    }

    /**
     * Verifies the backups of cluster {@code systemId} under {@code source}: all of them, or only
     * {@code only} (with the ancestors it needs, which are then checked as part of it but not
     * reported as backups of their own). An {@code only} that is not in this cluster gives an empty
     * report.
     *
     * @param readData also read every pack (and the WAL from each backup's start to stop LSN) in full
     */
    public Report verify(String source, String systemId, Optional<BackupId> only, boolean readData) {
        return verify(source, systemId, only, readData, key -> readData);
    }

    /**
     * As {@link #verify(String, String, Optional, boolean)}, with the data read chosen per pack: a
     * scheduler reads a rotating sample of packs each run (every pack still gets the structure
     * checks). A pack for which {@code readPack} is true is read in full, decrypted and its files'
     * checksums compared; {@link Result#packsRead()} counts them.
     *
     * @param readWal  also read the WAL from each backup's start to stop LSN in full
     * @param readPack which packs (by key) to read in full
     */
    public Report verify(String source, String systemId, Optional<BackupId> only, boolean readWal,
                         java.util.function.Predicate<ObjectKey> readPack) {
        Objects.requireNonNull(readPack, "readPack");
        boolean readData = readWal;
        SortedMap<BackupId, BackupCatalog.Entry> entries = catalog.list(source, systemId);
        if (only.isPresent() && !entries.containsKey(only.get())) {
            return new Report(List.of(), List.of());
        }
        Map<String, ObjectInfo> listed = new HashMap<>();
        entries.values().forEach(e -> e.objects().forEach(o -> listed.put(o.key().value(), o)));
        Run run = new Run(source, systemId, listed, readData);

        WalIndex wal = null;
        try {
            wal = WalArea.index(repository, new WalLayout(source, systemId)).orElse(null);
        } catch (HoldfastException e) {
            if (e.code() != ErrorCode.INTEGRITY_FAILURE && e.code() != ErrorCode.FORMAT_UNSUPPORTED) {
                throw e;
            }
            run.problems.add(new Problem(Kind.WAL_DAMAGED, source, systemId, null, new WalLayout(source, systemId).descriptor().value(),
                    e.getMessage()));
        }

        List<Checked> checked = new ArrayList<>();
        for (BackupCatalog.Entry e : entries.values()) {
            if (only.isEmpty() || only.get().equals(e.id())) {
                checked.add(run.check(e));
            }
        }
        // Packs: each is checked (and read) once, with every entry of every selected backup that names it.
        Map<ObjectKey, List<BackupManifest.FileEntry>> wanted = new LinkedHashMap<>();
        for (Checked c : checked) {
            c.packs.forEach((key, files) -> wanted.computeIfAbsent(key, k -> new ArrayList<>()).addAll(files));
        }
        Map<ObjectKey, Problem> packFailures = new HashMap<>();
        Set<ObjectKey> read = new LinkedHashSet<>();
        wanted.forEach((key, files) -> run.checkPack(key, files).ifPresentOrElse(p -> packFailures.put(key, p), () -> {
            if (readPack.test(key)) {
                run.readPack(key, files).ifPresentOrElse(p -> packFailures.put(key, p), () -> read.add(key));
            }
        }));

        List<Result> results = new ArrayList<>();
        for (Checked c : checked) {
            boolean sound = c.manifest != null && !c.chainBroken;
            for (Map.Entry<ObjectKey, List<BackupManifest.FileEntry>> ref : c.packs.entrySet()) {
                Problem failure = packFailures.get(ref.getKey());
                if (failure == null) {
                    continue;
                }
                sound = false;
                BackupId owner = c.owners.get(ref.getKey());
                String message = owner.equals(c.id) ? failure.message()
                        : "uses " + ref.getValue().size() + " file(s) stored in " + ref.getKey() + " of backup " + owner
                        + ", which is " + (failure.kind() == Kind.PACK_MISSING ? "missing" : "damaged") + ": " + failure.message();
                c.problems.add(new Problem(failure.kind(), source, systemId, c.id.toString(), ref.getKey().value(), message));
            }
            Optional<WalReach> reach = Optional.empty();
            if (c.manifest != null) {
                BackupManifest m = c.manifest;
                WalReach r = WalReach.of(wal, m.timeline(), m.startLsn(), m.stopLsn());
                reach = Optional.of(r);
                String walArea = new WalLayout(source, systemId).listPrefix();
                if (!r.consistent()) {
                    sound = false;
                    WalSegmentName missing = WalSegmentName.of(m.timeline(), r.reached(), wal == null ? m.walSegmentSize() : wal.segmentSize());
                    c.problems.add(new Problem(Kind.WAL_MISSING, source, systemId, c.id.toString(), walArea + missing,
                            "backup " + c.id + " cannot be restored: it needs the WAL from " + m.startLsn() + " to " + m.stopLsn()
                                    + " (timeline " + m.timeline() + "), and segment " + missing + " is missing or incomplete"));
                } else if (r.gap().isPresent()) {
                    c.problems.add(new Problem(Kind.WAL_GAP, source, systemId, c.id.toString(), walArea + r.gap().get(),
                            "backup " + c.id + " can be restored to at most " + r.reached() + " on timeline " + r.reachedTimeline()
                                    + r.reachedAt().map(t -> " (WAL stored by " + t + ")").orElse("") + ": segment " + r.gap().get()
                                    + " is missing or incomplete, so the WAL after it" + r.newest().map(n -> " up to " + n).orElse("")
                                    + " cannot be replayed from this backup"));
                }
                if (readData && r.consistent() && wal != null) {
                    Optional<Problem> walDamage = run.readWal(c.id, wal, m);
                    if (walDamage.isPresent()) {
                        sound = false;
                        c.problems.add(walDamage.get());
                    }
                }
            }
            int packsRead = (int) c.packs.keySet().stream().filter(read::contains).count();
            results.add(new Result(source, systemId, c.id, c.type, c.complete, sound && c.complete, reach, c.chain, c.packs.size(), packsRead));
            run.problems.addAll(c.problems);
        }
        return new Report(results, run.problems);
    }

    /** One backup's findings before packs and WAL are attributed. */
    private static final class Checked {
        final BackupId id;
        String type;
        boolean complete;
        BackupManifest manifest;
        boolean chainBroken;
        List<BackupId> chain = List.of();
        /** Pack key to the entries of this backup that name it; and which backup owns each pack. */
        final Map<ObjectKey, List<BackupManifest.FileEntry>> packs = new TreeMap<>(Comparator.comparing(ObjectKey::value));
        final Map<ObjectKey, BackupId> owners = new HashMap<>();
        final List<Problem> problems = new ArrayList<>();

        Checked(BackupId id) {
            this.id = id;
            this.type = id.type().token();
        }
    }

    /** The state of one {@link #verify} call. */
    private final class Run {
        final String source;
        final String systemId;
        final Map<String, ObjectInfo> listed;
        final boolean readData;
        final List<Problem> problems = new ArrayList<>();
        final Map<BackupId, Object> manifests = new HashMap<>();
        final Set<ObjectKey> walRead = new LinkedHashSet<>();
        final Map<ObjectKey, Problem> walFailures = new HashMap<>();

        Run(String source, String systemId, Map<String, ObjectInfo> listed, boolean readData) {
            this.source = source;
            this.systemId = systemId;
            this.listed = listed;
            this.readData = readData;
        }

        Problem problem(Kind kind, BackupId backup, ObjectKey object, String message) {
            return new Problem(kind, source, systemId, backup == null ? null : backup.toString(), object == null ? null : object.value(), message);
        }

        Checked check(BackupCatalog.Entry e) {
            Checked c = new Checked(e.id());
            BackupLayout layout = new BackupLayout(source, systemId, e.id());
            boolean copyListed = listed.containsKey(layout.manifestCopy().value());
            if (listed.containsKey(layout.pruning().value())) {
                // References before data: the marker is written before the manifest is deleted, so a
                // half-deleted backup is a backup being removed, not a damaged one.
                c.complete = false;
                c.problems.add(problem(Kind.PRUNING, e.id(), layout.pruning(), "backup " + e.id() + " is being removed by retention: "
                        + e.objects().size() + " object(s) left under " + layout + " (an interrupted prune: the next retention run"
                        + " finishes it; restore does not use it)"));
                return c;
            }
            c.complete = e.complete() || copyListed;
            if (!c.complete) {
                c.problems.add(problem(Kind.INCOMPLETE, e.id(), null, "backup " + e.id() + " is incomplete: " + e.objects().size()
                        + " object(s), " + e.storedBytes() + " bytes stored under " + layout + " and no manifest (an interrupted"
                        + " backup: restore never uses it, retention removes it)"));
                return c;
            }
            Copy first = readCopy(layout.manifest());
            Copy second = readCopy(layout.manifestCopy());
            if (first.bytes == null && second.bytes == null) {
                c.problems.add(problem(Kind.MANIFEST_UNREADABLE, e.id(), layout.manifest(), "backup " + e.id()
                        + " cannot be restored: neither manifest copy can be read: " + first.error + "; " + second.error));
                return c;
            }
            if (first.bytes == null || second.bytes == null) {
                Copy bad = first.bytes == null ? first : second;
                c.problems.add(problem(Kind.MANIFEST_COPY_DAMAGED, e.id(), bad.key, "backup " + e.id() + ": " + bad.error
                        + " (the other copy is sound and still serves restores; the redundancy is gone)"));
            } else if (!Arrays.equals(first.bytes, second.bytes)) {
                c.problems.add(problem(Kind.MANIFEST_COPY_DAMAGED, e.id(), layout.manifestCopy(), "backup " + e.id()
                        + ": " + layout.manifestCopy() + " differs from " + layout.manifest() + " (both authenticate; they were written as"
                        + " identical copies)"));
            }
            byte[] bytes = first.bytes != null ? first.bytes : second.bytes;
            String type = typeOf(bytes);
            if (type != null) {
                c.type = type;
            }
            if (type != null && !BackupSummary.isBaseBackup(type)) {
                c.problems.add(problem(Kind.UNSUPPORTED_TYPE, e.id(), null, "backup " + e.id() + " is of type '" + type
                        + "', which this check does not verify (only full and incr)"));
                return c;
            }
            BackupManifest m;
            try {
                m = BackupManifest.fromJson(bytes, "backup " + e.id());
                if (!m.id().equals(e.id()) || !m.source().equals(source) || !m.systemId().equals(systemId)) {
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "backup " + e.id() + ": the manifest describes backup "
                            + m.id() + " of source " + m.source() + ", system identifier " + m.systemId());
                }
            } catch (HoldfastException x) {
                c.problems.add(problem(Kind.MANIFEST_UNREADABLE, e.id(), layout.manifest(), x.getMessage()));
                return c;
            }
            c.manifest = m;
            manifests.put(m.id(), m);
            resolveChain(c, m);
            return c;
        }

        /** Walks the parents of {@code m}, then maps every entry to the pack it names. */
        void resolveChain(Checked c, BackupManifest m) {
            List<BackupId> chain = new ArrayList<>();
            chain.add(m.id());
            BackupManifest cur = m;
            while (cur.parent().isPresent()) {
                BackupId p = cur.parent().get();
                Object got = manifests.computeIfAbsent(p, this::readAncestor);
                if (got instanceof HoldfastException x) {
                    c.chainBroken = true;
                    c.problems.add(problem(Kind.CHAIN_BROKEN, c.id, new BackupLayout(source, systemId, p).manifest(), "backup " + c.id
                            + " needs " + p + " (the parent of " + cur.id() + "), whose manifest cannot be read: " + x.getMessage()));
                    break;
                }
                cur = (BackupManifest) got;
                chain.add(cur.id());
            }
            Collections.reverse(chain);
            c.chain = List.copyOf(chain);
            Set<BackupId> members = new LinkedHashSet<>(chain);
            for (BackupManifest.FileEntry f : m.files()) {
                BackupId owner = f.from().orElse(m.id());
                if (!members.contains(owner)) {
                    if (!c.chainBroken) {
                        c.chainBroken = true;
                        c.problems.add(problem(Kind.CHAIN_BROKEN, c.id, new BackupLayout(source, systemId, c.id).manifest(), "backup "
                                + c.id + ": file '" + f.path() + "' is taken from backup " + owner + ", which is not in its chain " + chain));
                    }
                    continue;
                }
                ObjectKey key = new BackupLayout(source, systemId, owner).pack(Integer.parseInt(f.pack().substring("pack-".length())));
                c.packs.computeIfAbsent(key, k -> new ArrayList<>()).add(f);
                c.owners.put(key, owner);
            }
        }

        Object readAncestor(BackupId id) {
            try {
                BackupManifest m = catalog.read(source, systemId, id);
                if (!m.id().equals(id)) {
                    return new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "its manifest describes backup " + m.id());
                }
                return m;
            } catch (HoldfastException e) {
                return e;
            }
        }

        record Copy(ObjectKey key, byte[] bytes, String error) {
        }

        Copy readCopy(ObjectKey key) {
            if (!listed.containsKey(key.value())) {
                return new Copy(key, null, key + " is missing");
            }
            try (OpeningInputStream in = repository.open(key)) {
                return new Copy(key, in.readAllBytes(), null);
            } catch (IOException | HoldfastException e) {
                HoldfastException h = dataFailure(e);
                return new Copy(key, null, key + " cannot be read: " + h.getMessage());
            }
        }

        /**
         * Structure: the pack exists, its footer authenticates, and it holds the bytes its entries
         * need. Empty when sound.
         */
        Optional<Problem> checkPack(ObjectKey key, List<BackupManifest.FileEntry> files) {
            ObjectInfo info = listed.get(key.value());
            if (info == null) {
                return Optional.of(problem(Kind.PACK_MISSING, null, key, "pack " + key + " is missing"));
            }
            long needed = 0;
            for (BackupManifest.FileEntry f : files) {
                needed = Math.max(needed, f.offset() + f.size());
            }
            Footer footer;
            try {
                footer = repository.inspect(key).footer();
            } catch (HoldfastException e) {
                HoldfastException h = dataFailure(e);
                if (h.code() == ErrorCode.OBJECT_NOT_FOUND) {
                    return Optional.of(problem(Kind.PACK_MISSING, null, key, "pack " + key + " is missing"));
                }
                return Optional.of(problem(Kind.PACK_DAMAGED, null, key, "pack " + key + " is damaged: " + h.getMessage()));
            }
            if (footer.plaintextLength() < needed) {
                return Optional.of(problem(Kind.PACK_SIZE, null, key, "pack " + key + " holds " + footer.plaintextLength()
                        + " bytes but its entries need " + needed));
            }
            // A sealed object is at least its header, its footer and 22 bytes per data segment (docs/format.md 6.4).
            long minimum = 56 + Footer.SEGMENT_LENGTH + 22L * footer.dataSegments();
            if (info.size() < minimum) {
                return Optional.of(problem(Kind.PACK_SIZE, null, key, "pack " + key + " is " + info.size() + " bytes, less than the "
                        + minimum + " a sealed object of " + footer.dataSegments() + " segments takes"));
            }
            return Optional.empty();
        }

        /** Data: reads the pack once per set of non-overlapping entries, checksums compared. Empty when sound. */
        Optional<Problem> readPack(ObjectKey key, List<BackupManifest.FileEntry> files) {
            for (List<BackupManifest.FileEntry> pass : passes(files)) {
                try {
                    PackReader.read(repository, key, pass, true, "pack " + key, (entry, bytes) -> { });
                } catch (IOException | HoldfastException e) {
                    HoldfastException h = dataFailure(e);
                    return Optional.of(problem(h.code() == ErrorCode.OBJECT_NOT_FOUND ? Kind.PACK_MISSING : Kind.PACK_DAMAGED, null, key,
                            h.getMessage()));
                }
            }
            return Optional.empty();
        }

        /** Reads the WAL objects from the backup's start to its stop LSN in full. Empty when sound. */
        Optional<Problem> readWal(BackupId id, WalIndex wal, BackupManifest m) {
            long size = wal.segmentSize();
            WalSegmentName s = WalSegmentName.of(m.timeline(), m.startLsn(), size);
            WalSegmentName last = WalSegmentName.of(m.timeline(), m.stopLsn().compareTo(m.startLsn()) > 0 ? m.stopLsn().plus(-1)
                    : m.stopLsn(), size);
            for (; s.compareTo(last) <= 0; s = s.next(size)) {
                List<ObjectKey> keys = new ArrayList<>();
                Optional<WalObject> whole = wal.segment(s);
                if (whole.isPresent()) {
                    keys.add(whole.get().key());
                } else {
                    wal.chain(s).forEach(p -> keys.add(p.key()));
                }
                for (ObjectKey key : keys) {
                    if (!walRead.contains(key) && !walFailures.containsKey(key)) {
                        try (OpeningInputStream in = repository.open(key)) {
                            in.transferTo(OutputStream.nullOutputStream());
                            walRead.add(key);
                        } catch (IOException | HoldfastException e) {
                            walFailures.put(key, problem(Kind.WAL_DAMAGED, null, key, dataFailure(e).getMessage()));
                        }
                    }
                    Problem p = walFailures.get(key);
                    if (p != null) {
                        return Optional.of(problem(Kind.WAL_DAMAGED, id, key, "backup " + id + " cannot be restored: WAL object "
                                + key + " it needs (start " + m.startLsn() + " to stop " + m.stopLsn() + ") is damaged: " + p.message()));
                    }
                }
            }
            return Optional.empty();
        }
    }

    /** Entries split so that none overlaps another in one pass (duplicates, from several manifests, dropped). */
    static List<List<BackupManifest.FileEntry>> passes(List<BackupManifest.FileEntry> files) {
        record Same(long offset, long size, String crc32c, String sha256) {
        }
        Map<Same, BackupManifest.FileEntry> distinct = new LinkedHashMap<>();
        for (BackupManifest.FileEntry f : files) {
            distinct.putIfAbsent(new Same(f.offset(), f.size(), f.crc32c(), f.sha256()), f);
        }
        List<BackupManifest.FileEntry> sorted = new ArrayList<>(distinct.values());
        sorted.sort(Comparator.comparingLong(BackupManifest.FileEntry::offset).thenComparingLong(BackupManifest.FileEntry::size));
        List<List<BackupManifest.FileEntry>> passes = new ArrayList<>();
        List<Long> ends = new ArrayList<>();
        for (BackupManifest.FileEntry f : sorted) {
            int i = 0;
            while (i < passes.size() && ends.get(i) > f.offset()) {
                i++;
            }
            if (i == passes.size()) {
                passes.add(new ArrayList<>());
                ends.add(0L);
            }
            passes.get(i).add(f);
            ends.set(i, f.offset() + f.size());
        }
        if (passes.isEmpty()) {
            passes.add(List.of());
        }
        return passes;
    }

    /**
     * The finding in a read failure: integrity and format failures, and a missing object, are
     * findings about the data; anything else (store unavailable, wrong key) is rethrown.
     */
    private static HoldfastException dataFailure(Exception e) {
        HoldfastException h = HoldfastException.find(e);
        if (h != null && (h.code() == ErrorCode.INTEGRITY_FAILURE || h.code() == ErrorCode.FORMAT_UNSUPPORTED
                || h.code() == ErrorCode.OBJECT_NOT_FOUND)) {
            return h;
        }
        if (h != null) {
            throw h;
        }
        throw new HoldfastException(ErrorCode.IO_ERROR, e.getMessage(), e);
    }

    private static String typeOf(byte[] manifest) {
        try {
            JsonNode n = JSON.readTree(manifest);
            return n != null && n.path("type").isTextual() ? n.path("type").asText() : null;
        } catch (IOException e) {
            return null;
        }
    }
}
