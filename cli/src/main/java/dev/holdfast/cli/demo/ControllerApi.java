package dev.holdfast.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.cli.Json;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The controller's HTTPS API as the bootstrap admin, trusting only the controller's own CA
 * certificate. The token is read from its file and sent only in the Authorization header; it is
 * never printed.
 */
final class ControllerApi {
    private final URI base;
    private final String token;
    private final HttpClient http;

    ControllerApi(URI base, Path caCert, Path tokenFile) throws IOException {
        this.base = base;
        this.token = Files.readString(tokenFile).strip();
        this.http = HttpClient.newBuilder().sslContext(trusting(caCert)).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A call that must answer {@code expected}; anything else is {@code controller_unavailable} with the answer's body. */
    JsonNode call(String method, String path, String body, int expected) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + token);
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != expected) {
            throw new HoldfastException(ErrorCode.CONTROLLER_UNAVAILABLE, method + " " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return Json.MAPPER.readTree(r.body());
    }

    JsonNode get(String path) throws IOException, InterruptedException {
        return call("GET", path, null, 200);
    }

    private static SSLContext trusting(Path caPem) throws IOException {
        try (InputStream in = Files.newInputStream(caPem)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            ks.setCertificateEntry("holdfast-demo-ca", (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "cannot use the controller's CA certificate " + caPem + ": " + e.getMessage(), e);
        }
    }
}
