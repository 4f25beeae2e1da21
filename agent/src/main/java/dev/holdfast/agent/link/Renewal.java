package dev.holdfast.agent.link;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.RenewRequest;
import com.google.protobuf.ByteString;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

/**
 * Certificate renewal: a new key pair generated here, its request sent to {@code Enrolment.Renew}
 * over mutual TLS with the current certificate, and the identity files swapped atomically
 * ({@link AgentIdentity#replace}). The running agent calls it once
 * {@link AgentIdentity#needsRenewal} says so; a failure leaves the current identity in place.
 */
public final class Renewal {
    private Renewal() {
    }

    /** Renews {@code current}; completes with the new identity (already on disk). */
    public static Future<AgentIdentity> renew(Vertx vertx, AgentIdentity current, SecureRandom random) {
        return vertx.executeBlocking(() -> AgentIdentity.generateCsr(current.host(), random)).compose(pending -> {
            GrpcClient client = GrpcClient.client(vertx, new GrpcClientOptions(), current.clientOptions());
            RenewRequest request = RenewRequest.newBuilder().setCsrDer(ByteString.copyFrom(pending.csrDer())).build();
            return EnrolmentCalls.renew(client, LinkTls.address(current.controller()), request)
                    .compose(resp -> vertx.executeBlocking(() -> {
                        X509Certificate cert;
                        try {
                            cert = Pem.certificate(resp.getCertificateDer().toByteArray());
                        } catch (CertificateException e) {
                            throw new HoldfastException(ErrorCode.INTERNAL, "the controller returned a malformed certificate");
                        }
                        if (!cert.getPublicKey().equals(pending.keyPair().getPublic())) {
                            throw new HoldfastException(ErrorCode.INTERNAL, "the controller returned a certificate for another key");
                        }
                        return current.replace(pending.keyPair().getPrivate(), cert);
                    }))
                    .eventually(() -> client.close());
        });
    }
}
