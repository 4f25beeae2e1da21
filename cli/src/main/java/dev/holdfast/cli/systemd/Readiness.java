package dev.holdfast.cli.systemd;

import dev.holdfast.agent.daemon.EventLog;
import java.io.IOException;
import java.util.Optional;

/**
 * What {@code agent run} and {@code controller run} tell systemd: {@code READY=1} once start-up has
 * completed (configuration validated, every listener bound, every source started), and
 * {@code STOPPING=1} when a signal begins the stop. Without {@code NOTIFY_SOCKET} nothing is sent.
 * A failure to notify is logged ({@code systemd_notify_failed}) and never stops the daemon: with
 * {@code Type=notify} systemd then times the start out, which names the broken environment.
 */
public final class Readiness {
    private final Optional<SystemdNotify> notify;
    private final EventLog log;

    private Readiness(Optional<SystemdNotify> notify, EventLog log) {
        this.notify = notify;
        this.log = log;
    }

    /** Readiness for this process's environment. */
    public static Readiness fromEnvironment(EventLog log) {
        try {
            return new Readiness(SystemdNotify.fromEnvironment(), log);
        } catch (IllegalArgumentException e) {
            log.warn("systemd_notify_failed", "msg", e.getMessage());
            return new Readiness(Optional.empty(), log);
        }
    }

    /** Tells systemd the service is ready; {@code status} is shown by {@code systemctl status}. */
    public void ready(String status) {
        notify.ifPresent(n -> {
            try {
                n.ready(status);
                log.info("systemd_notified", "state", "ready");
            } catch (IOException e) {
                log.warn("systemd_notify_failed", "state", "ready", "msg", e.getMessage());
            }
        });
    }

    /** Tells systemd the service is stopping. */
    public void stopping(String status) {
        notify.ifPresent(n -> {
            try {
                n.stopping(status);
            } catch (IOException e) {
                log.warn("systemd_notify_failed", "state", "stopping", "msg", e.getMessage());
            }
        });
    }
}
