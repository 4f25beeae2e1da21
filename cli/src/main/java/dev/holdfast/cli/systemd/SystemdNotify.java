package dev.holdfast.cli.systemd;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * Sends {@code sd_notify(3)} messages to the service manager.
 *
 * <p>systemd passes the address of a Unix datagram socket in {@code NOTIFY_SOCKET}: an absolute
 * path, or {@code @name} for the abstract namespace. Java 17 has no Unix datagram channel, so the
 * datagram is sent through Netty's native transport (the {@code netty-transport-native-epoll}
 * library that is on the classpath anyway); the process sending is the JVM itself, which is the
 * unit's main process ({@code bin/holdfast} execs java), so the unit's default
 * {@code NotifyAccess=main} accepts it.
 *
 * <p>Without {@code NOTIFY_SOCKET} (not run by systemd, or a unit with another {@code Type=})
 * every method does nothing. A failure to send is reported to the caller and must not stop the
 * daemon: systemd then times the start out, which is the correct signal for a broken
 * environment.
 */
public final class SystemdNotify {
    /** The environment variable systemd sets for {@code Type=notify} services. */
    public static final String ENV = "NOTIFY_SOCKET";

    private final byte[] address;
    private final String display;

    private SystemdNotify(byte[] address, String display) {
        this.address = address;
        this.display = display;
    }

    /** The notifier for {@code $NOTIFY_SOCKET} in this process's environment, if set. */
    public static Optional<SystemdNotify> fromEnvironment() {
        return from(System.getenv());
    }

    /** The notifier for {@code NOTIFY_SOCKET} in {@code env}, if set and non-empty. */
    public static Optional<SystemdNotify> from(Map<String, String> env) {
        String value = env.get(ENV);
        if (value == null || value.isEmpty()) {
            return Optional.empty();
        }
        if (value.charAt(0) != '/' && value.charAt(0) != '@') {
            throw new IllegalArgumentException(ENV + " must be an absolute path or @abstract-name, found '" + value + "'");
        }
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes[0] == '@') {
            bytes[0] = 0; // the abstract namespace: a leading NUL byte, no terminator
        }
        if (bytes.length >= Socket.UDS_SUN_PATH_SIZE) {
            throw new IllegalArgumentException(ENV + " is longer than a Unix socket address allows: " + value);
        }
        return Optional.of(new SystemdNotify(bytes, value));
    }

    /** {@code READY=1} with a human-readable {@code STATUS=} shown by {@code systemctl status}. */
    public void ready(String status) throws IOException {
        send("READY=1\nSTATUS=" + oneLine(status) + "\n");
    }

    /** {@code STOPPING=1}: the service is shutting down (systemctl shows "deactivating"). */
    public void stopping(String status) throws IOException {
        send("STOPPING=1\nSTATUS=" + oneLine(status) + "\n");
    }

    /** Sends one datagram holding {@code message} (newline-separated {@code KEY=VALUE} lines). */
    public void send(String message) throws IOException {
        try {
            Epoll.ensureAvailability(); // loads the native library that implements Socket
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            throw new IOException("cannot notify systemd at " + display + ": no native Unix socket support (" + e.getMessage() + ")", e);
        }
        byte[] payload = message.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocateDirect(payload.length);
        buf.put(payload).flip();
        Socket socket = Socket.newSocketDomainDgram();
        try {
            int sent = socket.sendToDomainSocket(buf, 0, payload.length, address);
            if (sent != payload.length) {
                throw new IOException("cannot notify systemd at " + display + ": sent " + sent + " of " + payload.length + " bytes");
            }
        } catch (IOException e) {
            throw new IOException("cannot notify systemd at " + display + ": " + e.getMessage(), e);
        } finally {
            socket.close();
        }
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }

    @Override
    public String toString() {
        return "SystemdNotify[" + display + "]";
    }
}
