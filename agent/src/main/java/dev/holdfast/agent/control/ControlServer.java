package dev.holdfast.agent.control;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agent's local control socket: an HTTP/1.1 server on a Unix domain socket (docs/protocol.md
 * "Local control socket (agent)").
 *
 * <h2>The socket file</h2>
 * {@link #start()} creates the parent directory when missing (mode 0750, group {@code group} if
 * given), removes a stale socket file left by an agent that crashed (only when nothing answers on
 * it: a live one means another agent runs, and start fails with {@code IO_ERROR}; a path that is
 * not a socket is never removed), listens, and sets the socket's mode to 0660 and its group to
 * {@code group} if given. Who may connect is thus the agent's user and the socket's group: give
 * PostgreSQL's hooks access with {@code control_socket_group: postgres} (or by putting the
 * {@code postgres} user into the agent's group). {@link #close()} removes the socket file if it is
 * still the one this server created.
 *
 * <h2>Routes</h2>
 * Handlers are registered by method and exact path with {@link #route}; the query string is not
 * part of the path. A handler owns the request: it reads the body if it wants to (as a stream:
 * nothing is buffered for it) and must end the response, with {@link #respondJson} or
 * {@link #respondError} for the JSON conventions. An exception thrown by a handler is answered
 * with {@link #respondError}. Unknown paths and methods get {@code usage} (400).
 *
 * <p>Errors are {@code {"error": {"code": "...", "message": "..."}}} with the code's HTTP status and
 * the header {@value #EXIT_STATUS_HEADER}: the code's exit status, so that shell hooks exit with
 * the stable status of docs/errors.md.
 */
public final class ControlServer {
    /** The response header that carries an error's exit status (docs/errors.md). */
    public static final String EXIT_STATUS_HEADER = "Holdfast-Exit-Status";
    private static final String JSON = "application/json";

    private final Vertx vertx;
    private final Path socket;
    private final Optional<GroupPrincipal> group;
    private final Map<String, Handler<HttpServerRequest>> routes = new ConcurrentHashMap<>();
    private HttpServer server;
    private Object socketFileKey;

    /**
     * A server for {@code socket}, not yet listening.
     *
     * @param group the group given read/write access to the socket; empty: the agent's own group
     */
    public ControlServer(Vertx vertx, Path socket, Optional<GroupPrincipal> group) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.socket = Objects.requireNonNull(socket, "socket").toAbsolutePath();
        this.group = Objects.requireNonNull(group, "group");
    }

    /** The socket's path. */
    public Path socket() {
        return socket;
    }

    /**
     * Registers {@code handler} for {@code method} and the exact {@code path} (e.g.
     * {@code POST /v1/wal/push}). Handlers run on the server's event loop and must not block it.
     * May be called before or after {@link #start()}.
     *
     * @throws IllegalStateException when the method and path already have a handler
     */
    public void route(HttpMethod method, String path, Handler<HttpServerRequest> handler) {
        Objects.requireNonNull(handler, "handler");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("a route's path starts with /: " + path);
        }
        if (routes.putIfAbsent(method.name() + " " + path, handler) != null) {
            throw new IllegalStateException("route " + method.name() + " " + path + " is already registered");
        }
    }

    /**
     * Prepares the socket file and listens (see the class comment).
     *
     * @return fails with {@code IO_ERROR} when another agent answers on the socket or the file
     *         cannot be prepared
     */
    public Future<Void> start() {
        return vertx.<Void>executeBlocking(() -> {
            prepare();
            return null;
        }).compose(v -> {
            HttpServer s = vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(300).setHandle100ContinueAutomatically(true));
            s.requestHandler(this::handle);
            return s.listen(SocketAddress.domainSocketAddress(socket.toString())).recover(e -> Future.failedFuture(
                    new HoldfastException(ErrorCode.IO_ERROR, "cannot listen on the control socket " + socket + ": " + e.getMessage(), e)));
        }).compose(s -> {
            server = s;
            return vertx.<Void>executeBlocking(() -> {
                secure();
                return null;
            });
        }).recover(e -> close().transform(ignored -> Future.<Void>failedFuture(e)));
    }

    /** Stops listening and removes the socket file if it is still this server's. Idempotent. */
    public Future<Void> close() {
        HttpServer s = server;
        server = null;
        Future<Void> closed = s == null ? Future.succeededFuture() : s.close();
        return closed.transform(ar -> vertx.executeBlocking(() -> {
            removeOwnSocket();
            return null;
        }));
    }

    private void handle(HttpServerRequest req) {
        Handler<HttpServerRequest> h = routes.get(req.method().name() + " " + req.path());
        if (h == null) {
            boolean pathKnown = routes.keySet().stream().anyMatch(k -> k.endsWith(" " + req.path()));
            respondError(req, new HoldfastException(ErrorCode.USAGE, pathKnown
                    ? "method " + req.method().name() + " is not allowed on " + req.path()
                    : "no endpoint " + req.method().name() + " " + req.path() + " (see docs/protocol.md)"));
            return;
        }
        try {
            h.handle(req);
        } catch (RuntimeException e) {
            respondError(req, e);
        }
    }

    /** Ends {@code req}'s response with {@code status} and {@code body} as JSON. */
    public static void respondJson(HttpServerRequest req, int status, JsonObject body) {
        HttpServerResponse r = req.response();
        if (r.ended()) {
            return;
        }
        r.setStatusCode(status).putHeader("Content-Type", JSON).end(body.encode());
    }

    /**
     * Ends {@code req}'s response with the error of {@code failure}: its {@link HoldfastException}'s
     * code (anything else is {@code internal}), the code's HTTP status, the JSON error body and the
     * {@value #EXIT_STATUS_HEADER} header. Does nothing if the response has ended already; if the
     * headers were sent already, the connection is reset so that the client cannot mistake a
     * truncated body for a complete one.
     */
    public static void respondError(HttpServerRequest req, Throwable failure) {
        HttpServerResponse r = req.response();
        if (r.ended()) {
            return;
        }
        if (r.headWritten()) {
            req.connection().close();
            return;
        }
        HoldfastException h = HoldfastException.find(failure);
        ErrorCode code = h == null ? ErrorCode.INTERNAL : h.code();
        String message = h == null ? String.valueOf(failure) : h.getMessage();
        r.setStatusCode(code.httpStatus()).putHeader("Content-Type", JSON)
                .putHeader(EXIT_STATUS_HEADER, Integer.toString(code.exitStatus()))
                .end(errorBody(code, message).encode());
    }

    /** The JSON error body: {@code {"error": {"code": ..., "message": ...}}}. */
    public static JsonObject errorBody(ErrorCode code, String message) {
        return new JsonObject().put("error", new JsonObject().put("code", code.code()).put("message", message));
    }

    private void prepare() throws IOException {
        Path dir = socket.getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x---"));
            if (group.isPresent()) {
                setGroup(dir, group.get());
            }
        }
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (!attrs.isOther() || !isSocket(socket)) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "control socket path " + socket
                    + " exists and is not a socket; remove it or choose another control_socket");
        }
        if (answers(socket)) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "another agent is listening on the control socket " + socket
                    + "; stop it first (or give this one another control_socket)");
        }
        // A socket file nobody listens on: left behind by an agent that did not stop cleanly.
        Files.deleteIfExists(socket);
    }

    private static boolean isSocket(Path p) throws IOException {
        Object mode = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return mode instanceof Integer m && (m & 0170000) == 0140000;
    }

    private static boolean answers(Path p) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(p));
            return true;
        } catch (ConnectException e) {
            return false;
        } catch (IOException e) {
            // Permission denied and the like: someone else's live socket; do not remove it.
            return true;
        }
    }

    private void secure() throws IOException {
        // Recorded first, so that close() removes the file even if what follows fails.
        socketFileKey = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
        if (group.isPresent()) {
            setGroup(socket, group.get());
        }
    }

    private static void setGroup(Path p, GroupPrincipal g) throws IOException {
        try {
            Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setGroup(g);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot give group " + g.getName() + " access to " + p
                    + " (the agent's user must be a member of that group): " + e.getMessage(), e);
        }
    }

    private void removeOwnSocket() throws IOException {
        Object key = socketFileKey;
        socketFileKey = null;
        if (key == null) {
            return;
        }
        try {
            Object now = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (key.equals(now)) {
                Files.delete(socket);
            }
        } catch (NoSuchFileException e) {
            // removed already (Netty may delete it on close)
        }
    }
}
