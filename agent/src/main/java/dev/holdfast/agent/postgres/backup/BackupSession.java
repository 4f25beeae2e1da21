package dev.holdfast.agent.postgres.backup;

import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.agent.postgres.replication.ReplicationClient;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.wal.Lsn;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one ordinary SQL session a base backup holds from {@code pg_backup_start} to
 * {@code pg_backup_stop} (PostgreSQL's non-exclusive backup: should the session end early, the
 * server aborts the backup itself). Runs on the agent's own protocol client (SCRAM-SHA-256, md5,
 * trust, {@code .pgpass}, Unix sockets), the same one the WAL stream uses.
 *
 * <p>Blocking: each call waits for the server's answer on the calling thread.
 */
final class BackupSession implements AutoCloseable {
    private static final Duration QUERY_TIMEOUT = Duration.ofHours(6);
    private static final Pattern START_TIMELINE = Pattern.compile("^START TIMELINE: (\\d+)$", Pattern.MULTILINE);
    private static final Pattern START_WAL = Pattern.compile("^START WAL LOCATION: ([0-9A-Fa-f]+/[0-9A-Fa-f]+) ", Pattern.MULTILINE);

    private final ReplicationClient client;

    /** What the backup records about the server. */
    record ServerInfo(int versionNum, String systemId, long walSegmentSize, boolean inRecovery, Optional<String> dataDirectory) {
    }

    /** {@code pg_backup_stop}'s answer, with the timeline and start read back from the label. */
    record Stopped(Lsn stopLsn, String backupLabel, Optional<String> tablespaceMap, int timeline, Lsn labelStart) {
    }

    private BackupSession(ReplicationClient client) {
        this.client = client;
    }

    static BackupSession open(Vertx vertx, String conninfo) {
        return new BackupSession(await(ReplicationClient.connect(vertx, ConnInfo.parse(conninfo), false)));
    }

    ServerInfo serverInfo() {
        List<String> row = one("SELECT current_setting('server_version_num'), (SELECT system_identifier FROM pg_control_system()),"
                + " (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), pg_is_in_recovery()");
        Optional<String> dataDir;
        try {
            dataDir = Optional.ofNullable(one("SELECT current_setting('data_directory')").get(0));
        } catch (HoldfastException e) {
            dataDir = Optional.empty(); // needs pg_read_all_settings; the check is a courtesy
        }
        return new ServerInfo(Integer.parseInt(row.get(0)), row.get(1), Long.parseLong(row.get(2)), "t".equals(row.get(3)), dataDir);
    }

    List<BackupManifest.Tablespace> tablespaces() {
        List<BackupManifest.Tablespace> out = new ArrayList<>();
        for (List<String> r : await(client.simpleQuery(
                "SELECT oid, pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid"))) {
            out.add(new BackupManifest.Tablespace(Long.parseLong(r.get(0)), r.get(1)));
        }
        return out;
    }

    /** {@code pg_backup_start}: the start LSN. {@code label} is ours (no quote in it). */
    Lsn start(String label, boolean fast) {
        if (label.indexOf('\'') >= 0 || label.indexOf('\\') >= 0) {
            throw new IllegalArgumentException("label");
        }
        return Lsn.parse(one("SELECT pg_backup_start(label => '" + label + "', fast => " + fast + ")").get(0));
    }

    /**
     * {@code pg_backup_stop} without waiting for archiving: the backup waits for its WAL in the
     * repository instead, the same way in stream and archive mode.
     */
    Stopped stop() {
        List<String> r = one("SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(wait_for_archive => false)");
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

    private List<String> one(String sql) {
        List<List<String>> rows = await(client.simpleQuery(sql));
        if (rows.size() != 1) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "expected one row from the server, got " + rows.size());
        }
        return rows.get(0);
    }

    @Override
    public void close() {
        try {
            await(client.close());
        } catch (HoldfastException e) {
            // closing: nothing to keep
        }
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(QUERY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e);
            throw h != null ? h : new HoldfastException(ErrorCode.SOURCE_ERROR, String.valueOf(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        } catch (TimeoutException e) {
            throw new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "the server did not answer within " + QUERY_TIMEOUT, e);
        }
    }
}
