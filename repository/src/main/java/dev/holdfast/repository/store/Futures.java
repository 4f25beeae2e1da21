package dev.holdfast.repository.store;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Waiting for a store's future from blocking code (the CLI, workers; never an event loop). */
public final class Futures {
    private Futures() {
    }

    /**
     * The future's value, or the {@code HoldfastException} it failed with (unwrapped from the
     * completion wrappers); any other failure becomes {@code INTERNAL}.
     */
    public static <T> T await(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            HoldfastException h = HoldfastException.find(e);
            if (h != null) {
                throw h;
            }
            throw new HoldfastException(ErrorCode.INTERNAL, String.valueOf(e.getCause()), e.getCause());
        }
    }
}
