package dev.holdfast.agent.postgres;

import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.agent.postgres.replication.ReplicationClient;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A blocking SQL session on an ordinary (non-replication) connection of the agent's own protocol
 * client (SCRAM-SHA-256, md5, trust, {@code .pgpass}, Unix sockets): the catalog queries and
 * commands of base backups and logical dumps. Call from a worker or the CLI's thread, never an
 * event loop.
 */
public final class PgSql implements AutoCloseable {
    /** How long a statement may take by default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

    private final ReplicationClient client;
    private final Duration timeout;

    private PgSql(ReplicationClient client, Duration timeout) {
        this.client = client;
        this.timeout = timeout;
    }

    /** Connects as {@code applicationName}; each statement may take {@code timeout}. */
    public static PgSql connect(Vertx vertx, ConnInfo info, String applicationName, Duration timeout) {
        return new PgSql(await(ReplicationClient.connect(vertx, info.withApplicationName(applicationName), false), DEFAULT_TIMEOUT), timeout);
    }

    /** Rows of text columns (SQL NULL as null). */
    public List<List<String>> query(String sql) {
        return await(client.simpleQuery(sql), timeout);
    }

    /** The one row of a query that returns exactly one. */
    public List<String> row(String sql) {
        List<List<String>> rows = query(sql);
        if (rows.size() != 1) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "expected one row from the server, got " + rows.size());
        }
        return rows.get(0);
    }

    /** The single value of a query that returns one row of one column. */
    public String value(String sql) {
        List<List<String>> rows = query(sql);
        if (rows.size() != 1 || rows.get(0).size() != 1) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "expected one value from the server, got " + rows.size() + " rows");
        }
        return rows.get(0).get(0);
    }

    /** A string literal that means {@code s} whatever {@code standard_conforming_strings} is. */
    public static String literal(String s) {
        return "E'" + s.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /** A quoted identifier. */
    public static String identifier(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    @Override
    public void close() {
        try {
            await(client.close(), DEFAULT_TIMEOUT);
        } catch (HoldfastException e) {
            // closing a connection that failed: nothing left to release
        }
    }

    /** Waits for {@code f} on this thread, at most {@code timeout}; failures as HoldfastException. */
    public static <T> T await(Future<T> f, Duration timeout) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e.getCause());
            throw h != null ? h : new HoldfastException(ErrorCode.SOURCE_ERROR, "PostgreSQL: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "PostgreSQL did not answer within " + timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted while waiting for PostgreSQL", e);
        }
    }
}
