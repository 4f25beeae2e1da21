package dev.holdfast.agent.files;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Walks a files source's {@code paths} globs (docs/files.md, "What is selected"). Each pattern is
 * walked from its <em>root</em>, the longest leading run of segments without glob characters
 * ({@code * ? [ {}), never following a symbolic link; an entry is selected when it matches the
 * pattern ({@code glob:} syntax of {@link java.nio.file.PathMatcher}, {@code **} crossing
 * directories) and no {@code exclude} pattern. A pattern without glob characters that names a
 * directory selects the directory and everything below it. The roots themselves are recorded as
 * directories so that a restore recreates them. An excluded directory is not descended into.
 */
final class TreeScan {
    /** A selected path with its attributes (read once, without following links). */
    record Found(Path path, FileEntry.Type type, int mode, long uid, long gid, String owner, String group, Instant mtime, long size,
                 long inode, Instant ctime) {
    }

    /** A walk root and the pattern selecting below it. */
    record Root(Path dir, PathMatcher matcher, int maxDepth) {
    }

    private final List<Root> roots = new ArrayList<>();
    private final List<PathMatcher> exclude;

    TreeScan(List<String> paths, List<String> exclude) {
        for (String p : paths) {
            roots.add(root(p));
        }
        this.exclude = exclude.stream().map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
    }

    List<Root> roots() {
        return roots;
    }

    boolean excluded(Path p) {
        for (PathMatcher m : exclude) {
            if (m.matches(p)) {
                return true;
            }
        }
        return false;
    }

    static Root root(String pattern) {
        String[] segs = pattern.split("/");
        StringBuilder root = new StringBuilder();
        int i = 0;
        for (; i < segs.length; i++) {
            if (segs[i].matches(".*[*?\\[{].*")) {
                break;
            }
            if (!segs[i].isEmpty()) {
                root.append('/').append(segs[i]);
            }
        }
        Path dir = Path.of(root.length() == 0 ? "/" : root.toString());
        if (i == segs.length) { // no glob characters: the path itself, and below it when it is a directory
            String glob = pattern.endsWith("/") ? pattern + "**" : pattern + "{,/**}";
            return new Root(dir, FileSystems.getDefault().getPathMatcher("glob:" + glob), Integer.MAX_VALUE);
        }
        boolean deep = pattern.contains("**");
        return new Root(dir, FileSystems.getDefault().getPathMatcher("glob:" + pattern), deep ? Integer.MAX_VALUE : segs.length - i);
    }

    /**
     * The selected entries, sorted by path (each once), and the paths left out for an unsupported
     * type (sockets, devices, FIFOs) or because they could not be read.
     */
    Map<Path, Found> scan(List<FilesManifest.Excluded> problems) {
        TreeMap<Path, Found> out = new TreeMap<>();
        for (Root r : roots) {
            if (!Files.exists(r.dir(), LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            try {
                Files.walkFileTree(r.dir(), EnumSet.noneOf(FileVisitOption.class), r.maxDepth(), new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                        if (!dir.equals(r.dir()) && excluded(dir)) {
                            return FileVisitResult.SKIP_SUBTREE;
                        }
                        if (dir.equals(r.dir()) || r.matcher().matches(dir)) {
                            add(dir, out, problems);
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                        if (!excluded(file) && (r.matcher().matches(file) || file.equals(r.dir()))) {
                            add(file, out, problems);
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException exc) {
                        if (!excluded(file)) {
                            problems.add(new FilesManifest.Excluded(file.toString(), "unreadable: " + exc.getClass().getSimpleName()));
                        }
                        return FileVisitResult.CONTINUE;
                    }
                });
            } catch (IOException e) {
                problems.add(new FilesManifest.Excluded(r.dir().toString(), "unreadable: " + e.getMessage()));
            }
        }
        return out;
    }

    private static void add(Path p, Map<Path, Found> out, List<FilesManifest.Excluded> problems) {
        if (out.containsKey(p)) {
            return;
        }
        try {
            read(p).ifPresentOrElse(f -> out.put(p, f), () -> problems.add(new FilesManifest.Excluded(p.toString(), "unsupported type")));
        } catch (IOException e) {
            problems.add(new FilesManifest.Excluded(p.toString(), "unreadable: " + e.getClass().getSimpleName()));
        }
    }

    private static final Map<Long, String> OWNERS = new java.util.concurrent.ConcurrentHashMap<>();
    private static final Map<Long, String> GROUPS = new java.util.concurrent.ConcurrentHashMap<>();

    private static String name(Path p, String attribute, long id) {
        try {
            Object o = Files.getAttribute(p, attribute, LinkOption.NOFOLLOW_LINKS);
            return o instanceof UserPrincipal u ? u.getName() : o instanceof GroupPrincipal g ? g.getName() : Long.toString(id);
        } catch (IOException | RuntimeException e) {
            return Long.toString(id);
        }
    }

    /** The entry's attributes, without following a link; empty for sockets, devices and FIFOs. */
    static Optional<Found> read(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,ino,ctime,size,lastModifiedTime,isSymbolicLink,isDirectory,isRegularFile",
                LinkOption.NOFOLLOW_LINKS);
        FileEntry.Type type;
        if (Boolean.TRUE.equals(a.get("isSymbolicLink"))) {
            type = FileEntry.Type.SYMLINK;
        } else if (Boolean.TRUE.equals(a.get("isDirectory"))) {
            type = FileEntry.Type.DIR;
        } else if (Boolean.TRUE.equals(a.get("isRegularFile"))) {
            type = FileEntry.Type.FILE;
        } else {
            return Optional.empty();
        }
        int mode = ((Integer) a.get("mode")) & 07777;
        long uid = ((Integer) a.get("uid")) & 0xffffffffL;
        long gid = ((Integer) a.get("gid")) & 0xffffffffL;
        // names looked up once per id (a lookup per file reads the user database every time)
        String owner = OWNERS.computeIfAbsent(uid, k -> name(p, "unix:owner", k));
        String group = GROUPS.computeIfAbsent(gid, k -> name(p, "unix:group", k));
        Instant mtime = ((FileTime) a.get("lastModifiedTime")).toInstant();
        Instant ctime = ((FileTime) a.get("ctime")).toInstant();
        long size = type == FileEntry.Type.FILE ? (Long) a.get("size") : 0L;
        return Optional.of(new Found(p, type, type == FileEntry.Type.SYMLINK ? 0 : mode, uid, gid, owner, group, mtime, size,
                (Long) a.get("ino"), ctime));
    }
}
