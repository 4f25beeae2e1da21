package dev.holdfast.agent.postgres.restore;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.stream.Stream;

/**
 * A restore target that passed the allowlist: {@code restore.allowed_targets} holds directories; a
 * target must be one of them or lie below one, judged on canonical paths, so that neither a
 * {@code ..} segment nor a symbolic link (the target itself, or any directory on its way) can lead
 * a restore elsewhere. A {@code ..} segment is refused outright, even when it would stay inside.
 * An existing, non-empty target is refused unless the caller overwrites. Every refusal happens
 * before anything is written.
 *
 * @param path     the canonical target directory (it may not exist yet)
 * @param exists   whether it exists
 * @param nonEmpty whether it holds anything
 */
public record RestoreTarget(Path path, boolean exists, boolean nonEmpty) {

    /** Checks {@code requested} against {@code allowed}; see the class. */
    public static RestoreTarget check(Path requested, List<Path> allowed, boolean overwrite) {
        for (Path segment : requested) {
            if (segment.toString().equals("..")) {
                throw refused(requested, "it contains '..'");
            }
        }
        if (allowed.isEmpty()) {
            throw new HoldfastException(ErrorCode.TARGET_NOT_ALLOWED, "restore target " + requested
                    + " refused: restore.allowed_targets is empty in the configuration, so restores may write nowhere");
        }
        Path canonical = canonical(requested.toAbsolutePath().normalize());
        boolean inside = false;
        for (Path root : allowed) {
            Path r = canonical(root.toAbsolutePath().normalize());
            if (canonical.startsWith(r)) {
                inside = true;
                break;
            }
        }
        if (!inside) {
            throw refused(requested, (canonical.equals(requested.toAbsolutePath().normalize()) ? "it" : "it resolves to " + canonical
                    + ", which") + " is not under restore.allowed_targets " + allowed);
        }
        boolean exists = Files.exists(canonical, LinkOption.NOFOLLOW_LINKS);
        boolean nonEmpty = false;
        if (exists) {
            if (!Files.isDirectory(canonical, LinkOption.NOFOLLOW_LINKS)) {
                throw refused(requested, "it exists and is not a directory");
            }
            try (Stream<Path> s = Files.list(canonical)) {
                nonEmpty = s.findAny().isPresent();
            } catch (IOException e) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read restore target " + canonical + ": " + e.getMessage(), e);
            }
        }
        if (nonEmpty && !overwrite) {
            throw new HoldfastException(ErrorCode.TARGET_NOT_EMPTY, "restore target " + canonical
                    + " is not empty; nothing was written. Choose an empty directory, or pass --overwrite to replace its contents");
        }
        return new RestoreTarget(canonical, exists, nonEmpty);
    }

    /**
     * Empties the target (for {@code --overwrite}): deletes what is in it without following any
     * symbolic link (a link is removed, never its target).
     */
    public void clear() {
        if (!exists) {
            return;
        }
        try {
            deleteTree(path, true);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot empty restore target " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes a tree without following any symbolic link (a link is removed, never its target);
     * {@code keepRoot}: the root directory itself stays (emptied). Nothing happens when
     * {@code root} does not exist.
     */
    public static void deleteTree(Path root, boolean keepRoot) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                if (!keepRoot || !dir.equals(root)) {
                    Files.delete(dir);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** The real path of the longest existing prefix, with the rest appended. */
    private static Path canonical(Path p) {
        Path existing = p;
        Path rest = null;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            Path name = existing.getFileName();
            rest = rest == null ? name : name.resolve(rest);
            existing = existing.getParent();
        }
        try {
            Path real = existing == null ? p.getRoot() : existing.toRealPath();
            return rest == null ? real : real.resolve(rest);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot resolve " + p + ": " + e.getMessage(), e);
        }
    }

    private static HoldfastException refused(Path requested, String why) {
        return new HoldfastException(ErrorCode.TARGET_NOT_ALLOWED, "restore target " + requested + " refused: " + why + "; nothing was written");
    }
}
