package dev.holdfast.controller.pki;

import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.config.ControllerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.server.GrpcServer;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * The controller's PKI, assembled from its configuration: the CA ({@code <data_dir>/ca}), the
 * handshake check loaded with the catalog's revoked serials (so a restart does not forget a
 * revocation), the listener's TLS, and the enrolment service with its gRPC endpoint. The
 * controller's main calls {@link #open}, listens with {@link #serverOptions()} and mounts the
 * endpoint with {@link #mount}.
 */
public record Pki(ControllerCa ca, AgentTrustManager trust, ControllerTls tls, EnrolmentService enrolment, EnrolmentEndpoint endpoint,
                  String listenHost, int listenPort) {

    /** Opens (or creates) the CA and everything built on it. Must be called on a Vert.x context or from a plain thread. */
    public static Future<Pki> open(Vertx vertx, ControllerConfig config, Catalog catalog, Clock clock, SecureRandom random) {
        Path caDir = config.dataDir().resolve("ca");
        record Parts(ControllerCa ca, ControllerTls tls) {
        }
        return vertx.executeBlocking(() -> {
            ControllerCa ca = ControllerCa.loadOrCreate(caDir, clock, random);
            AgentTrustManager trust = new AgentTrustManager(ca.certificate(), clock);
            return new Parts(ca, ControllerTls.create(ca, caDir, config.tls(), serverNames(config.listenHost()), trust, clock));
        }).compose(p -> p.tls().trustManager().refresh(catalog).map(v -> {
            AgentTrustManager trust = p.tls().trustManager();
            EnrolmentService service = new EnrolmentService(vertx, catalog, p.ca(), trust, p.tls().anchor(), config.agents(), clock, random)
                    .auditHandshakeRefusals();
            return new Pki(p.ca(), trust, p.tls(), service, new EnrolmentEndpoint(service), config.listenHost(), config.listenPort());
        }));
    }

    /** The options of the controller's HTTPS listener. */
    public HttpServerOptions serverOptions() {
        return tls.serverOptions(listenHost, listenPort);
    }

    /** Mounts the {@code Enrolment} service on the controller's gRPC server. */
    public GrpcServer mount(GrpcServer server) {
        return endpoint.mount(server);
    }

    /**
     * The names the listener's own certificate covers, besides {@code localhost} and
     * {@code 127.0.0.1}: the listen host, or this machine's name when it listens on every address.
     */
    public static List<String> serverNames(String listenHost) {
        List<String> names = new ArrayList<>();
        if (listenHost.equals("0.0.0.0") || listenHost.equals("::") || listenHost.equals("0:0:0:0:0:0:0:0")) {
            try {
                names.add(InetAddress.getLocalHost().getCanonicalHostName());
            } catch (UnknownHostException e) {
                names.add(dev.holdfast.agent.config.AgentConfig.localHostName());
            }
        } else {
            names.add(listenHost);
        }
        return names;
    }
}
