package dev.holdfast.error;

import java.util.Objects;

/**
 * The one exception type that crosses module boundaries. Vendor exceptions (SDK, JDK I/O, JCE)
 * are translated into it at the boundary where they occur, nowhere else.
 *
 * <p>Contract: the message is shown to operators as is; it names what was wrong and never contains
 * key material, credentials or plaintext.
 */
public class HoldfastException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public HoldfastException(ErrorCode code, String message) {
        this(code, message, null);
    }

    public HoldfastException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    public ErrorCode code() {
        return code;
    }

    /** Unwraps CompletionException/ExecutionException chains to the first HoldfastException, if any. */
    public static HoldfastException find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof HoldfastException h) {
                return h;
            }
        }
        return null;
    }
}
