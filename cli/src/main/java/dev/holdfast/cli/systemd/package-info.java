/**
 * systemd integration of the long-running commands: the {@code sd_notify} readiness protocol
 * ({@code READY=1}, {@code STOPPING=1}, {@code STATUS=}) over the datagram socket named by
 * {@code NOTIFY_SOCKET}, so that units with {@code Type=notify} are "started" only when the
 * daemon really serves.
 */
package dev.holdfast.cli.systemd;
