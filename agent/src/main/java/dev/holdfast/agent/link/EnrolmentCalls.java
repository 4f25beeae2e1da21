package dev.holdfast.agent.link;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.EnrolmentGrpcClient;
import dev.holdfast.protocol.v1.EnrollRequest;
import dev.holdfast.protocol.v1.EnrollResponse;
import dev.holdfast.protocol.v1.RenewRequest;
import dev.holdfast.protocol.v1.RenewResponse;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.util.Locale;

/**
 * The agent's side of the {@code Enrolment} service, over the generated method descriptors of
 * {@link EnrolmentGrpcClient}, with the controller's errors turned back into
 * {@link HoldfastException}s.
 *
 * <p>Error contract (docs/controller.md): a refusal ends the call with a non-OK grpc-status, the
 * trailer {@value #CODE_TRAILER} holding the stable code (e.g. {@code enrolment_refused}), and
 * grpc-message {@code <code>: <message>}. A failure to connect (refused connection, a TLS
 * handshake the controller or the agent refused, a reset stream) is {@code controller_unavailable}.
 */
public final class EnrolmentCalls {
    /** The trailer that carries the stable error code of a refused call. */
    public static final String CODE_TRAILER = "holdfast-error-code";

    private EnrolmentCalls() {
    }

    public static Future<EnrollResponse> enroll(GrpcClient client, SocketAddress controller, EnrollRequest request) {
        return unary(client, controller, EnrolmentGrpcClient.Enroll, request);
    }

    public static Future<RenewResponse> renew(GrpcClient client, SocketAddress controller, RenewRequest request) {
        return unary(client, controller, EnrolmentGrpcClient.Renew, request);
    }

    private static <Req, Resp> Future<Resp> unary(GrpcClient client, SocketAddress controller, ServiceMethod<Resp, Req> method,
                                                  Req request) {
        String where = controller.host() + ":" + controller.port();
        return client.request(controller, method)
                .compose(req -> req.end(request).compose(v -> req.response()))
                .compose(resp -> resp.last().transform(ar -> {
                    GrpcStatus status = resp.status();
                    if (status != null && status != GrpcStatus.OK) {
                        return Future.failedFuture(error(status, resp.statusMessage(), resp));
                    }
                    return ar.succeeded() ? Future.succeededFuture(ar.result()) : Future.failedFuture(ar.cause());
                }))
                .recover(t -> Future.failedFuture(HoldfastException.find(t) != null ? HoldfastException.find(t)
                        : new HoldfastException(ErrorCode.CONTROLLER_UNAVAILABLE, "the controller at " + where
                                + " could not be reached or ended the call: " + t.getMessage(), t)));
    }

    /** The exception for a non-OK status: the code from the trailer, else from the message's prefix, else by status. */
    static HoldfastException error(GrpcStatus status, String statusMessage, GrpcClientResponse<?, ?> resp) {
        String message = statusMessage == null ? "" : statusMessage;
        String code = first(resp.trailers(), resp.headers());
        int colon = message.indexOf(": ");
        if (code == null && colon > 0) {
            code = message.substring(0, colon);
        }
        ErrorCode ec = null;
        if (code != null) {
            try {
                ec = ErrorCode.valueOf(code.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                ec = null;
            }
        }
        if (ec != null && message.startsWith(ec.code() + ": ")) {
            message = message.substring(ec.code().length() + 2);
        }
        if (ec == null) {
            ec = status == GrpcStatus.UNAVAILABLE ? ErrorCode.CONTROLLER_UNAVAILABLE
                    : status == GrpcStatus.UNIMPLEMENTED ? ErrorCode.PROTOCOL_UNSUPPORTED : ErrorCode.INTERNAL;
            message = "the controller answered " + status + (message.isEmpty() ? "" : ": " + message);
        }
        return new HoldfastException(ec, message);
    }

    private static String first(MultiMap trailers, MultiMap headers) {
        String v = trailers == null ? null : trailers.get(CODE_TRAILER);
        return v != null ? v : headers == null ? null : headers.get(CODE_TRAILER);
    }
}
