package dev.holdfast.agent.postgres.logical;

import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.agent.postgres.replication.ReplicationClient;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A blocking SQL session on an ordinary (non-replication) connection, for the few catalog queries
 * and commands logical dumps need. Call from a worker or the CLI's thread, never an event loop.
 */
final class PgSql implements AutoCloseable {
    private static final long TIMEOUT_SECONDS = 300;

    private final ReplicationClient client;

    private PgSql(ReplicationClient client) {
        this.client = client;
    }

    static PgSql connect(Vertx vertx, ConnInfo info) {
        return new PgSql(await(ReplicationClient.connect(vertx, info.withApplicationName(PgProgram.APPLICATION_NAME), false)));
    }

    /** Rows of text columns (SQL NULL as null). */
    List<List<String>> query(String sql) {
        return await(client.simpleQuery(sql));
    }

    /** The single value of a query that returns one row of one column. */
    String value(String sql) {
        List<List<String>> rows = query(sql);
        if (rows.size() != 1 || rows.get(0).size() != 1) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "expected one value from the server, got " + rows.size() + " rows");
        }
        return rows.get(0).get(0);
    }

    /** A string literal that means {@code s} whatever {@code standard_conforming_strings} is. */
    static String literal(String s) {
        return "E'" + s.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /** A quoted identifier. */
    static String identifier(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    @Override
    public void close() {
        try {
            await(client.close());
        } catch (HoldfastException e) {
            // closing a connection that failed: nothing left to release
        }
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e.getCause());
            throw h != null ? h : new HoldfastException(ErrorCode.SOURCE_ERROR, "PostgreSQL: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "PostgreSQL did not answer within " + TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted while waiting for PostgreSQL", e);
        }
    }
}
