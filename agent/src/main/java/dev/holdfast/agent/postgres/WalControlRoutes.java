package dev.holdfast.agent.postgres;

import dev.holdfast.agent.control.ControlServer;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.WeakHashMap;

/**
 * The control-socket endpoints of PostgreSQL sources (docs/protocol.md, "Local control socket"):
 * {@code POST /v1/wal/push?name=F[&source=S]} with the file's bytes, answered 200 only once they are
 * durable, and {@code GET /v1/wal/fetch?name=F[&source=S][&system_id=ID]}. Registered once per
 * control server; requests go to the source named, or to the only PostgreSQL source.
 */
final class WalControlRoutes {
    /** The largest body accepted: PostgreSQL's largest segment size (1 GiB). */
    static final long MAX_BODY = 1L << 30;
    private static final Map<ControlServer, WalControlRoutes> BY_SERVER = Collections.synchronizedMap(new WeakHashMap<>());

    private final Map<String, PostgresSource> sources = Collections.synchronizedMap(new TreeMap<>());

    private WalControlRoutes(ControlServer server) {
        server.route(HttpMethod.POST, "/v1/wal/push", this::push);
        server.route(HttpMethod.GET, "/v1/wal/fetch", this::fetch);
    }

    static WalControlRoutes on(ControlServer server) {
        return BY_SERVER.computeIfAbsent(server, WalControlRoutes::new);
    }

    void register(PostgresSource source) {
        sources.put(source.name(), source);
    }

    void unregister(PostgresSource source) {
        sources.remove(source.name(), source);
    }

    private PostgresSource source(HttpServerRequest req) {
        String name = req.getParam("source");
        synchronized (sources) {
            if (name == null || name.isEmpty()) {
                if (sources.size() == 1) {
                    return sources.values().iterator().next();
                }
                throw new HoldfastException(ErrorCode.USAGE, sources.isEmpty() ? "this agent runs no PostgreSQL source"
                        : "this agent runs several PostgreSQL sources " + sources.keySet() + ": name one with --source");
            }
            PostgresSource s = sources.get(name);
            if (s == null) {
                throw new HoldfastException(ErrorCode.USAGE, "this agent runs no PostgreSQL source named '" + name + "' (it runs "
                        + sources.keySet() + ")");
            }
            return s;
        }
    }

    private static String name(HttpServerRequest req) {
        String name = req.getParam("name");
        if (name == null || name.isEmpty()) {
            throw new HoldfastException(ErrorCode.USAGE, "the request names no WAL file (name=)");
        }
        return name;
    }

    private void push(HttpServerRequest req) {
        PostgresSource source;
        String name;
        try {
            source = source(req);
            name = name(req);
            String length = req.getHeader("Content-Length");
            if (length != null && Long.parseLong(length) > MAX_BODY) {
                throw new HoldfastException(ErrorCode.USAGE, name + " is larger than any WAL file (" + length + " bytes)");
            }
        } catch (RuntimeException e) {
            ControlServer.respondError(req, e);
            return;
        }
        req.body().compose(body -> source.push(name, body)).onComplete(ar -> {
            if (ar.succeeded()) {
                ControlServer.respondJson(req, 200, new JsonObject().put("name", name).put("outcome", ar.result().name().toLowerCase()));
            } else {
                ControlServer.respondError(req, ar.cause());
            }
        });
    }

    private void fetch(HttpServerRequest req) {
        Future<java.util.Optional<Buffer>> result;
        String name;
        try {
            PostgresSource source = source(req);
            name = name(req);
            result = source.fetch(name, req.getParam("system_id"));
        } catch (RuntimeException e) {
            ControlServer.respondError(req, e);
            return;
        }
        result.onComplete(ar -> {
            if (ar.failed()) {
                ControlServer.respondError(req, ar.cause());
            } else if (ar.result().isEmpty()) {
                ControlServer.respondError(req, new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, name + " is not in the repository"));
            } else {
                req.response().putHeader("Content-Type", "application/octet-stream").setStatusCode(200).end(ar.result().get());
            }
        });
    }
}
