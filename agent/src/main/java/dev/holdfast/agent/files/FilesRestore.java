package dev.holdfast.agent.files;

import dev.holdfast.agent.postgres.restore.RestoreTarget;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.Optional;
import java.util.Set;
import javax.crypto.Mac;

/**
 * Restores a files snapshot, or one path of it (a file or a subtree), into a directory under
 * {@code restore.allowed_targets} (docs/files.md, "Restore"). An entry {@code /etc/app/a.conf} is
 * restored to {@code TARGET/etc/app/a.conf}. Traversal-proof by construction:
 * <ul>
 *   <li>the target passes {@link RestoreTarget} (allowlist on canonical paths, empty unless
 *       {@code overwrite}, which empties it without following links);</li>
 *   <li>every path of the manifest is checked before anything is written: absolute, and after the
 *       leading {@code /} no empty, {@code .} or {@code ..} segment, no NUL, no duplicate; one bad
 *       path refuses the whole restore;</li>
 *   <li>directories are made one segment at a time, refusing any existing segment that is not a
 *       real directory (a symbolic link is never followed); files are written to a fresh temporary
 *       name ({@code CREATE_NEW}, {@code NOFOLLOW_LINKS}) and renamed into place; symbolic links are
 *       created last, so no file is ever written below one;</li>
 *   <li>each blob's plaintext is checked against the entry's content id and size while it is
 *       written; a mismatch fails the restore ({@code INTEGRITY_FAILURE}) and removes the temporary file.</li>
 * </ul>
 * Modes and modification times are applied (directories last, deepest first); owners and groups
 * only when running as root (by name when the name exists here, else by number), else reported.
 * Blocking.
 */
public final class FilesRestore {
    private final Repository repository;
    private final ContentIds ids;
    private final SecureRandom random;

    /**
     * @param snapshot a snapshot id or {@code latest}
     * @param path     an absolute path of the snapshot (a file or directory) to restore alone
     */
    public record Options(String source, String snapshot, Optional<String> path, Path target, List<Path> allowedTargets, boolean overwrite) {
        public Options {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(snapshot, "snapshot");
            Objects.requireNonNull(target, "target");
            allowedTargets = List.copyOf(allowedTargets);
        }
    }

    /** What was restored; {@code ownersApplied} false means owners and groups were left to the user running the restore. */
    public record Result(FilesManifest manifest, Path target, int files, int dirs, int symlinks, int tailed, long bytes, boolean ownersApplied,
                         List<String> warnings) {
    }

    public FilesRestore(Repository repository, SecureRandom random) {
        this.repository = Objects.requireNonNull(repository, "repository");
        this.ids = new ContentIds(repository);
        this.random = Objects.requireNonNull(random, "random");
    }

    public Result restore(Options o, FilesSnapshot.Listener listener) {
        FilesCatalog catalog = new FilesCatalog(repository);
        Map<String, TreeMap<Integer, TailStreams.Generation>> tails = new TailStreams(repository).list(o.source());
        FilesManifest m;
        if (o.snapshot().equals("latest") && !tails.isEmpty() && catalog.ids(o.source()).isEmpty()) {
            Instant none = Instant.EPOCH;
            m = new FilesManifest(FilesManifest.FORMAT, "none", o.source(), "", none, none, List.of(), List.of(), List.of(), List.of(), 0);
        } else {
            m = catalog.resolve(o.source(), o.snapshot());
        }
        return restore(m, tails, o, listener);
    }

    /** Restores {@code m} (already read) without tailed files; see the class. */
    public Result restore(FilesManifest m, Options o, FilesSnapshot.Listener listener) {
        return restore(m, Map.of(), o, listener);
    }

    /** A tailed file's generation and where it goes (relative to the target). */
    private record TailOut(TailStreams.Generation gen, String rel) {
    }

    private Result restore(FilesManifest m, Map<String, TreeMap<Integer, TailStreams.Generation>> tails, Options o, FilesSnapshot.Listener listener) {
        List<String> rel = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (FileEntry e : m.entries()) {
            String r = relative(e.path());
            if (!seen.add(r)) {
                throw bad("it names " + printable(e.path()) + " twice");
            }
            if (r.isEmpty() && e.type() != FileEntry.Type.DIR) {
                throw bad("its root entry is a " + e.type().token);
            }
            if (e.type() == FileEntry.Type.FILE && !FilesLayout.isContentId(e.content().get())) {
                throw bad("entry " + printable(e.path()) + " has no valid content id");
            }
            rel.add(r);
        }
        List<TailOut> tailOuts = new ArrayList<>();
        for (TreeMap<Integer, TailStreams.Generation> gens : tails.values()) {
            for (TailStreams.Generation g : gens.values()) {
                String r = relative(g.path());
                if (r.isEmpty()) {
                    throw bad("a tailed file is named '/'");
                }
                if (g.gen() != gens.lastKey()) {
                    r = r + String.format(".gen-%08d", g.gen());
                }
                if (!seen.add(r)) {
                    throw bad("tailed file " + printable(g.path()) + " collides with another entry");
                }
                if (g.contiguousEnd() < 0) {
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "generation " + g.gen() + " of tailed file " + printable(g.path())
                            + " has a gap between its segments; nothing was written");
                }
                tailOuts.add(new TailOut(g, r));
            }
        }
        List<Integer> chosen = new ArrayList<>();
        String prefix = null;
        if (o.path().isPresent()) {
            String p = o.path().get();
            while (p.length() > 1 && p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
            if (!p.startsWith("/")) {
                throw new HoldfastException(ErrorCode.USAGE, "--path must be an absolute path of the snapshot, e.g. /etc/app/app.conf");
            }
            prefix = relative(p);
        }
        for (int i = 0; i < rel.size(); i++) {
            String r = rel.get(i);
            if (prefix == null || prefix.isEmpty() || r.equals(prefix) || r.startsWith(prefix + "/")) {
                chosen.add(i);
            }
        }
        if (prefix != null && !prefix.isEmpty()) {
            String pre = prefix;
            tailOuts.removeIf(t -> {
                String base = relative(t.gen().path());
                return !(base.equals(pre) || base.startsWith(pre + "/"));
            });
        }
        if (chosen.isEmpty() && tailOuts.isEmpty()) {
            throw new HoldfastException(ErrorCode.NOT_FOUND, "snapshot " + m.id() + " of " + m.source() + " has no " + o.path().get());
        }
        RestoreTarget target = RestoreTarget.check(o.target(), o.allowedTargets(), o.overwrite());
        if (target.nonEmpty()) {
            target.clear();
        }
        Path root = target.path();
        boolean asRoot = runningAsRoot();
        List<String> warnings = new ArrayList<>();
        int files = 0;
        int dirs = 0;
        int links = 0;
        int tailed = 0;
        long bytes = 0;
        try {
            Files.createDirectories(root);
            // 1. directories, 2. files, 3. symbolic links, 4. directory attributes, deepest first
            for (int i : chosen) {
                FileEntry e = m.entries().get(i);
                if (e.type() == FileEntry.Type.DIR) {
                    dirs++;
                    if (!rel.get(i).isEmpty()) {
                        directory(root, rel.get(i));
                    }
                }
            }
            for (int i : chosen) {
                FileEntry e = m.entries().get(i);
                if (e.type() == FileEntry.Type.FILE) {
                    Path dest = parent(root, rel.get(i)).resolve(name(rel.get(i)));
                    write(e, dest);
                    attributes(e, dest, asRoot, warnings);
                    files++;
                    bytes += e.size();
                }
            }
            for (TailOut t : tailOuts) {
                Path dest = parent(root, t.rel()).resolve(name(t.rel()));
                bytes += writeTail(t.gen(), dest);
                Files.setAttribute(dest, "unix:mode", t.gen().mode(), LinkOption.NOFOLLOW_LINKS);
                tailed++;
            }
            for (int i : chosen) {
                FileEntry e = m.entries().get(i);
                if (e.type() == FileEntry.Type.SYMLINK) {
                    Path dest = parent(root, rel.get(i)).resolve(name(rel.get(i)));
                    Files.createSymbolicLink(dest, Path.of(e.target().get()));
                    attributes(e, dest, asRoot, warnings);
                    links++;
                }
            }
            for (int k = chosen.size() - 1; k >= 0; k--) {
                int i = chosen.get(k);
                FileEntry e = m.entries().get(i);
                if (e.type() == FileEntry.Type.DIR && !rel.get(i).isEmpty()) {
                    attributes(e, root.resolve(rel.get(i)), asRoot, warnings);
                }
            }
        } catch (FileAlreadyExistsException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "restore into " + root + " stopped: " + e.getFile() + " exists", e);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "restore into " + root + " failed: " + e.getMessage(), e);
        }
        if (!asRoot) {
            warnings.add("owners and groups were not applied (not running as root): the files belong to the user running the restore");
        }
        warnings.forEach(listener::message);
        return new Result(m, root, files, dirs, links, tailed, bytes, asRoot, warnings);
    }

    /** The manifest path without its leading '/', checked (see the class). */
    static String relative(String path) {
        if (path == null || !path.startsWith("/") || path.indexOf('\0') >= 0) {
            throw bad("entry " + printable(path) + " is not an absolute path");
        }
        String r = path.substring(1);
        if (r.isEmpty()) {
            return r;
        }
        for (String seg : r.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw bad("entry " + printable(path) + " has an empty, '.' or '..' segment");
            }
        }
        return r;
    }

    private static HoldfastException bad(String why) {
        return new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the snapshot manifest is refused: " + why + "; nothing was written");
    }

    private static String printable(String s) {
        return s == null ? "null" : s.replaceAll("\\p{Cntrl}", "?");
    }

    private static String name(String rel) {
        int slash = rel.lastIndexOf('/');
        return slash < 0 ? rel : rel.substring(slash + 1);
    }

    /** Makes {@code rel} (and its parents) as real directories below {@code root}, refusing links on the way. */
    private static Path directory(Path root, String rel) throws IOException {
        Path p = root;
        for (String seg : rel.split("/")) {
            p = p.resolve(seg);
            if (Files.isSymbolicLink(p)) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "restore refused to go through symbolic link " + p);
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(p);
            } else if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "restore cannot make directory " + p + ": something else is there");
            }
        }
        return p;
    }

    private static Path parent(Path root, String rel) throws IOException {
        int slash = rel.lastIndexOf('/');
        return slash < 0 ? root : directory(root, rel.substring(0, slash));
    }

    /** Writes the file's content through a temporary name, checked against its content id. */
    private void write(FileEntry e, Path dest) throws IOException {
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(dest.toString());
        }
        byte[] r = new byte[6];
        random.nextBytes(r);
        Path tmp = dest.resolveSibling("." + dest.getFileName() + ".holdfast-" + HexFormat.of().formatHex(r));
        boolean ok = false;
        try (OpeningInputStream in = repository.open(FilesLayout.blob(e.content().get()));
             OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            Mac mac = ids.newMac();
            byte[] buf = new byte[1 << 16];
            long n = 0;
            for (int k; (k = in.read(buf)) >= 0; ) {
                if (k == 0) {
                    continue;
                }
                mac.update(buf, 0, k);
                n += k;
                if (n > e.size()) {
                    break;
                }
                out.write(buf, 0, k);
            }
            if (n != e.size() || !ContentIds.finish(mac).equals(e.content().get())) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the content of " + e.path() + " does not match its content id"
                        + " (blob " + FilesLayout.blob(e.content().get()) + "); the restore stopped");
            }
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(tmp);
            }
        }
        Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Concatenates a tailed file's generation (segments contiguous from 0, checked) into {@code dest} through a temporary name. */
    private long writeTail(TailStreams.Generation g, Path dest) throws IOException {
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(dest.toString());
        }
        byte[] r = new byte[6];
        random.nextBytes(r);
        Path tmp = dest.resolveSibling("." + dest.getFileName() + ".holdfast-" + HexFormat.of().formatHex(r));
        boolean ok = false;
        long n = 0;
        try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            for (FilesLayout.TailName s : g.segments()) {
                try (OpeningInputStream in = repository.open(FilesLayout.tailSegment(g.source(), g.pathId(), g.gen(), s.start(), s.end()))) {
                    long got = in.transferTo(out);
                    if (got != s.end() - s.start()) {
                        throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "segment " + s.start() + "-" + s.end() + " of tailed file "
                                + printable(g.path()) + " holds " + got + " bytes; the restore stopped");
                    }
                    n += got;
                }
            }
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(tmp);
            }
        }
        Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
        return n;
    }

    private static void attributes(FileEntry e, Path p, boolean asRoot, List<String> warnings) throws IOException {
        if (asRoot) {
            PosixFileAttributeView v = Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            UserPrincipalLookupService lookup = p.getFileSystem().getUserPrincipalLookupService();
            try {
                UserPrincipal u = lookup.lookupPrincipalByName(e.owner());
                v.setOwner(u);
            } catch (IOException | UnsupportedOperationException x) {
                Files.setAttribute(p, "unix:uid", (int) e.uid(), LinkOption.NOFOLLOW_LINKS);
            }
            try {
                GroupPrincipal g = lookup.lookupPrincipalByGroupName(e.group());
                v.setGroup(g);
            } catch (IOException | UnsupportedOperationException x) {
                Files.setAttribute(p, "unix:gid", (int) e.gid(), LinkOption.NOFOLLOW_LINKS);
            }
        }
        if (e.type() != FileEntry.Type.SYMLINK) {
            Files.setAttribute(p, "unix:mode", e.mode(), LinkOption.NOFOLLOW_LINKS);
        }
        try {
            Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(FileTime.from(e.mtime()), null, null);
        } catch (IOException | UnsupportedOperationException x) {
            if (e.type() != FileEntry.Type.SYMLINK) {
                throw x;
            }
            warnings.add("modification time of symbolic link " + e.path() + " not applied: " + x.getMessage());
        }
    }

    /** Whether this process runs as root (uid 0): read from {@code /proc/self}'s owner. */
    static boolean runningAsRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | RuntimeException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }
}
