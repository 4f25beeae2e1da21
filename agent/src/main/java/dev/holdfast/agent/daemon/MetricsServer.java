package dev.holdfast.agent.daemon;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

/**
 * {@code GET /metrics} in the Prometheus text format, on TCP ({@code metrics.listen}). Nothing else
 * is served; there is no authentication, so keep it on loopback or a management network.
 */
final class MetricsServer {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;

    private MetricsServer(HttpServer server) {
        this.server = server;
    }

    /** Listens on {@code host:port} (port 0: any free port, see {@link #port()}). */
    static Future<MetricsServer> start(Vertx vertx, PrometheusMeterRegistry registry, String host, int port) {
        HttpServer s = vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(60));
        s.requestHandler(req -> {
            if (!"/metrics".equals(req.path())) {
                req.response().setStatusCode(404).putHeader("Content-Type", "text/plain").end("not found: try /metrics\n");
            } else if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
                req.response().setStatusCode(405).putHeader("Allow", "GET, HEAD").end();
            } else {
                // Scraping walks every meter: off the event loop.
                vertx.executeBlocking(registry::scrape, false).onComplete(ar -> {
                    if (ar.succeeded()) {
                        req.response().putHeader("Content-Type", CONTENT_TYPE).end(ar.result());
                    } else {
                        req.response().setStatusCode(500).putHeader("Content-Type", "text/plain").end("scrape failed\n");
                    }
                });
            }
        });
        return s.listen(port, host).map(MetricsServer::new).recover(e -> Future.failedFuture(new HoldfastException(ErrorCode.IO_ERROR,
                "cannot listen for metrics on " + host + ":" + port + " (metrics.listen): " + e.getMessage(), e)));
    }

    /** The port listened on. */
    int port() {
        return server.actualPort();
    }

    Future<Void> close() {
        return server.close();
    }
}
