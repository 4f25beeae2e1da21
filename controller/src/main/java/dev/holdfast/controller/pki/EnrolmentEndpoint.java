package dev.holdfast.controller.pki;

import dev.holdfast.agent.link.EnrolmentCalls;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.EnrolmentGrpcService;
import dev.holdfast.protocol.v1.EnrollRequest;
import dev.holdfast.protocol.v1.EnrollResponse;
import dev.holdfast.protocol.v1.RenewRequest;
import dev.holdfast.protocol.v1.RenewResponse;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * The gRPC {@code holdfast.v1.Enrolment} service, delegating to {@link EnrolmentService}. It
 * binds the generated method descriptors ({@link EnrolmentGrpcService#Enroll},
 * {@link EnrolmentGrpcService#Renew}) itself rather than extending the generated base class,
 * because {@code Renew} needs the client certificate of the call's connection, which the
 * generated unary signature does not carry.
 *
 * <p>Errors: a {@link HoldfastException} ends the call with the grpc-status of {@link #status},
 * grpc-message {@code <code>: <message>} (e.g. {@code enrolment_refused: unknown enrolment
 * token}) and the trailer {@value EnrolmentCalls#CODE_TRAILER} carrying the stable code, which
 * {@link EnrolmentCalls} maps back to the same {@link ErrorCode}. Any other failure is
 * {@code INTERNAL} with code {@code internal}.
 */
public final class EnrolmentEndpoint {
    private final EnrolmentService service;

    public EnrolmentEndpoint(EnrolmentService service) {
        this.service = Objects.requireNonNull(service, "service");
    }

    /** Binds {@code Enroll} and {@code Renew} on {@code server}. */
    public GrpcServer mount(GrpcServer server) {
        server.callHandler(EnrolmentGrpcService.Enroll, this::enroll);
        server.callHandler(EnrolmentGrpcService.Renew, this::renew);
        return server;
    }

    private void enroll(GrpcServerRequest<EnrollRequest, EnrollResponse> call) {
        call.last().compose(req -> service.enroll(req, service.newRequestId()))
                .onComplete(ar -> reply(call.response(), ar.succeeded() ? ar.result() : null, ar.cause()));
    }

    private void renew(GrpcServerRequest<RenewRequest, RenewResponse> call) {
        X509Certificate presented = ControllerTls.clientCertificate(call.connection()).orElse(null);
        call.last().compose(req -> service.renew(presented, req, service.newRequestId()))
                .onComplete(ar -> reply(call.response(), ar.succeeded() ? ar.result() : null, ar.cause()));
    }

    private static <T> void reply(GrpcServerResponse<?, T> response, T value, Throwable failure) {
        if (failure == null) {
            response.end(value);
            return;
        }
        HoldfastException h = HoldfastException.find(failure);
        ErrorCode code = h != null ? h.code() : ErrorCode.INTERNAL;
        String message = h != null ? h.getMessage() : "the controller failed: " + failure.getClass().getSimpleName();
        response.status(status(code)).statusMessage(code.code() + ": " + message);
        response.trailers().set(EnrolmentCalls.CODE_TRAILER, code.code());
        response.end();
    }

    /** The grpc-status a code is sent with. */
    public static GrpcStatus status(ErrorCode code) {
        return switch (code) {
            case ENROLMENT_REFUSED, PERMISSION_DENIED -> GrpcStatus.PERMISSION_DENIED;
            case UNAUTHENTICATED -> GrpcStatus.UNAUTHENTICATED;
            case NOT_FOUND -> GrpcStatus.NOT_FOUND;
            case CONFLICT -> GrpcStatus.FAILED_PRECONDITION;
            case USAGE, CONFIG_INVALID -> GrpcStatus.INVALID_ARGUMENT;
            case CONTROLLER_UNAVAILABLE -> GrpcStatus.UNAVAILABLE;
            case PROTOCOL_UNSUPPORTED -> GrpcStatus.UNIMPLEMENTED;
            default -> GrpcStatus.INTERNAL;
        };
    }

}
