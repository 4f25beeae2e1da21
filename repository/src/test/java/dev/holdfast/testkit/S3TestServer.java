package dev.holdfast.testkit;

import dev.holdfast.repository.store.s3.S3StoreConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * A real S3 API server for tests: S3Proxy 4.1.0 on 127.0.0.1 with a random free port, storing
 * objects in a directory ({@code FilesystemNio2BlobStore}), with one bucket created and SigV2/SigV4
 * authentication ({@code aws-v2-or-v4}) for fixed test credentials, so the SDK signs as it would
 * against AWS.
 *
 * <p>Two modes: {@link #startInProcess} (starts in ~0.1 s) and {@link #startProcess}, a separate
 * JVM running {@link #main} from this test class path, which a test can kill with SIGKILL
 * ({@link #kill()}) mid-request and start again on the same data directory and port
 * ({@link #restart()}). The child prints {@code S3TestServer listening on port N} when ready and
 * exits when its standard input closes, so it cannot outlive the test JVM.
 *
 * <p>S3Proxy runs with {@code ignoreUnknownHeaders=false}: headers it does not implement (Object Lock)
 * are refused with 501 rather than silently dropped. Hand-written multipart works; the SDK's own
 * multipart client would need {@code ignoreUnknownHeaders(true)} (DESIGN.md section 7).
 *
 * <p>Reused by other modules' tests through the repository test-jar.
 */
public final class S3TestServer implements AutoCloseable {
    public static final String BUCKET = "holdfast-test";
    public static final String ACCESS_KEY = "holdfast-test-access-key";
    /** A test-only secret; tests check it never appears in messages. */
    public static final String SECRET_KEY = "holdfast-test-secret-c0ffee";
    static final String READY = "S3TestServer listening on port ";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Path root;
    private final int port;
    private final S3Proxy proxy;
    private final Process process;

    private S3TestServer(Path root, int port, S3Proxy proxy, Process process) {
        this.root = root;
        this.port = port;
        this.proxy = proxy;
        this.process = process;
    }

    /** Starts S3Proxy inside this JVM, storing under {@code root/data}, on a free port. */
    public static S3TestServer startInProcess(Path root) throws Exception {
        return startInProcess(root, 0);
    }

    /** Starts S3Proxy inside this JVM on {@code port} (0 for a free one). */
    public static S3TestServer startInProcess(Path root, int port) throws Exception {
        S3Proxy proxy = startProxy(dataDir(root), port);
        return new S3TestServer(root, proxy.getPort(), proxy, null);
    }

    /** Starts S3Proxy as a separate JVM, storing under {@code root/data} (log in {@code root/server.log}), on a free port. */
    public static S3TestServer startProcess(Path root) throws IOException {
        return startProcess(root, 0);
    }

    /** Starts S3Proxy as a separate JVM on {@code port} (0 for a free one); waits until it listens. */
    public static S3TestServer startProcess(Path root, int port) throws IOException {
        Path data = dataDir(root);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"),
                S3TestServer.class.getName(), data.toString(), Integer.toString(port)));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.appendTo(root.resolve("server.log").toFile()));
        Process p = pb.start();
        CompletableFuture<Integer> ready = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            // Bounded: ends when the child's stdout closes (it exits or is killed).
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith(READY)) {
                        ready.complete(Integer.parseInt(line.substring(READY.length()).trim()));
                    }
                }
            } catch (IOException | RuntimeException e) {
                ready.completeExceptionally(e);
            }
            ready.completeExceptionally(new IOException("S3 server process exited before it was ready (see "
                    + root.resolve("server.log") + ")"));
        }, "s3-test-server-stdout");
        reader.setDaemon(true);
        reader.start();
        try {
            int actual = ready.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            return new S3TestServer(root, actual, null, p);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while starting the S3 server process", e);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw new IOException("S3 server process did not start: " + e.getMessage(), e);
        }
    }

    private static Path dataDir(Path root) {
        Path data = root.resolve("data");
        try {
            Files.createDirectories(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return data;
    }

    private static S3Proxy startProxy(Path data, int port) throws Exception {
        BlobStore store = new FilesystemNio2BlobStore(data.toString());
        if (!store.containerExists(BUCKET)) {
            store.createContainer(BUCKET);
        }
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(store)
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .ignoreUnknownHeaders(false)
                .build();
        proxy.start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                proxy.stop();
                throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
            }
            Thread.sleep(10);
        }
        return proxy;
    }

    /**
     * The separate-process entry point: {@code S3TestServer <data-dir> <port>}. Prints the ready line
     * with the port, then serves until standard input reaches end-of-file.
     */
    public static void main(String[] args) throws Exception {
        S3Proxy proxy = startProxy(Path.of(args[0]), args.length > 1 ? Integer.parseInt(args[1]) : 0);
        System.out.println(READY + proxy.getPort());
        System.out.flush();
        try {
            while (System.in.read() >= 0) {
                // the parent never writes; EOF means it is gone or wants us gone
            }
        } finally {
            proxy.stop();
            System.exit(0);
        }
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public int port() {
        return port;
    }

    public String bucket() {
        return BUCKET;
    }

    public String accessKey() {
        return ACCESS_KEY;
    }

    public String secretKey() {
        return SECRET_KEY;
    }

    /** The directory this server's data lives under ({@code root/data}). */
    public Path root() {
        return root;
    }

    public boolean isSeparateProcess() {
        return process != null;
    }

    /** An S3 store configuration for this server: endpoint, path-style, credentials, bucket. */
    public S3StoreConfig.Builder storeConfig() {
        return storeConfig(endpoint());
    }

    /** The same, but reaching the server through another endpoint (a {@link FaultProxy}). */
    public S3StoreConfig.Builder storeConfig(URI via) {
        return S3StoreConfig.builder(BUCKET)
                .endpoint(via)
                .pathStyle(true)
                .region("us-east-1")
                .credentials(ACCESS_KEY, SECRET_KEY)
                .connectTimeout(Duration.ofSeconds(5))
                .ioTimeout(Duration.ofSeconds(20))
                .attemptTimeout(Duration.ofSeconds(30));
    }

    /**
     * A raw SDK client for setting up and checking behind the store's back. The caller closes it.
     * It keeps the SDK's standard retries: S3Proxy now and then closes a keep-alive connection just
     * after answering, and an assertion must not fail for that.
     */
    public S3AsyncClient rawClient() {
        return S3AsyncClient.builder()
                .endpointOverride(endpoint())
                .forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder())
                .build();
    }

    /** Whether the server is running. */
    public boolean isAlive() {
        return process != null ? process.isAlive() : "STARTED".equals(proxy.getState());
    }

    /**
     * Stops the server abruptly: SIGKILL for a separate process (waits until it is gone), a Jetty
     * stop in-process.
     */
    public void kill() throws Exception {
        if (process != null) {
            process.destroyForcibly();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("S3 server process " + process.pid() + " survived SIGKILL");
            }
        } else {
            proxy.stop();
        }
    }

    /** Starts a new server of the same kind on the same data directory and port. */
    public S3TestServer restart() throws Exception {
        if (isAlive()) {
            kill();
        }
        return process != null ? startProcess(root, port) : startInProcess(root, port);
    }

    /** Stops the server (gracefully for a process: closing its stdin, then SIGKILL if it lingers). */
    @Override
    public void close() throws IOException {
        try {
            if (process != null) {
                if (process.isAlive()) {
                    try {
                        process.getOutputStream().close(); // asks the child to stop
                    } catch (IOException alreadyGone) {
                        // it is exiting anyway
                    }
                    if (!process.waitFor(10, TimeUnit.SECONDS)) {
                        kill();
                    }
                }
            } else if (!"STOPPED".equals(proxy.getState())) {
                proxy.stop();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IOException("interrupted while stopping the S3 server", e);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("unable to stop the S3 server: " + e, e);
        }
    }
}
