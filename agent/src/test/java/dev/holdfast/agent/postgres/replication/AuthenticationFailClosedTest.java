package dev.holdfast.agent.postgres.replication;

import static dev.holdfast.agent.postgres.replication.PgTestSupport.await;
import static dev.holdfast.agent.postgres.replication.PgTestSupport.awaitFailure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An impostor server (it does not know the password) must not get a connection: a scripted server
 * speaking just enough of the protocol to try each way of skipping or faking authentication.
 */
class AuthenticationFailClosedTest {
    private static final String PASSWORD = "the-Real-Password";
    private static Vertx vertx;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() {
        await(vertx.close());
    }

    /** Runs {@code script(socket, message)} for each frontend message after the startup packet (which gets {@code first}). */
    private static HoldfastException connectTo(Buffer first, BiConsumer<NetSocket, Buffer> script) {
        NetServer server = vertx.createNetServer().connectHandler(sock -> {
            Buffer[] held = {Buffer.buffer()};
            boolean[] started = {false};
            sock.handler(chunk -> {
                held[0].appendBuffer(chunk);
                while (true) {
                    Buffer pending = held[0];
                    int offset = started[0] ? 1 : 0;
                    if (pending.length() < offset + 4) {
                        return;
                    }
                    int len = pending.getInt(offset);
                    if (pending.length() < offset + len) {
                        return;
                    }
                    Buffer msg = pending.getBuffer(0, offset + len);
                    held[0] = pending.getBuffer(offset + len, pending.length());
                    if (!started[0]) {
                        started[0] = true;
                        sock.write(first);
                    } else {
                        script.accept(sock, msg);
                    }
                }
            });
        });
        int port = await(server.listen(0, "127.0.0.1")).actualPort();
        try {
            HoldfastException e = awaitFailure(ReplicationClient.connect(vertx,
                    ConnInfo.parse("host=127.0.0.1 port=" + port + " user=u connect_timeout=5 password=" + PASSWORD), true));
            assertFalse(e.getMessage().contains(PASSWORD), e.getMessage());
            return e;
        } finally {
            await(server.close());
        }
    }

    private static Buffer auth(int code, Buffer data) {
        return Buffer.buffer().appendByte((byte) 'R').appendInt(8 + data.length()).appendInt(code).appendBuffer(data);
    }

    private static Buffer ready() {
        return auth(0, Buffer.buffer()).appendByte((byte) 'Z').appendInt(5).appendByte((byte) 'I');
    }

    private static Buffer saslOffer(String... mechanisms) {
        Buffer b = Buffer.buffer();
        for (String m : mechanisms) {
            b.appendString(m).appendByte((byte) 0);
        }
        return auth(10, b.appendByte((byte) 0));
    }

    /** Answers the client-first-message with a server-first-message extending its nonce. */
    private static Buffer serverFirst(Buffer saslInitial) {
        String text = saslInitial.toString(StandardCharsets.UTF_8);
        String nonce = text.substring(text.indexOf("r=") + 2).trim();
        String first = "r=" + nonce + "ImpostorNonce,s=" + Base64.getEncoder().encodeToString("salt".getBytes()) + ",i=4096";
        return auth(11, Buffer.buffer(first));
    }

    @Test
    void aWrongServerSignatureFailsTheConnection() {
        HoldfastException e = connectTo(saslOffer("SCRAM-SHA-256"), (sock, msg) -> {
            if (msg.toString(StandardCharsets.UTF_8).contains("SCRAM-SHA-256")) {
                sock.write(serverFirst(msg));
            } else {
                sock.write(auth(12, Buffer.buffer("v=" + Base64.getEncoder().encodeToString(new byte[32]))).appendBuffer(ready()));
            }
        });
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("signature"), e.getMessage());
    }

    @Test
    void authenticationOkWithoutTheServerSignatureFailsTheConnection() {
        HoldfastException e = connectTo(saslOffer("SCRAM-SHA-256"), (sock, msg) -> {
            if (msg.toString(StandardCharsets.UTF_8).contains("SCRAM-SHA-256")) {
                sock.write(serverFirst(msg));
            } else {
                sock.write(ready());
            }
        });
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED, e.code(), e.getMessage());
    }

    @Test
    void channelBindingOnlyAndUnsupportedMethodsAreRefused() {
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED, connectTo(saslOffer("SCRAM-SHA-256-PLUS"), (sock, msg) -> { }).code());
        HoldfastException gss = connectTo(auth(7, Buffer.buffer()), (sock, msg) -> { });
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED, gss.code());
        assertTrue(gss.getMessage().contains("GSSAPI"), gss.getMessage());
    }

    @Test
    void aServerErrorDuringStartupCarriesItsSqlstate() {
        Buffer error = Buffer.buffer().appendByte((byte) 'S').appendString("FATAL").appendByte((byte) 0)
                .appendByte((byte) 'C').appendString("53300").appendByte((byte) 0)
                .appendByte((byte) 'M').appendString("sorry, too many clients already").appendByte((byte) 0).appendByte((byte) 0);
        HoldfastException e = connectTo(Buffer.buffer().appendByte((byte) 'E').appendInt(4 + error.length()).appendBuffer(error),
                (sock, msg) -> { });
        assertEquals(ErrorCode.SOURCE_ERROR, e.code());
        assertTrue(e.getMessage().contains("too many clients") && e.getMessage().contains("53300"), e.getMessage());
    }
}
