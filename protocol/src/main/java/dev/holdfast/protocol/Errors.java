package dev.holdfast.protocol;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.ErrorReply;
import java.util.Locale;

/** Converts between {@link ErrorCode}s and the protocol's {@link ErrorReply}. */
public final class Errors {
    private Errors() {
    }

    /** The reply for a code and a message (the message must hold no secret). */
    public static ErrorReply reply(ErrorCode code, String message) {
        return ErrorReply.newBuilder().setCode(code.code()).setNumber(code.exitStatus()).setMessage(message).build();
    }

    /** The reply for a failure: its own code when it is a {@link HoldfastException}, else {@code internal}. */
    public static ErrorReply reply(Throwable t) {
        HoldfastException h = HoldfastException.find(t);
        if (h != null) {
            return reply(h.code(), h.getMessage());
        }
        return reply(ErrorCode.INTERNAL, String.valueOf(t));
    }

    /** The code a reply names; {@code internal} for a code this build does not know. */
    public static ErrorCode code(ErrorReply reply) {
        try {
            return ErrorCode.valueOf(reply.getCode().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return ErrorCode.INTERNAL;
        }
    }

    /** The reply as an exception carrying its code. */
    public static HoldfastException exception(ErrorReply reply) {
        return new HoldfastException(code(reply), reply.getMessage());
    }
}
