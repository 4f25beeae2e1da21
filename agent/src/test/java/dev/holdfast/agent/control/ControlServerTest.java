package dev.holdfast.agent.control;

import static dev.holdfast.agent.daemon.TestAgent.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.agent.daemon.TestAgent.Response;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control socket: file handling (stale, live, not a socket, modes), routing and the error convention. */
class ControlServerTest {
    @TempDir
    Path dir;
    Vertx vertx;

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void tearDown() throws Exception {
        await(vertx.close());
    }

    @Test
    void createsTheDirectoryListensWithMode0660AndRemovesTheFileOnClose() throws Exception {
        Path socket = dir.resolve("run/holdfast/agent.sock");
        ControlServer s = new ControlServer(vertx, socket, Optional.empty());
        s.route(HttpMethod.GET, "/v1/ping", req -> ControlServer.respondJson(req, 200, new JsonObject().put("pong", true)));
        await(s.start());
        assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        Response r = TestAgent.request(vertx, socket, HttpMethod.GET, "/v1/ping?x=1", null);
        assertEquals(200, r.status());
        assertEquals("{\"pong\":true}", r.body());
        await(s.close());
        assertFalse(Files.exists(socket));
    }

    @Test
    void errorsCarryTheCodeTheHttpStatusAndTheExitStatusHeader() throws Exception {
        Path socket = dir.resolve("agent.sock");
        ControlServer s = new ControlServer(vertx, socket, Optional.empty());
        s.route(HttpMethod.GET, "/v1/fail", req -> {
            throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "no WAL file X");
        });
        s.route(HttpMethod.GET, "/v1/bug", req -> {
            throw new IllegalStateException("oops");
        });
        await(s.start());
        try {
            Response notFound = TestAgent.request(vertx, socket, HttpMethod.GET, "/v1/fail", null);
            assertEquals(404, notFound.status());
            assertEquals("20", notFound.exitStatus());
            assertEquals(new JsonObject().put("error", new JsonObject().put("code", "object_not_found").put("message", "no WAL file X")),
                    new JsonObject(notFound.body()));
            Response bug = TestAgent.request(vertx, socket, HttpMethod.GET, "/v1/bug", null);
            assertEquals(500, bug.status());
            assertEquals("1", bug.exitStatus());
            Response method = TestAgent.request(vertx, socket, HttpMethod.POST, "/v1/fail", null);
            assertEquals(400, method.status());
            assertTrue(method.body().contains("method POST is not allowed on /v1/fail"), method.body());
            assertThrows(IllegalStateException.class, () -> s.route(HttpMethod.GET, "/v1/fail", req -> { }));
        } finally {
            await(s.close());
        }
    }

    @Test
    void aStaleSocketIsReplacedALiveOneRefusedAndAFileNeverRemoved() throws Exception {
        Path socket = dir.resolve("agent.sock");
        // Stale: bound, then closed without removing the file (as after a crash).
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        ControlServer first = new ControlServer(vertx, socket, Optional.empty());
        await(first.start());
        try {
            ControlServer second = new ControlServer(vertx, socket, Optional.empty());
            HoldfastException live = HoldfastException.find(assertThrows(ExecutionException.class, () -> await(second.start())));
            assertEquals(ErrorCode.IO_ERROR, live.code());
            assertTrue(live.getMessage().contains("another agent is listening"), live.getMessage());
            assertTrue(Files.exists(socket), "the live agent's socket is left alone");
            Response r = TestAgent.request(vertx, socket, HttpMethod.GET, "/v1/x", null);
            assertEquals(400, r.status(), "the first server still answers");
        } finally {
            await(first.close());
        }

        Path file = dir.resolve("not-a-socket");
        Files.writeString(file, "precious");
        HoldfastException notSocket = HoldfastException.find(assertThrows(ExecutionException.class,
                () -> await(new ControlServer(vertx, file, Optional.empty()).start())));
        assertTrue(notSocket.getMessage().contains("exists and is not a socket"), notSocket.getMessage());
        assertEquals("precious", Files.readString(file));
    }
}
