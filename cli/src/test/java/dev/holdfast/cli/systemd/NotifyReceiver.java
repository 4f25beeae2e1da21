package dev.holdfast.cli.systemd;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.DomainDatagramSocketAddress;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * The service manager's end of {@code NOTIFY_SOCKET} for tests: a bound Unix datagram socket
 * (non-blocking, Netty's native transport) that collects what a notifier sends.
 */
final class NotifyReceiver implements AutoCloseable {
    private final Socket socket;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(4096);

    /** Binds {@code address}: a path, or a name starting with NUL for the abstract namespace. */
    NotifyReceiver(String address) throws IOException {
        Epoll.ensureAvailability();
        socket = Socket.newSocketDomainDgram();
        socket.bind(new DomainSocketAddress(address));
    }

    /**
     * Waits for the next datagram up to {@code seconds}, polling; fails early when {@code alive}
     * turns false (the sender exited). Returns the datagram's text.
     */
    String next(int seconds, BooleanSupplier alive, java.util.function.Supplier<String> context) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            buf.clear();
            DomainDatagramSocketAddress from = socket.recvFromDomainSocket(buf, 0, buf.capacity());
            if (from != null) {
                byte[] b = new byte[from.receivedAmount()];
                buf.get(0, b);
                return new String(b, StandardCharsets.UTF_8);
            }
            if (!alive.getAsBoolean()) {
                throw new AssertionError("the sender exited before notifying: " + context.get());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no notification within " + seconds + " s: " + context.get());
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
