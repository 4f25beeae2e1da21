package dev.holdfast.repository.store;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    /**
     * The stage's value within {@code timeout} (a Vert.x future passes its
     * {@code toCompletionStage()}), or the {@code HoldfastException} it failed with; any other
     * failure becomes {@code INTERNAL}, and running out of time {@code onTimeout} with "{@code what}
     * timed out after ...".
     */
    public static <T> T await(CompletionStage<T> f, Duration timeout, ErrorCode onTimeout, String what) {
        try {
            return f.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e);
            throw h != null ? h : new HoldfastException(ErrorCode.INTERNAL, what + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted while waiting for " + what, e);
        } catch (TimeoutException e) {
            throw new HoldfastException(onTimeout, what + " timed out after " + timeout, e);
        }
    }
}
