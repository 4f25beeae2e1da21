package dev.holdfast.agent.postgres.backup;

import dev.holdfast.agent.postgres.PgSql;
import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.wal.Lsn;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one ordinary SQL session a base backup holds from {@code pg_backup_start} to
 * {@code pg_backup_stop} (PostgreSQL's non-exclusive backup: should the session end early, the
 * server aborts the backup itself), through {@link PgSql}.
 *
 * <p>Blocking: each call waits for the server's answer on the calling thread.
 */
final class BackupSession implements AutoCloseable {
    /** A spread checkpoint or a busy server may take long to start or stop a backup. */
    private static final Duration QUERY_TIMEOUT = Duration.ofHours(6);
    private static final Pattern START_TIMELINE = Pattern.compile("^START TIMELINE: (\\d+)$", Pattern.MULTILINE);
    private static final Pattern START_WAL = Pattern.compile("^START WAL LOCATION: ([0-9A-Fa-f]+/[0-9A-Fa-f]+) ", Pattern.MULTILINE);

    private final PgSql sql;

    /** What the backup records about the server. */
    record ServerInfo(int versionNum, String systemId, long walSegmentSize, boolean inRecovery, Optional<String> dataDirectory) {
    }

    /** {@code pg_backup_stop}'s answer, with the timeline and start read back from the label. */
    record Stopped(Lsn stopLsn, String backupLabel, Optional<String> tablespaceMap, int timeline, Lsn labelStart) {
    }

    private BackupSession(PgSql sql) {
        this.sql = sql;
    }

    static BackupSession open(Vertx vertx, String conninfo) {
        return new BackupSession(PgSql.connect(vertx, ConnInfo.parse(conninfo), "holdfast_backup", QUERY_TIMEOUT));
    }

    ServerInfo serverInfo() {
        List<String> row = sql.row("SELECT current_setting('server_version_num'), (SELECT system_identifier FROM pg_control_system()),"
                + " (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), pg_is_in_recovery()");
        Optional<String> dataDir;
        try {
            dataDir = Optional.ofNullable(sql.value("SELECT current_setting('data_directory')"));
        } catch (HoldfastException e) {
            dataDir = Optional.empty(); // needs pg_read_all_settings; the check is a courtesy
        }
        return new ServerInfo(Integer.parseInt(row.get(0)), row.get(1), Long.parseLong(row.get(2)), "t".equals(row.get(3)), dataDir);
    }

    List<BackupManifest.Tablespace> tablespaces() {
        List<BackupManifest.Tablespace> out = new ArrayList<>();
        for (List<String> r : sql.query(
                "SELECT oid, pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid")) {
            out.add(new BackupManifest.Tablespace(Long.parseLong(r.get(0)), r.get(1)));
        }
        return out;
    }

    /** {@code pg_backup_start}: the start LSN. */
    Lsn start(String label, boolean fast) {
        return Lsn.parse(sql.value("SELECT pg_backup_start(label => " + PgSql.literal(label) + ", fast => " + fast + ")"));
    }

    /**
     * {@code pg_backup_stop} without waiting for archiving: the backup waits for its WAL in the
     * repository instead, the same way in stream and archive mode.
     */
    Stopped stop() {
        List<String> r = sql.row("SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(wait_for_archive => false)");
        String label = r.get(1);
        Matcher tli = START_TIMELINE.matcher(label);
        Matcher start = START_WAL.matcher(label);
        if (!tli.find() || !start.find()) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "pg_backup_stop returned a backup_label without START TIMELINE or START WAL LOCATION");
        }
        String map = r.get(2);
        return new Stopped(Lsn.parse(r.get(0)), label, map == null || map.isEmpty() ? Optional.empty() : Optional.of(map),
                Integer.parseInt(tli.group(1)), Lsn.parse(start.group(1)));
    }

    @Override
    public void close() {
        sql.close();
    }
}
