package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A controller process's HTTPS API in process tests: as its bootstrap admin
 * ({@code <data_dir>/admin.token}), trusting only its own CA ({@code <data_dir>/ca/ca.crt}).
 */
final class ControllerClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final int port;
    private final String token;
    private final HttpClient http;

    ControllerClient(Path dataDir, int port) throws Exception {
        this.port = port;
        this.token = Files.readString(dataDir.resolve("admin.token")).trim();
        this.http = HttpClient.newBuilder().sslContext(trusting(dataDir.resolve("ca/ca.crt"))).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A call that must answer {@code expected} (the test fails otherwise, with the answer); its JSON body. */
    JsonNode api(String method, String path, String body, int expected) throws Exception {
        HttpResponse<String> r = send(method, path, body);
        assertEquals(expected, r.statusCode(), () -> method + " " + path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    /** Any call, whatever it answers. */
    HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token);
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** Whether the controller sees {@code host}'s agent connected now (false while it cannot be asked). */
    boolean connected(String host) {
        try {
            HttpResponse<String> r = send("GET", "/api/v1/agents/" + host, null);
            return r.statusCode() == 200 && JSON.readTree(r.body()).path("connected").asBoolean();
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static SSLContext trusting(Path caPem) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            ks.setCertificateEntry("ca", (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
