package dev.holdfast.agent.link;

import com.google.protobuf.ByteString;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.EnrollRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;

/**
 * The agent's side of enrolment ({@code holdfast enroll}): generate a key pair here, connect to
 * the controller trusting only a server chain that holds the CA the token pins
 * ({@link LinkTls.CaPin}), send the CSR with the token ({@code Enrolment.Enroll}), check what
 * comes back (the CA is the pinned one, the certificate is for our key and issued by it), and
 * store the identity atomically. Nothing is written unless all of that succeeded.
 */
public final class Enroller {
    /** The message when the controller's chain lacks the pinned CA (a man in the middle, or a token of another controller). */
    public static final String PIN_MISMATCH = "the controller's CA does not match the token's fingerprint";

    private Enroller() {
    }

    /**
     * Enrols {@code host} with the controller at {@code controller} using {@code token}, and
     * stores the identity in {@code identityDir}.
     *
     * @return the stored identity; fails with {@code enrolment_refused} (refused by the controller,
     * or the pin did not match) or {@code controller_unavailable}
     */
    public static Future<AgentIdentity> enroll(Vertx vertx, URI controller, String token, String host, Path identityDir,
                                               Clock clock, SecureRandom random) {
        EnrolmentToken parsed;
        try {
            parsed = EnrolmentToken.parse(token);
            LinkTls.address(controller);
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        LinkTls.CaPin pin = new LinkTls.CaPin(parsed, clock);
        return vertx.executeBlocking(() -> AgentIdentity.generateCsr(host, random)).compose(pending -> {
            GrpcClient client = GrpcClient.client(vertx, new GrpcClientOptions(), LinkTls.enrolmentClientOptions(pin));
            EnrollRequest request = EnrollRequest.newBuilder()
                    .setToken(parsed.value())
                    .setHost(host)
                    .setCsrDer(ByteString.copyFrom(pending.csrDer()))
                    .build();
            return EnrolmentCalls.enroll(client, LinkTls.address(controller), request)
                    .recover(t -> Future.failedFuture(pin.mismatched() ? new HoldfastException(ErrorCode.ENROLMENT_REFUSED, PIN_MISMATCH) : t))
                    .compose(resp -> vertx.executeBlocking(() -> {
                        X509Certificate ca;
                        X509Certificate cert;
                        try {
                            ca = Pem.certificate(resp.getCaCertificateDer().toByteArray());
                            cert = Pem.certificate(resp.getCertificateDer().toByteArray());
                        } catch (CertificateException e) {
                            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, "the controller returned a malformed certificate");
                        }
                        X509Certificate seen = pin.anchor();
                        if (!parsed.pins(ca) || seen == null || !Arrays.equals(Pem.der(seen), Pem.der(ca))) {
                            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, PIN_MISMATCH);
                        }
                        if (!cert.getPublicKey().equals(pending.keyPair().getPublic())) {
                            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, "the controller returned a certificate for another key");
                        }
                        return AgentIdentity.store(identityDir, pending.keyPair().getPrivate(), cert, ca, controller);
                    }))
                    .eventually(() -> client.close());
        });
    }
}
