package dev.holdfast.agent.postgres.backup;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.backup.BackupManifest;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What of a data directory a base backup copies, with PostgreSQL's own exclusions (those of
 * {@code pg_basebackup}, src/backend/backup/basebackup.c):
 * <ul>
 *   <li>the contents (not the directory) of {@code pg_wal} (but {@code pg_wal/archive_status}
 *       exists), {@code pg_dynshmem}, {@code pg_notify}, {@code pg_replslot}, {@code pg_serial},
 *       {@code pg_snapshots}, {@code pg_stat_tmp} and {@code pg_subtrans}: rebuilt by the server;</li>
 *   <li>{@code postmaster.pid}, {@code postmaster.opts}, {@code postgresql.auto.conf.tmp},
 *       {@code current_logfiles.tmp}, every {@code pg_internal.init}, and any {@code backup_label},
 *       {@code tablespace_map} or {@code backup_manifest} left behind (the backup writes its own);</li>
 *   <li>temporary files and directories ({@code pgsql_tmp*}) and temporary relations
 *       ({@code t<n>_<relfilenode>...}) anywhere;</li>
 *   <li>every fork but the init fork of an unlogged relation (reset from {@code _init} at recovery);</li>
 *   <li>sockets, pipes and devices; symbolic links other than tablespaces and a symlinked
 *       {@code pg_wal} are skipped and reported.</li>
 * </ul>
 * A tablespace ({@code pg_tblspc/<oid>}, a symlink) contributes its version directory
 * ({@code PG_<major>_<catversion>}) under {@code pg_tblspc/<oid>/}. Files that vanish while the scan
 * runs (a dropped table) are simply not listed.
 */
final class DataDirectoryScan {
    static final Set<String> EXCLUDE_CONTENTS = Set.of("pg_wal", "pg_dynshmem", "pg_notify", "pg_replslot", "pg_serial",
            "pg_snapshots", "pg_stat_tmp", "pg_subtrans");
    static final Set<String> EXCLUDE_FILES = Set.of("postmaster.pid", "postmaster.opts", "postgresql.auto.conf.tmp",
            "current_logfiles.tmp", "pg_internal.init", "backup_label", "tablespace_map", "backup_manifest");
    private static final Pattern TEMP_RELATION = Pattern.compile("t\\d+_\\d+(_(fsm|vm|init))?(\\.\\d+)?");
    private static final Pattern RELATION_FORK = Pattern.compile("(\\d+)(_(fsm|vm|init))?(\\.\\d+)?");

    /** One file to copy: where it is and what it looked like when listed. */
    record SourceFile(String path, Path file, long size, Instant mtime, int mode) {
    }

    /** The result: files, directories to recreate (every directory seen), and what was skipped with why. */
    record Result(List<SourceFile> files, List<String> directories, List<String> skipped) {
        long bytes() {
            return files.stream().mapToLong(SourceFile::size).sum();
        }
    }

    private final List<SourceFile> files = new ArrayList<>();
    private final Set<String> directories = new TreeSet<>();
    private final List<String> skipped = new ArrayList<>();

    private DataDirectoryScan() {
    }

    /**
     * Scans {@code dataDir}; {@code tablespaces} are the server's (their OIDs name the links under
     * {@code pg_tblspc}); {@code serverMajor} picks the tablespace version directory.
     */
    static Result scan(Path dataDir, List<BackupManifest.Tablespace> tablespaces, int serverMajor) {
        DataDirectoryScan s = new DataDirectoryScan();
        if (!Files.isDirectory(dataDir)) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "data directory " + dataDir + " does not exist or is not a directory");
        }
        if (!Files.isRegularFile(dataDir.resolve("PG_VERSION")) || !Files.isRegularFile(dataDir.resolve("global/pg_control"))) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, dataDir + " is not a PostgreSQL data directory (no PG_VERSION or global/pg_control)");
        }
        try {
            s.walk(dataDir, "", false);
            Set<Long> oids = new HashSet<>();
            for (BackupManifest.Tablespace t : tablespaces) {
                oids.add(t.oid());
                s.tablespace(dataDir, t, serverMajor);
            }
            // A link in pg_tblspc the server does not know of is not ours to copy.
            try (DirectoryStream<Path> links = Files.newDirectoryStream(dataDir.resolve("pg_tblspc"))) {
                for (Path l : links) {
                    String n = l.getFileName().toString();
                    if (!n.matches("\\d+") || !oids.contains(Long.parseLong(n))) {
                        s.skipped.add("pg_tblspc/" + n + ": not a tablespace of this server");
                    }
                }
            } catch (NoSuchFileException e) {
                // no pg_tblspc: nothing to report
            }
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read the data directory " + dataDir + ": " + e.getMessage(), e);
        }
        return new Result(List.copyOf(s.files), List.copyOf(s.directories), List.copyOf(s.skipped));
    }

    private void tablespace(Path dataDir, BackupManifest.Tablespace t, int serverMajor) throws IOException {
        String rel = "pg_tblspc/" + t.oid();
        Path link = dataDir.resolve(rel);
        if (!Files.isDirectory(link)) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "tablespace " + t.oid() + " (" + t.location() + ") is not reachable as " + link);
        }
        directories.add(rel);
        try (DirectoryStream<Path> versions = Files.newDirectoryStream(link, "PG_" + serverMajor + "_*")) {
            for (Path v : versions) {
                walk(v, rel + "/" + v.getFileName(), true);
            }
        }
    }

    private void walk(Path dir, String rel, boolean inTablespace) throws IOException {
        if (!rel.isEmpty()) {
            directories.add(rel);
        }
        List<Path> entries = new ArrayList<>();
        Set<String> names = new HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                entries.add(p);
                names.add(p.getFileName().toString());
            }
        } catch (NoSuchFileException e) {
            return; // dropped meanwhile (a database)
        }
        entries.sort(null);
        boolean relationDir = inTablespace || rel.startsWith("base/") || rel.equals("global");
        for (Path p : entries) {
            String name = p.getFileName().toString();
            String childRel = rel.isEmpty() ? name : rel + "/" + name;
            PosixFileAttributes a;
            try {
                a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                continue;
            }
            if (name.startsWith("pgsql_tmp")) {
                continue;
            }
            if (a.isSymbolicLink()) {
                if (rel.isEmpty() && name.equals("pg_wal")) {
                    directories.add("pg_wal");
                    directories.add("pg_wal/archive_status");
                } else if (!rel.equals("pg_tblspc")) {
                    skipped.add(childRel + ": a symbolic link (not copied)");
                }
                continue;
            }
            if (a.isDirectory()) {
                if (rel.isEmpty() && EXCLUDE_CONTENTS.contains(name)) {
                    directories.add(name);
                    if (name.equals("pg_wal")) {
                        directories.add("pg_wal/archive_status");
                    }
                } else if (rel.isEmpty() && name.equals("pg_tblspc")) {
                    directories.add(name); // links: see tablespace()
                } else {
                    walk(p, childRel, inTablespace);
                }
                continue;
            }
            if (!a.isRegularFile()) {
                skipped.add(childRel + ": not a regular file");
                continue;
            }
            if (EXCLUDE_FILES.contains(name) && (rel.isEmpty() || name.equals("pg_internal.init"))) {
                continue;
            }
            if (relationDir && TEMP_RELATION.matcher(name).matches()) {
                continue;
            }
            if (relationDir && unloggedNonInitFork(name, names)) {
                continue;
            }
            files.add(new SourceFile(childRel, p, a.size(), a.lastModifiedTime().toInstant(), mode(a.permissions())));
        }
    }

    /** A fork of an unlogged relation (one with an {@code _init} fork) other than the init fork itself. */
    private static boolean unloggedNonInitFork(String name, Set<String> siblings) {
        var m = RELATION_FORK.matcher(name);
        if (!m.matches() || "_init".equals(m.group(2))) {
            return false;
        }
        return siblings.contains(m.group(1) + "_init");
    }

    static int mode(Set<PosixFilePermission> perms) {
        int m = 0;
        for (PosixFilePermission p : perms) {
            m |= switch (p) {
                case OWNER_READ -> 0400;
                case OWNER_WRITE -> 0200;
                case OWNER_EXECUTE -> 0100;
                case GROUP_READ -> 040;
                case GROUP_WRITE -> 020;
                case GROUP_EXECUTE -> 010;
                case OTHERS_READ -> 04;
                case OTHERS_WRITE -> 02;
                case OTHERS_EXECUTE -> 01;
            };
        }
        return m;
    }
}
