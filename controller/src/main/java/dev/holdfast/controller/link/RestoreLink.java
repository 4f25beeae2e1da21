package dev.holdfast.controller.link;

import dev.holdfast.protocol.v1.Hello;
import dev.holdfast.protocol.v1.JobProgress;
import dev.holdfast.protocol.v1.JobResult;
import io.vertx.core.Future;

/**
 * What the link tells the restore service (docs/controller.md "Restore authorization"): an agent's
 * Hello (to resend a still valid grant, and to fail restores the agent no longer runs), and the
 * progress and results whose job id is a restore request's id ({@link #owns}).
 */
public interface RestoreLink {
    RestoreLink NONE = new RestoreLink() {
    };

    /** Whether a job id names a restore request rather than a job. */
    static boolean owns(String jobId) {
        return jobId.startsWith("r-");
    }

    default Future<Void> hello(String host, Hello hello) {
        return Future.succeededFuture();
    }

    default Future<Void> progress(String host, JobProgress progress) {
        return Future.succeededFuture();
    }

    default Future<Void> result(String host, JobResult result) {
        return Future.succeededFuture();
    }
}
