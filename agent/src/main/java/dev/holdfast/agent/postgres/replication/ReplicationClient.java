package dev.holdfast.agent.postgres.replication;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to PostgreSQL speaking the frontend/backend protocol v3 directly: simple queries,
 * the replication commands of a physical replication connection, and the CopyBoth stream of
 * {@code START_REPLICATION}.
 *
 * <pre>
 *  connect ──> StartupMessage ──> Authentication* ──> ParameterStatus*, BackendKeyData ──> ReadyForQuery  (idle)
 *  idle ──> Query ──> RowDescription, DataRow*, CommandComplete | ErrorResponse ──> ReadyForQuery      (idle)
 *  idle ──> START_REPLICATION ──> CopyBothResponse ──> CopyData('w' | 'k')* from the server,
 *                                                      CopyData('r') from us (sendStatusUpdate)
 *         ├─ server: CopyDone (end of timeline) ──> us: CopyDone ──> next_tli row, CommandComplete ─┐
 *         └─ us: CopyDone (stopReplication)     ──> server: CopyDone, CommandComplete ─────────────┴─> ReadyForQuery (idle)
 * </pre>
 *
 * <h2>Threads</h2>
 * Everything runs on one event-loop context, the one current when {@link #connect} was called (a
 * new one when called from a non-Vert.x thread); listener callbacks run there. Every method may be
 * called from any thread. Nothing blocks the event loop: the password file is read and the
 * SCRAM key derivation computed on a worker.
 *
 * <h2>Ordering</h2>
 * Commands run one at a time in call order; a command issued while a stream runs waits until the
 * stream ends. A connection that lost its server fails every pending and later command with
 * {@link ErrorCode#SOURCE_UNAVAILABLE}.
 *
 * <h2>Errors</h2>
 * {@link ErrorCode#SOURCE_UNAVAILABLE}: connection refused, closed or timed out (and
 * {@code 57P03}, the server starting or stopping); {@link ErrorCode#SOURCE_AUTH_FAILED}: SQLSTATE
 * {@code 28P01}/{@code 28000}, an unsupported authentication method, no password available, or a
 * SCRAM server signature that does not verify (fails closed); {@link ErrorCode#SOURCE_ERROR}: any
 * other ErrorResponse, with its message and SQLSTATE; {@link ErrorCode#WAL_GAP}: the WAL asked for
 * was removed ({@code 58P01}). No message, log line or {@code toString} contains the password, and
 * errors of {@link #simpleQuery} do not quote the SQL (it may hold secrets).
 */
public final class ReplicationClient {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicationClient.class);
    private static final Pattern SLOT_NAME = Pattern.compile("[a-z0-9_]{1,63}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Vertx vertx;
    private final Context context;
    private final ConnInfo info;
    private final boolean replication;
    private final Clock clock;
    private final NetClient netClient;
    private final MessageFramer framer;
    private final Map<String, String> parameters = new ConcurrentHashMap<>();
    private final ArrayDeque<Op> queue = new ArrayDeque<>();
    private NetSocket socket;
    private Op current;
    private HoldfastException lost;
    private ServerError idleError;
    private Promise<Void> closing;
    private int backendPid;

    private ReplicationClient(Vertx vertx, Context context, ConnInfo info, boolean replication, Clock clock) {
        this.vertx = vertx;
        this.context = context;
        this.info = info;
        this.replication = replication;
        this.clock = clock;
        long timeoutMs = info.connectTimeout().toMillis();
        this.netClient = vertx.createNetClient(new NetClientOptions()
                .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs))
                .setTcpNoDelay(true)
                .setTcpKeepAlive(true));
        this.framer = new MessageFramer(this::dispatch);
    }

    /** {@link #connect(Vertx, ConnInfo, boolean, Clock)} with the system UTC clock. */
    public static Future<ReplicationClient> connect(Vertx vertx, ConnInfo info, boolean replication) {
        return connect(vertx, info, replication, Clock.systemUTC());
    }

    /**
     * Connects and authenticates. The future completes at the server's first ReadyForQuery, within
     * {@link ConnInfo#connectTimeout()} (else {@link ErrorCode#SOURCE_UNAVAILABLE}).
     *
     * @param replication true for a physical replication connection ({@code replication=true} in
     *        the startup packet: replication commands and simple SQL without a database); false for
     *        an ordinary connection to {@link ConnInfo#dbname()}
     * @param clock the clock of standby status updates
     */
    public static Future<ReplicationClient> connect(Vertx vertx, ConnInfo info, boolean replication, Clock clock) {
        Context ctx = vertx.getOrCreateContext();
        Future<ConnInfo> resolved = info.password() != null
                ? Future.succeededFuture(info)
                : ctx.executeBlocking(() -> PgPass.lookup(info, replication).map(info::withPassword).orElse(info), false);
        Promise<ReplicationClient> result = Promise.promise();
        resolved.onComplete(ar -> ctx.runOnContext(v -> {
            if (ar.failed()) {
                result.fail(ar.cause());
                return;
            }
            ReplicationClient client = new ReplicationClient(vertx, ctx, ar.result(), replication, clock);
            client.open().onComplete(result);
        }));
        return result.future();
    }

    private Future<ReplicationClient> open() {
        StartupOp startup = new StartupOp();
        long timeoutMs = info.connectTimeout().toMillis();
        long timer = timeoutMs > 0 ? vertx.setTimer(timeoutMs, id -> {
            HoldfastException timeout = new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "timed out after "
                    + info.connectTimeout().toSeconds() + " s connecting to PostgreSQL at " + info.endpoint() + " (connect_timeout)");
            if (startup.promise.tryFail(timeout)) {
                failConnection(timeout);
            }
        }) : -1;
        SocketAddress address = info.isUnixSocket()
                ? SocketAddress.domainSocketAddress(info.socketPath())
                : SocketAddress.inetSocketAddress(info.port(), info.hostaddr() != null ? info.hostaddr() : info.host());
        LOG.debug("connecting to {} ({})", info.endpoint(), info);
        netClient.connect(address).onComplete(ar -> {
            if (ar.failed()) {
                Throwable c = ar.cause();
                String why = c instanceof ConnectException || c.getMessage() == null ? String.valueOf(c) : c.getMessage();
                startup.promise.tryFail(new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE,
                        "cannot connect to PostgreSQL at " + info.endpoint() + ": " + why, c));
                netClient.close();
                return;
            }
            if (startup.promise.future().isComplete()) { // timed out meanwhile
                ar.result().close();
                return;
            }
            socket = ar.result();
            socket.handler(this::onBytes);
            socket.exceptionHandler(e -> LOG.debug("connection to {}: {}", info.endpoint(), e.toString()));
            socket.closeHandler(v -> onClosed());
            current = startup;
            startup.start();
        });
        return startup.promise.future().<ReplicationClient>map(v -> this).onComplete(ar -> {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
            }
            if (ar.failed()) {
                if (socket != null) {
                    socket.close();
                }
                netClient.close();
            }
        });
    }

    // ---------------------------------------------------------------- commands

    /**
     * Runs SQL with the simple query protocol; returns the rows of every result set in order, each
     * a list of text columns (SQL NULL as null). Errors: {@link ErrorCode#SOURCE_ERROR} with the
     * server's message and SQLSTATE (the SQL itself is not quoted).
     */
    public Future<List<List<String>>> simpleQuery(String sql) {
        return query(sql, "query").map(ReplicationClient::text);
    }

    /** {@code IDENTIFY_SYSTEM} (replication connections only). */
    public Future<SystemIdentity> identifySystem() {
        return query("IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM").map(rows -> {
            List<String> r = single(rows, "IDENTIFY_SYSTEM", 4);
            return new SystemIdentity(r.get(0), Integer.parseInt(r.get(1)), Lsn.parse(r.get(2)), r.get(3));
        });
    }

    /** {@code SHOW wal_segment_size}, in bytes (the server prints {@code 16MB}, {@code 1GB}, ...). */
    public Future<Long> walSegmentSize() {
        return query("SHOW wal_segment_size", "SHOW wal_segment_size")
                .map(rows -> parseSize(single(rows, "SHOW wal_segment_size", 1).get(0)));
    }

    /** {@code SHOW server_version_num}, e.g. 150010. */
    public Future<Integer> serverVersionNum() {
        return query("SHOW server_version_num", "SHOW server_version_num")
                .map(rows -> Integer.parseInt(single(rows, "SHOW server_version_num", 1).get(0)));
    }

    /**
     * {@code READ_REPLICATION_SLOT} (PostgreSQL 15+): the slot, or empty when it does not exist.
     * A slot name outside {@code [a-z0-9_]{1,63}} fails with {@link ErrorCode#CONFIG_INVALID}.
     */
    public Future<Optional<SlotInfo>> readReplicationSlot(String slot) {
        return checkSlot(slot).compose(name -> query("READ_REPLICATION_SLOT " + name, "READ_REPLICATION_SLOT " + name)).map(rows -> {
            List<String> r = single(rows, "READ_REPLICATION_SLOT", 3);
            if (r.get(0) == null) {
                return Optional.empty();
            }
            Lsn restart = r.get(1) == null ? Lsn.INVALID : Lsn.parse(r.get(1));
            int tli = r.get(2) == null ? 0 : Integer.parseInt(r.get(2));
            return Optional.of(new SlotInfo(r.get(0), restart, tli));
        });
    }

    /**
     * {@code CREATE_REPLICATION_SLOT "slot" PHYSICAL RESERVE_WAL}: a physical slot that keeps WAL
     * from now on. An existing slot fails with {@link ErrorCode#OBJECT_EXISTS}; a name outside
     * {@code [a-z0-9_]{1,63}} with {@link ErrorCode#CONFIG_INVALID}.
     */
    public Future<Void> createPhysicalSlot(String slot) {
        return checkSlot(slot).compose(name -> {
            QueryOp op = new QueryOp("CREATE_REPLICATION_SLOT " + name + " PHYSICAL RESERVE_WAL", "CREATE_REPLICATION_SLOT " + name);
            op.errorCode = e -> ServerError.DUPLICATE_OBJECT.equals(e.sqlState()) ? ErrorCode.OBJECT_EXISTS : ErrorCode.SOURCE_ERROR;
            return enqueue(op).mapEmpty();
        });
    }

    /** {@code TIMELINE_HISTORY n}: the history file of timeline {@code n} (n ≥ 2). */
    public Future<TimelineHistory> timelineHistory(int timeline) {
        return query("TIMELINE_HISTORY " + timeline, "TIMELINE_HISTORY " + timeline).map(rows -> {
            if (rows.size() != 1 || rows.get(0).size() != 2 || rows.get(0).get(0) == null || rows.get(0).get(1) == null) {
                throw new HoldfastException(ErrorCode.SOURCE_ERROR, "TIMELINE_HISTORY: unexpected result shape");
            }
            return new TimelineHistory(rows.get(0).get(0).toString(StandardCharsets.UTF_8), rows.get(0).get(1).getBytes());
        });
    }

    /**
     * {@code START_REPLICATION [SLOT "slot"] PHYSICAL start [TIMELINE timeline]}: streams WAL to
     * {@code listener} until the stream ends. {@code slot} may be null (no slot); a
     * {@code timeline} of 0 or less omits the clause (the server's current timeline).
     *
     * <p>The future completes with {@code StreamEnd(true, next, switchPoint)} when the server ends
     * the timeline (this connection then answered its CopyDone), with
     * {@code StreamEnd(false, 0, INVALID)} after {@link #stopReplication()}; it fails with
     * {@link ErrorCode#WAL_GAP} when the WAL at {@code start} was removed, {@link ErrorCode#SOURCE_ERROR}
     * for any other server error, {@link ErrorCode#SOURCE_UNAVAILABLE} when the connection is lost,
     * and with the listener's exception if it threw (the connection is then closed);
     * {@link #close()} during the stream fails it with {@link ErrorCode#SOURCE_UNAVAILABLE}. After a
     * normal end or a server error the connection is idle and may run further commands.
     */
    public Future<StreamEnd> startReplication(String slot, Lsn start, int timeline, WalListener listener) {
        Future<String> slotClause = slot == null ? Future.succeededFuture("") : checkSlot(slot).map(n -> "SLOT " + n + " ");
        return slotClause.compose(clause -> {
            String sql = "START_REPLICATION " + clause + "PHYSICAL " + start + (timeline > 0 ? " TIMELINE " + timeline : "");
            StreamOp op = new StreamOp(sql, listener);
            return enqueue(op);
        });
    }

    /**
     * Sends a standby status update ('r'): WAL positions written, flushed (durable: the server may
     * recycle WAL before it, and a slot's {@code restart_lsn} moves to it) and applied, with this
     * client's clock in microseconds since 2000-01-01. Ignored unless a stream is running.
     */
    public void sendStatusUpdate(Lsn written, Lsn flushed, Lsn applied, boolean replyRequested) {
        onContext(() -> {
            if (current instanceof StreamOp s && s.state == StreamState.STREAMING && socket != null) {
                long now = PgMessages.toPgMicros(clock.instant());
                socket.write(PgMessages.standbyStatusUpdate(written.value(), flushed.value(), applied.value(), now, replyRequested));
            } else {
                LOG.debug("status update ignored: no stream running");
            }
        });
    }

    /**
     * Ends the running stream: sends CopyDone; the {@code startReplication} future then completes
     * with {@code StreamEnd(false, ...)} once the server confirms. Completes when CopyDone was
     * written; a no-op when no stream runs.
     */
    public Future<Void> stopReplication() {
        Promise<Void> p = Promise.promise();
        onContext(() -> {
            if (current instanceof StreamOp s) {
                s.stop(p);
            } else {
                p.complete();
            }
        });
        return p.future();
    }

    /** Stops reading from the server (back-pressure); messages already received wait too. */
    public void pause() {
        onContext(() -> {
            framer.pause();
            if (socket != null) {
                socket.pause();
            }
        });
    }

    /** Reads from the server again after {@link #pause()}. */
    public void resume() {
        onContext(() -> {
            if (socket != null) {
                socket.resume();
            }
            try {
                framer.resume();
            } catch (RuntimeException e) {
                failConnection(e);
            }
        });
    }

    /** Sends Terminate and closes the connection; pending commands fail. Idempotent. */
    public Future<Void> close() {
        Promise<Void> p = Promise.promise();
        onContext(() -> {
            if (closing == null) {
                closing = Promise.promise();
                failPending(new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "connection to " + info.endpoint() + " closed by the client"));
                if (socket != null) {
                    NetSocket s = socket;
                    s.write(PgMessages.terminate()).eventually(() -> s.close()).onComplete(ar -> closing.complete());
                } else {
                    closing.complete();
                }
                closing.future().onComplete(ar -> netClient.close());
            }
            closing.future().onComplete(p);
        });
        return p.future();
    }

    /** The server's ParameterStatus values ({@code server_version}, {@code integer_datetimes}, ...): a live read-only view. */
    public Map<String, String> parameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /** The server process id (BackendKeyData), for logs. */
    public int backendPid() {
        return backendPid;
    }

    public ConnInfo connInfo() {
        return info;
    }

    @Override
    public String toString() {
        return "ReplicationClient[" + info.endpoint() + ", user " + info.user() + (replication ? ", replication" : "")
                + ", pid " + backendPid + "]";
    }

    // ---------------------------------------------------------------- plumbing

    private Future<List<List<Buffer>>> query(String sql, String what) {
        return enqueue(new QueryOp(sql, what));
    }

    private static Future<String> checkSlot(String slot) {
        if (slot == null || !SLOT_NAME.matcher(slot).matches()) {
            return Future.failedFuture(new HoldfastException(ErrorCode.CONFIG_INVALID,
                    "invalid replication slot name '" + slot + "': use 1-63 of [a-z0-9_]"));
        }
        return Future.succeededFuture('"' + slot + '"'); // quoting keeps it a single identifier even if a keyword
    }

    private <T> Future<T> enqueue(Op<T> op) {
        onContext(() -> {
            if (closing != null || lost != null) {
                op.promise.tryFail(lost != null ? lost
                        : new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "connection to " + info.endpoint() + " is closed"));
                return;
            }
            queue.add(op);
            pump();
        });
        return op.promise.future();
    }

    private void pump() {
        if (current == null && !queue.isEmpty() && socket != null) {
            current = queue.poll();
            current.start();
        }
    }

    private void onContext(Runnable r) {
        if (Vertx.currentContext() == context) {
            r.run();
        } else {
            context.runOnContext(v -> r.run());
        }
    }

    private void onBytes(Buffer chunk) {
        try {
            framer.handle(chunk);
        } catch (RuntimeException e) {
            failConnection(e);
        }
    }

    private void dispatch(byte type, Buffer body) {
        if (lost != null || closing != null) {
            return; // failed or closing: what the server still sends has no one to go to
        }
        switch (type) {
            case 'S' -> {
                String name = cstring(body, 0);
                String value = cstring(body, name.getBytes(StandardCharsets.UTF_8).length + 1);
                parameters.put(name, value);
            }
            case 'N' -> {
                ServerError notice = ServerError.parse(body);
                LOG.debug("PostgreSQL {} at {}: {}", notice.severity(), info.endpoint(), notice.describe());
            }
            case 'A' -> LOG.debug("ignored asynchronous notification from {}", info.endpoint());
            default -> {
                if (current != null) {
                    current.onMessage(type, body);
                } else if (type == 'E') {
                    idleError = ServerError.parse(body); // e.g. FATAL before the server closes an idle connection
                    LOG.debug("PostgreSQL error on an idle connection to {}: {}", info.endpoint(), idleError.describe());
                } else {
                    throw protocolError("unexpected message '" + (char) type + "' on an idle connection");
                }
            }
        }
    }

    /** The current op finished (after its ReadyForQuery); run the next. */
    private void finished(Op<?> op) {
        if (current == op) {
            current = null;
            pump();
        }
    }

    private void onClosed() {
        if (lost == null) {
            String why = idleError != null ? ": " + idleError.describe() : "";
            lost = new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "connection to PostgreSQL at " + info.endpoint() + " was closed" + why);
        }
        socket = null;
        failPending(lost);
        netClient.close();
    }

    /** A protocol or listener failure: fail everything, close the socket. */
    private void failConnection(Throwable cause) {
        HoldfastException h = HoldfastException.find(cause);
        if (lost == null) {
            lost = h != null ? h : new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE,
                    "connection to PostgreSQL at " + info.endpoint() + " failed: " + cause, cause);
        }
        Op<?> op = current;
        if (op != null) {
            op.promise.tryFail(cause instanceof HoldfastException || h == null ? cause : h);
        }
        failPending(lost);
        if (socket != null) {
            socket.close();
        }
    }

    private void failPending(HoldfastException e) {
        if (current != null) {
            current.promise.tryFail(e);
            current = null;
        }
        while (!queue.isEmpty()) {
            queue.poll().promise.tryFail(e);
        }
    }

    private HoldfastException protocolError(String what) {
        return new HoldfastException(ErrorCode.SOURCE_ERROR, "protocol error from PostgreSQL at " + info.endpoint() + ": " + what);
    }

    private static String cstring(Buffer b, int from) {
        int end = from;
        while (end < b.length() && b.getByte(end) != 0) {
            end++;
        }
        return b.getString(from, end, StandardCharsets.UTF_8.name());
    }

    private static List<Buffer> dataRow(Buffer body) {
        int n = body.getUnsignedShort(0);
        List<Buffer> row = new ArrayList<>(n);
        int pos = 2;
        for (int i = 0; i < n; i++) {
            int len = body.getInt(pos);
            pos += 4;
            if (len < 0) {
                row.add(null);
            } else {
                row.add(body.slice(pos, pos + len));
                pos += len;
            }
        }
        return row;
    }

    private static List<List<String>> text(List<List<Buffer>> rows) {
        List<List<String>> out = new ArrayList<>(rows.size());
        for (List<Buffer> row : rows) {
            List<String> r = new ArrayList<>(row.size());
            for (Buffer b : row) {
                r.add(b == null ? null : b.toString(StandardCharsets.UTF_8));
            }
            out.add(Collections.unmodifiableList(r));
        }
        return Collections.unmodifiableList(out);
    }

    private static List<String> single(List<List<Buffer>> rows, String what, int columns) {
        if (rows.size() != 1 || rows.get(0).size() != columns) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, what + ": expected one row of " + columns + " columns, got "
                    + rows.size() + " rows");
        }
        return text(rows).get(0);
    }

    /** PostgreSQL's memory units ({@code 16MB}, {@code 1GB}, {@code 8kB}, a bare number of bytes) in bytes. */
    static long parseSize(String text) {
        String t = text.strip();
        int i = 0;
        while (i < t.length() && Character.isDigit(t.charAt(i))) {
            i++;
        }
        if (i == 0) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "unexpected size '" + text + "'");
        }
        long n = Long.parseLong(t.substring(0, i));
        String unit = t.substring(i).strip();
        long mult = switch (unit) {
            case "", "B" -> 1L;
            case "kB" -> 1L << 10;
            case "MB" -> 1L << 20;
            case "GB" -> 1L << 30;
            case "TB" -> 1L << 40;
            default -> throw new HoldfastException(ErrorCode.SOURCE_ERROR, "unexpected size unit in '" + text + "'");
        };
        return n * mult;
    }

    static String md5Password(String user, String password, byte[] salt) {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            String inner = HexFormat.of().formatHex(md.digest((password + user).getBytes(StandardCharsets.UTF_8)));
            md.update(inner.getBytes(StandardCharsets.US_ASCII));
            md.update(salt);
            return "md5" + HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new HoldfastException(ErrorCode.INTERNAL, "MD5 unavailable", e);
        }
    }

    // ---------------------------------------------------------------- operations

    /** One exchange with the server, from its first message sent to its ReadyForQuery. */
    private abstract static class Op<T> {
        final Promise<T> promise = Promise.promise();

        abstract void start();

        abstract void onMessage(byte type, Buffer body);
    }

    private final class StartupOp extends Op<Void> {
        private ScramSha256 scram;

        @Override
        void start() {
            Map<String, String> params = new LinkedHashMap<>();
            params.put("user", info.user());
            if (replication) {
                params.put("replication", "true");
            } else {
                params.put("database", info.dbname());
            }
            if (info.applicationName() != null) {
                params.put("application_name", info.applicationName());
            }
            params.put("client_encoding", "UTF8");
            socket.write(PgMessages.startup(params));
        }

        @Override
        void onMessage(byte type, Buffer body) {
            switch (type) {
                case 'R' -> authenticate(body);
                case 'K' -> backendPid = body.getInt(0);
                case 'v' -> LOG.debug("server {} negotiated an older protocol minor version", info.endpoint());
                case 'E' -> failConnection(ServerError.parse(body).toException(
                        "connecting to PostgreSQL at " + info.endpoint() + " as " + info.user(), ErrorCode.SOURCE_ERROR));
                case 'Z' -> {
                    current = null;
                    promise.tryComplete();
                    pump();
                }
                default -> throw protocolError("unexpected message '" + (char) type + "' during startup");
            }
        }

        private void authenticate(Buffer body) {
            int code = body.getInt(0);
            switch (code) {
                case 0 -> {
                    if (scram != null && !scram.serverVerified()) {
                        throw authFailed("the server accepted SCRAM authentication without proving it knows the password");
                    }
                }
                case 3 -> socket.write(PgMessages.password(requirePassword()));
                case 5 -> socket.write(PgMessages.password(md5Password(info.user(), requirePassword(), body.getBytes(4, 8))));
                case 10 -> {
                    List<String> mechanisms = new ArrayList<>();
                    int pos = 4;
                    while (pos < body.length() && body.getByte(pos) != 0) {
                        String m = cstring(body, pos);
                        mechanisms.add(m);
                        pos += m.length() + 1;
                    }
                    if (!mechanisms.contains(ScramSha256.MECHANISM)) {
                        throw authFailed("the server offers only SASL mechanisms " + mechanisms + " (supported: SCRAM-SHA-256 without channel binding)");
                    }
                    scram = new ScramSha256("", requirePassword(), ScramSha256.newNonce(RANDOM));
                    socket.write(PgMessages.saslInitialResponse(ScramSha256.MECHANISM,
                            scram.clientFirstMessage().getBytes(StandardCharsets.UTF_8)));
                }
                case 11 -> {
                    if (scram == null) {
                        throw protocolError("SASLContinue without SASL");
                    }
                    String serverFirst = body.getString(4, body.length(), StandardCharsets.UTF_8.name());
                    ScramSha256 s = scram;
                    context.executeBlocking(() -> s.clientFinalMessage(serverFirst), false).onComplete(ar -> {
                        if (current != this || socket == null) {
                            return;
                        }
                        if (ar.failed()) {
                            failConnection(ar.cause());
                        } else {
                            socket.write(PgMessages.saslResponse(ar.result().getBytes(StandardCharsets.UTF_8)));
                        }
                    });
                }
                case 12 -> {
                    if (scram == null) {
                        throw protocolError("SASLFinal without SASL");
                    }
                    scram.verifyServerFinal(body.getString(4, body.length(), StandardCharsets.UTF_8.name()));
                }
                default -> throw authFailed("the server asks for " + authName(code)
                        + " authentication, which is not supported (use scram-sha-256, md5, password or trust)");
            }
        }

        private String requirePassword() {
            if (info.password() == null) {
                throw authFailed("the server requires a password for user " + info.user()
                        + " and none was given (password, passfile, $PGPASSFILE or ~/.pgpass)");
            }
            return info.password();
        }

        private HoldfastException authFailed(String what) {
            return new HoldfastException(ErrorCode.SOURCE_AUTH_FAILED, "connecting to PostgreSQL at " + info.endpoint() + " as "
                    + info.user() + ": " + what);
        }
    }

    private static String authName(int code) {
        return switch (code) {
            case 2 -> "Kerberos V5";
            case 6 -> "SCM credential";
            case 7, 8 -> "GSSAPI";
            case 9 -> "SSPI";
            default -> "an unknown (" + code + ")";
        };
    }

    private final class QueryOp extends Op<List<List<Buffer>>> {
        private final String sql;
        private final String what;
        private final List<List<Buffer>> rows = new ArrayList<>();
        private ServerError error;
        Function<ServerError, ErrorCode> errorCode = e -> ErrorCode.SOURCE_ERROR;

        QueryOp(String sql, String what) {
            this.sql = sql;
            this.what = what;
        }

        @Override
        void start() {
            socket.write(PgMessages.query(sql));
        }

        @Override
        void onMessage(byte type, Buffer body) {
            switch (type) {
                case 'T', 'C', 'I' -> { }
                case 'D' -> rows.add(dataRow(body));
                case 'E' -> {
                    if (error == null) {
                        error = ServerError.parse(body);
                    }
                }
                case 'Z' -> {
                    if (error != null) {
                        promise.tryFail(error.toException(what, errorCode.apply(error)));
                    } else {
                        promise.tryComplete(rows);
                    }
                    finished(this);
                }
                default -> throw protocolError("unexpected message '" + (char) type + "' in reply to a simple query ("
                        + what + "); COPY is not supported");
            }
        }
    }

    private enum StreamState { WAITING, STREAMING, CLIENT_DONE, BOTH_DONE }

    private final class StreamOp extends Op<StreamEnd> {
        private final String sql;
        private final WalListener listener;
        private final List<List<Buffer>> rows = new ArrayList<>();
        private StreamState state = StreamState.WAITING;
        private ServerError error;
        private Promise<Void> stopRequested;

        StreamOp(String sql, WalListener listener) {
            this.sql = sql;
            this.listener = listener;
        }

        @Override
        void start() {
            LOG.debug("{} on {}", sql, info.endpoint());
            socket.write(PgMessages.query(sql));
        }

        void stop(Promise<Void> done) {
            switch (state) {
                case WAITING -> {
                    if (stopRequested == null) {
                        stopRequested = done;
                    } else {
                        stopRequested.future().onComplete(done);
                    }
                }
                case STREAMING -> {
                    state = StreamState.CLIENT_DONE;
                    socket.write(PgMessages.copyDone()).onComplete(done);
                }
                default -> done.complete();
            }
        }

        @Override
        void onMessage(byte type, Buffer body) {
            switch (type) {
                case 'W' -> {
                    state = StreamState.STREAMING;
                    if (stopRequested != null) {
                        Promise<Void> p = stopRequested;
                        stopRequested = null;
                        stop(p);
                    }
                }
                case 'd' -> copyData(body);
                case 'c' -> {
                    if (state == StreamState.STREAMING) {
                        socket.write(PgMessages.copyDone());
                    }
                    state = StreamState.BOTH_DONE;
                }
                case 'T', 'C' -> { }
                case 'D' -> rows.add(dataRow(body));
                case 'E' -> {
                    if (error == null) {
                        error = ServerError.parse(body);
                    }
                }
                case 'Z' -> {
                    if (stopRequested != null) {
                        stopRequested.tryComplete();
                    }
                    if (error != null) {
                        promise.tryFail(streamError(error));
                    } else if (!rows.isEmpty()) {
                        List<String> r = text(rows).get(0);
                        if (r.size() < 2 || r.get(0) == null || r.get(1) == null) {
                            promise.tryFail(protocolError("unexpected end-of-timeline result " + r));
                        } else {
                            promise.tryComplete(new StreamEnd(true, Integer.parseInt(r.get(0)), Lsn.parse(r.get(1))));
                        }
                    } else if (state == StreamState.WAITING) {
                        promise.tryFail(protocolError(sql + " returned without streaming"));
                    } else {
                        promise.tryComplete(new StreamEnd(false, 0, Lsn.INVALID));
                    }
                    finished(this);
                }
                default -> throw protocolError("unexpected message '" + (char) type + "' during " + sql);
            }
        }

        private void copyData(Buffer body) {
            if (body.length() == 0) {
                throw protocolError("empty CopyData");
            }
            byte kind = body.getByte(0);
            try {
                if (kind == 'w') {
                    if (body.length() < 25) {
                        throw protocolError("short XLogData message");
                    }
                    listener.onData(Lsn.of(body.getLong(1)), Lsn.of(body.getLong(9)), PgMessages.fromPgMicros(body.getLong(17)),
                            body.slice(25, body.length()));
                } else if (kind == 'k') {
                    if (body.length() < 18) {
                        throw protocolError("short keepalive message");
                    }
                    listener.onKeepalive(Lsn.of(body.getLong(1)), PgMessages.fromPgMicros(body.getLong(9)), body.getByte(17) != 0);
                } else {
                    throw protocolError("unknown CopyData message '" + (char) kind + "'");
                }
            } catch (RuntimeException e) {
                failConnection(e);
            }
        }

        private HoldfastException streamError(ServerError e) {
            boolean removed = ServerError.UNDEFINED_FILE.equals(e.sqlState())
                    || e.message().toLowerCase(Locale.ROOT).contains("has already been removed");
            String ctx = sql + " on " + info.endpoint();
            return removed ? new HoldfastException(ErrorCode.WAL_GAP, ctx + ": the WAL asked for is gone from the server: "
                    + e.describe()) : e.toException(ctx, ErrorCode.SOURCE_ERROR);
        }
    }
}
