package dev.holdfast.agent.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * bin/holdfast-wal-push and bin/holdfast-wal-fetch, run for real (with sh and with bash) against a
 * ControlServer on a temporary socket whose push/fetch routes keep WAL in memory, as the protocol
 * of docs/protocol.md says the agent does.
 */
class WalHooksTest {
    static final Path BIN = Path.of("..", "bin").toAbsolutePath().normalize();
    static final String SEGMENT = "000000010000000000000003";

    @TempDir
    Path dir;
    Vertx vertx;
    ControlServer server;
    Path socket;
    final Map<String, byte[]> stored = new ConcurrentHashMap<>();
    final List<String> sources = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(new File("/usr/bin/curl").canExecute() || new File("/bin/curl").canExecute(), "curl is needed");
        vertx = Vertx.vertx();
        socket = dir.resolve("run/agent.sock");
        server = new ControlServer(vertx, socket, Optional.empty());
        server.route(HttpMethod.POST, "/v1/wal/push", req -> {
            String name = req.getParam("name");
            sources.add(String.valueOf(req.getParam("source")));
            req.body().onSuccess(body -> {
                byte[] bytes = body.getBytes();
                byte[] had = stored.putIfAbsent(name, bytes);
                if (had != null && !Arrays.equals(had, bytes)) {
                    ControlServer.respondError(req, new HoldfastException(ErrorCode.OBJECT_EXISTS,
                            "wal/main/" + name + " exists with different content; it was not changed"));
                } else {
                    ControlServer.respondJson(req, 200, new JsonObject().put("name", name)
                            .put("outcome", had == null ? "stored" : "already_stored"));
                }
            });
        });
        server.route(HttpMethod.GET, "/v1/wal/fetch", req -> {
            String name = req.getParam("name");
            sources.add(String.valueOf(req.getParam("source")));
            if (name.startsWith("broken")) {
                throw new HoldfastException(ErrorCode.STORE_UNAVAILABLE, "the store did not answer after 5 tries");
            }
            byte[] b = stored.get(name);
            if (b == null) {
                ControlServer.respondError(req, new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "no WAL file " + name));
            } else {
                req.response().putHeader("Content-Type", "application/octet-stream").end(Buffer.buffer(b));
            }
        });
        server.start().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (vertx != null) {
            server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    record Run(int status, String out, String err) {
    }

    static Run run(Path dir, Map<String, String> env, String shell, Path script, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(shell, script.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().remove("HOLDFAST_CONTROL_SOCKET");
        pb.environment().putAll(env);
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the hook finished");
        Run r = new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    private Run hook(String shell, String script, String... args) throws Exception {
        return run(dir, Map.of(), shell, BIN.resolve(script), args);
    }

    private byte[] segment(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private List<Path> leftovers(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(p -> p.getFileName().toString().contains("holdfast-tmp")).toList();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sh", "bash"})
    void pushStoresOnceExitsZeroAndRefusesDifferentBytesWithTheStableStatus(String shell) throws Exception {
        Path walDir = Files.createDirectories(dir.resolve("pg_wal"));
        Path seg = walDir.resolve(SEGMENT);
        byte[] bytes = segment(1, 3 * 1024 * 1024 + 17);
        Files.write(seg, bytes);

        Run first = hook(shell, "holdfast-wal-push", "--socket", socket.toString(), seg.toString());
        assertEquals(0, first.status(), first::toString);
        assertArrayEquals(bytes, stored.get(SEGMENT));

        Run again = hook(shell, "holdfast-wal-push", "--socket", socket.toString(), "--source", "main", seg.toString());
        assertEquals(0, again.status(), again::toString);
        assertEquals(List.of("null", "main"), sources);

        Files.write(seg, segment(2, 1024));
        Run different = hook(shell, "holdfast-wal-push", "--socket", socket.toString(), seg.toString());
        assertEquals(21, different.status(), different::toString);
        assertTrue(different.err().contains("object_exists") && different.err().contains("exists with different content"),
                different::toString);
        assertArrayEquals(bytes, stored.get(SEGMENT), "the stored file was not changed");

        Run missing = hook(shell, "holdfast-wal-push", "--socket", socket.toString(), walDir.resolve("nope").toString());
        assertEquals(4, missing.status(), missing::toString);
        Run usage = hook(shell, "holdfast-wal-push", "--socket", socket.toString());
        assertEquals(2, usage.status(), usage::toString);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sh", "bash"})
    void fetchWritesDestOnlyWhenCompleteAndLeavesItUntouchedOtherwise(String shell) throws Exception {
        byte[] bytes = segment(3, 2 * 1024 * 1024 + 5);
        stored.put(SEGMENT, bytes);
        Path walDir = Files.createDirectories(dir.resolve("pg_wal"));
        Path dest = walDir.resolve("RECOVERYXLOG");

        Run ok = hook(shell, "holdfast-wal-fetch", "--socket", socket.toString(), SEGMENT, dest.toString());
        assertEquals(0, ok.status(), ok::toString);
        assertArrayEquals(bytes, Files.readAllBytes(dest));
        assertEquals(List.of(), leftovers(walDir));

        Files.writeString(dest, "previous content");
        Run notFound = hook(shell, "holdfast-wal-fetch", "--socket", socket.toString(), "000000010000000000000099", dest.toString());
        assertEquals(1, notFound.status(), notFound::toString);
        assertEquals("previous content", Files.readString(dest));
        assertEquals(List.of(), leftovers(walDir));

        Run broken = hook(shell, "holdfast-wal-fetch", "--socket", socket.toString(), "--source", "main", "broken.history",
                dest.toString());
        assertEquals(126, broken.status(), "any failure but not-found stops recovery: " + broken);
        assertTrue(broken.err().contains("store_unavailable: the store did not answer after 5 tries"), broken::toString);
        assertEquals("previous content", Files.readString(dest));
        assertEquals(List.of(), leftovers(walDir));
        assertEquals("main", sources.get(sources.size() - 1));
    }

    @Test
    void theSocketComesFromTheEnvironmentWhenNotGiven() throws Exception {
        stored.put(SEGMENT, new byte[] {1, 2, 3});
        Path dest = dir.resolve("dest");
        Run r = run(dir, Map.of("HOLDFAST_CONTROL_SOCKET", socket.toString()), "sh", BIN.resolve("holdfast-wal-fetch"), SEGMENT,
                dest.toString());
        assertEquals(0, r.status(), r::toString);
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(dest));
    }

    @Test
    void withoutAnAgentTheHooksRunTheFullCliFoundThroughSymlinks() throws Exception {
        // A copy of the hooks beside a fake 'holdfast' that reports how it was called, reached through symlinks elsewhere.
        Path install = Files.createDirectories(dir.resolve("install/bin"));
        for (String s : List.of("holdfast-wal-push", "holdfast-wal-fetch")) {
            Files.copy(BIN.resolve(s), install.resolve(s));
        }
        Path fake = install.resolve("holdfast");
        Files.writeString(fake, "#!/bin/sh\necho \"fallback: $*\"\nexit 7\n");
        fake.toFile().setExecutable(true);
        install.resolve("holdfast-wal-push").toFile().setExecutable(true);
        install.resolve("holdfast-wal-fetch").toFile().setExecutable(true);
        Path links = Files.createDirectories(dir.resolve("usr/local/bin"));
        Files.createSymbolicLink(links.resolve("holdfast-wal-push"), install.resolve("holdfast-wal-push"));
        Files.createSymbolicLink(links.resolve("holdfast-wal-fetch"), install.resolve("holdfast-wal-fetch"));

        Path seg = dir.resolve(SEGMENT);
        Files.write(seg, new byte[] {9});
        String absent = dir.resolve("no/agent.sock").toString();
        Run push = run(dir, Map.of(), "sh", links.resolve("holdfast-wal-push"), "--socket", absent, seg.toString());
        assertEquals(7, push.status(), push::toString);
        assertEquals("fallback: wal-push --socket " + absent + " " + seg + "\n", push.out());

        Run fetch = run(dir, Map.of(), "bash", links.resolve("holdfast-wal-fetch"), "--socket", absent, SEGMENT, "dest");
        assertEquals(7, fetch.status(), fetch::toString);
        assertEquals("fallback: wal-fetch --socket " + absent + " " + SEGMENT + " dest\n", fetch.out());

        // A socket file that nobody answers on (a crashed agent) also falls back.
        server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        Path stale = dir.resolve("stale.sock");
        try (java.nio.channels.ServerSocketChannel ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(stale));
        }
        assertTrue(Files.exists(stale));
        Run viaStale = run(dir, Map.of("HOLDFAST_CONTROL_SOCKET", stale.toString()), "sh", links.resolve("holdfast-wal-push"),
                seg.toString());
        assertEquals(7, viaStale.status(), viaStale::toString);
        assertEquals("fallback: wal-push " + seg + "\n", viaStale.out());
        assertFalse(push.err().contains("holdfast-tmp"));
    }
}
