package dev.holdfast.controller.dashboard;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * Serves the dashboard: {@code GET /} (the page), {@code /dashboard.js} and {@code /dashboard.css},
 * read once from the classpath. The page needs no authentication to load (it holds nothing); its
 * script asks for an API token (or takes it from the URL fragment, {@code /#token=...}, which
 * browsers never send to a server), keeps it in the tab's session storage, and calls the API with it.
 *
 * <p>Headers: a Content-Security-Policy that allows only this origin's script and style and no
 * framing, so an injected string could not run even if one reached the page (the script writes
 * data with {@code textContent} only); no caching; no referrer.
 */
public final class Dashboard {
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self';"
            + " base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final Map<String, String[]> FILES = Map.of(
            "/", new String[] {"index.html", "text/html; charset=utf-8"},
            "/dashboard.js", new String[] {"dashboard.js", "text/javascript; charset=utf-8"},
            "/dashboard.css", new String[] {"dashboard.css", "text/css; charset=utf-8"});

    private Dashboard() {
    }

    /** Adds the dashboard's routes to {@code router}. */
    public static void mount(Router router) {
        for (Map.Entry<String, String[]> f : FILES.entrySet()) {
            Buffer body = Buffer.buffer(read(f.getValue()[0]));
            String type = f.getValue()[1];
            router.route(HttpMethod.GET, f.getKey()).handler(ctx -> send(ctx, body, type));
        }
    }

    private static void send(RoutingContext ctx, Buffer body, String type) {
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, type).putHeader("Content-Security-Policy", CSP)
                .putHeader("X-Content-Type-Options", "nosniff").putHeader("Referrer-Policy", "no-referrer")
                .putHeader("X-Frame-Options", "DENY").putHeader(HttpHeaders.CACHE_CONTROL, "no-store").end(body);
    }

    private static byte[] read(String name) {
        try (InputStream in = Dashboard.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("dashboard resource " + name + " is missing from the build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
