package dev.holdfast.bench;

import com.google.protobuf.ByteString;
import dev.holdfast.agent.link.AgentIdentity;
import dev.holdfast.agent.link.EnrolmentCalls;
import dev.holdfast.agent.link.EnrolmentToken;
import dev.holdfast.agent.link.LinkTls;
import dev.holdfast.agent.link.Pem;
import dev.holdfast.protocol.ProtocolVersion;
import dev.holdfast.protocol.v1.AgentLinkGrpcClient;
import dev.holdfast.protocol.v1.AgentMessage;
import dev.holdfast.protocol.v1.ControllerMessage;
import dev.holdfast.protocol.v1.EnrollRequest;
import dev.holdfast.protocol.v1.ErrorReply;
import dev.holdfast.protocol.v1.Heartbeat;
import dev.holdfast.protocol.v1.Hello;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.protocol.v1.SourceInfo;
import dev.holdfast.protocol.v1.SourceState;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fleet simulation (issue 5 item 7, bench/README.md "Fleet simulation"): N simulated agents, each
 * enrolled through the real path (an enrolment token from the API, a key pair and CSR generated
 * here, {@code Enrolment/Enroll}) and each holding its own mutual-TLS HTTP/2 connection with one
 * {@code AgentLink/Connect} stream to ONE controller process, heartbeating at the interval Welcome
 * names, spread evenly over the period. It reports the controller's heartbeat handling time (its
 * {@code holdfast_link_heartbeat_seconds} quantiles), the dispatch latency of ad-hoc backup jobs
 * (from {@code POST /api/v1/backups} until the simulated agent receives the JobRequest, measured
 * here on one clock), and the controller's RSS and CPU from /proc.
 *
 * <p>It prints figures and never asserts a timing. Identities stay in memory (nothing on disk).
 * Each simulated agent answers a JobRequest at once with a failed JobResult
 * ({@code source_unavailable}, "simulated agent: no backup taken"): the job ends {@code failed}
 * in the catalog and no backup record is invented.
 */
public final class FleetSimulation {
    private static final String SOURCE = "main";
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+(\\S+)", Pattern.MULTILINE);

    private final Map<String, String> opts;
    private final URI url;
    private final SocketAddress address;
    private final int n;
    private final long pid;
    private final Vertx vertx;
    private final SecureRandom random = new SecureRandom();
    private final Random rnd = new Random(42);
    private final String adminToken;
    private HttpClient api;
    private final ProcSampler sampler;

    /** host -> System.nanoTime() of the POST that asked for its job. */
    private final Map<String, Long> dispatchStart = new ConcurrentHashMap<>();
    private final List<Long> dispatchNanos = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> postNanos = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong heartbeatsSent = new AtomicLong();
    private final AtomicLong heartbeatWriteFailures = new AtomicLong();
    private final AtomicInteger linksLost = new AtomicInteger();
    private final AtomicInteger welcomed = new AtomicInteger();
    private volatile long heartbeatPeriodMs = 10_000;
    private volatile long phaseEpochNanos;
    private volatile boolean stopping;

    private FleetSimulation(Map<String, String> opts) throws IOException {
        this.opts = opts;
        this.url = URI.create(opt("controller", "https://127.0.0.1:7443"));
        this.address = LinkTls.address(url);
        this.n = Integer.parseInt(opt("agents", "1000"));
        this.pid = Long.parseLong(opt("controller-pid", "0"));
        this.adminToken = Files.readString(Path.of(opt("admin-token-file", ""))).trim();
        int loops = Integer.parseInt(opt("event-loops", "2"));
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setWorkerPoolSize(4)
                .setMaxEventLoopExecuteTime(10).setMaxEventLoopExecuteTimeUnit(TimeUnit.SECONDS));
        this.sampler = new ProcSampler(pid);
    }

    private String opt(String key, String dflt) {
        return opts.getOrDefault(key, dflt);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + a);
            }
            String k = a.substring(2);
            int eq = k.indexOf('=');
            if (eq > 0) {
                o.put(k.substring(0, eq), k.substring(eq + 1));
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                o.put(k, args[++i]);
            } else {
                o.put(k, "true"); // a flag
            }
        }
        FleetSimulation s = new FleetSimulation(o);
        int status = 0;
        try {
            s.run();
        } catch (Throwable t) {
            System.err.println("fleet simulation failed: " + t);
            t.printStackTrace();
            status = 1;
        } finally {
            s.sampler.stop();
            s.vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        System.exit(status);
    }

    private static void log(String fmt, Object... args) {
        System.err.printf(Locale.ROOT, "[fleet %s] %s%n", Instant.now().toString().substring(11, 19), String.format(Locale.ROOT, fmt, args));
    }

    private static <T> T await(Future<T> f, long seconds) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------------------------------------
    // The run
    // ---------------------------------------------------------------------------------------------

    private void run() throws Exception {
        Path ca = Path.of(opt("ca", ""));
        api = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString())).setProtocolVersion(HttpVersion.HTTP_1_1)
                .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(32));
        sampler.start();
        int ramp = Integer.parseInt(opt("ramp", "200"));
        int enrolParallel = Integer.parseInt(opt("enrol-parallel", "16"));
        int warmup = Integer.parseInt(opt("warmup-seconds", "15"));
        int windowSeconds = Integer.parseInt(opt("window-seconds", "30"));
        int jobs = Integer.parseInt(opt("jobs", "200"));
        double jobRate = Double.parseDouble(opt("job-rate", "10"));

        long rssIdle = sampler.status("VmRSS");
        log("controller pid %d, RSS before any agent %s; %d agents, enrolment %d in flight, ramp %d connections at a time",
                pid, mib(rssIdle), n, enrolParallel, ramp);

        // 1. Enrolment, through the real path.
        long t0 = System.nanoTime();
        List<Identity> ids = enrolAll(enrolParallel);
        double enrolSeconds = (System.nanoTime() - t0) / 1e9;
        log("enrolled %d agents in %.1f s (%.0f/s)", ids.size(), enrolSeconds, ids.size() / enrolSeconds);
        long rssAfterEnrol = sampler.status("VmRSS");

        // 2. Connect, ramped.
        List<SimAgent> agents = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            agents.add(new SimAgent(i, ids.get(i)));
        }
        ids = null;
        phaseEpochNanos = System.nanoTime();
        long connectStart = System.nanoTime();
        List<Long> welcomeNanos = Collections.synchronizedList(new ArrayList<>());
        for (int from = 0; from < n; from += ramp) {
            List<Future<Long>> batch = new ArrayList<>();
            for (int i = from; i < Math.min(n, from + ramp); i++) {
                batch.add(agents.get(i).connect());
            }
            await(Future.join(batch), 300);
            int failed = 0;
            for (Future<Long> f : batch) {
                if (f.succeeded()) {
                    welcomeNanos.add(f.result());
                } else {
                    failed++;
                    if (failed == 1) {
                        log("a connection failed: %s", f.cause());
                    }
                }
            }
            if (failed > 0) {
                throw new IllegalStateException(failed + " of a batch of " + batch.size() + " connections failed");
            }
            if ((from / ramp) % 10 == 9 || from + ramp >= n) {
                log("connected %d of %d (controller RSS %s)", Math.min(n, from + ramp), n, mib(sampler.status("VmRSS")));
            }
        }
        double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
        double connectedGauge = waitConnected(120);
        double connectedSeconds = (System.nanoTime() - connectStart) / 1e9;
        log("all %d welcomed in %.1f s; holdfast_agents_connected = %.0f after %.1f s", n, connectSeconds, connectedGauge, connectedSeconds);
        long rssConnected = sampler.status("VmRSS");

        // 3. Steady heartbeats: warm-up, then the measured window.
        log("warm-up %d s, then a %d s window (heartbeat period %d ms, %.0f heartbeats/s expected)", warmup, windowSeconds,
                heartbeatPeriodMs, n * 1000.0 / heartbeatPeriodMs);
        Thread.sleep(warmup * 1000L);
        Map<String, Double> m0 = scrape();
        long hb0 = heartbeatsSent.get();
        ProcSampler.Cpu c0 = sampler.cpu();
        sampler.resetWindowPeak();
        long w0 = System.nanoTime();
        Thread.sleep(windowSeconds * 1000L);
        double windowWall = (System.nanoTime() - w0) / 1e9;
        ProcSampler.Cpu c1 = sampler.cpu();
        long hb1 = heartbeatsSent.get();
        Map<String, Double> m1 = scrape();
        long rssWindowPeak = sampler.windowPeak();
        String heap = sampler.heapInfo();

        // 4. Job dispatch, paced (open loop) during continuing heartbeats.
        log("dispatching %d jobs at %.0f/s to random agents", jobs, jobRate);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, rnd);
        List<Future<Void>> posts = new ArrayList<>();
        ProcSampler.Cpu d0 = sampler.cpu();
        long dStart = System.nanoTime();
        for (int j = 0; j < jobs; j++) {
            long due = dStart + (long) (j * 1e9 / jobRate);
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            SimAgent a = agents.get(order.get(j % n));
            posts.add(requestBackup(a.host));
        }
        try {
            await(Future.join(posts), 120);
        } catch (java.util.concurrent.TimeoutException e) {
            log("%d of %d POST /api/v1/backups still unanswered after 120 s (reported as such)",
                    posts.stream().filter(f -> !f.isComplete()).count(), posts.size());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (dispatchNanos.size() < jobs && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        ProcSampler.Cpu d1 = sampler.cpu();
        long postFailures = posts.stream().filter(Future::failed).count();
        long postPending = posts.stream().filter(f -> !f.isComplete()).count();
        if (postFailures > 0) {
            log("%d POST /api/v1/backups failed, the first: %s", postFailures,
                    posts.stream().filter(Future::failed).findFirst().map(f -> String.valueOf(f.cause())).orElse(""));
        }
        Map<String, Double> m2 = scrape();
        long rssEnd = sampler.status("VmRSS");
        long hwm = sampler.status("VmHWM");
        String histogram = opts.containsKey("histogram") ? sampler.classHistogram(opt("histogram", "25").equals("true") ? 25 : Integer.parseInt(opt("histogram", "25"))) : "";
        String nmt = opts.containsKey("nmt") ? sampler.jcmd("VM.native_memory summary") : "";

        // 5. Stop the fleet.
        stopping = true;
        long s0 = System.nanoTime();
        List<Future<Void>> closes = new ArrayList<>();
        for (SimAgent a : agents) {
            closes.add(a.close());
        }
        await(Future.join(closes).otherwiseEmpty(), 120);
        log("fleet closed in %.1f s", (System.nanoTime() - s0) / 1e9);

        // 6. Report.
        double hbCount = m1.getOrDefault("holdfast_link_heartbeat_seconds_count", 0.0)
                - m0.getOrDefault("holdfast_link_heartbeat_seconds_count", 0.0);
        double hbSum = m1.getOrDefault("holdfast_link_heartbeat_seconds_sum", 0.0)
                - m0.getOrDefault("holdfast_link_heartbeat_seconds_sum", 0.0);
        long[] disp = dispatchNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        long[] post = postNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        long[] welc = welcomeNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        double cores = c1.controllerCores(c0);
        double busy = c1.machineCores(c0);

        StringBuilder r = new StringBuilder();
        r.append(String.format(Locale.ROOT, "%n== fleet simulation: %d agents, one controller (pid %d) ==%n", n, pid));
        row(r, "agents", Integer.toString(n));
        row(r, "enrolment of the fleet", String.format(Locale.ROOT, "%.1f s (%.0f agents/s, %d in flight)", enrolSeconds, n / enrolSeconds,
                enrolParallel));
        row(r, "connect (all welcomed)", String.format(Locale.ROOT, "%.1f s (%.0f agents/s, ramp %d at a time)", connectSeconds,
                n / connectSeconds, ramp));
        row(r, "Hello -> Welcome (client)", String.format(Locale.ROOT, "p50 %s  p99 %s  max %s", ms(pct(welc, 50)), ms(pct(welc, 99)),
                ms(welc.length == 0 ? 0 : welc[welc.length - 1])));
        row(r, "holdfast_agents_connected", String.format(Locale.ROOT, "%.0f", connectedGauge));
        row(r, "heartbeats in window", String.format(Locale.ROOT, "%.0f handled by the controller, %d sent (%.0f/s over %.0f s)", hbCount,
                hb1 - hb0, (hb1 - hb0) / windowWall, windowWall));
        row(r, "heartbeat handling", String.format(Locale.ROOT, "p50 %s  p99 %s  max %s  mean %s  (holdfast_link_heartbeat_seconds)",
                sec(m1.get("holdfast_link_heartbeat_seconds{quantile=\"0.5\"}")),
                sec(m1.get("holdfast_link_heartbeat_seconds{quantile=\"0.99\"}")), sec(m1.get("holdfast_link_heartbeat_seconds_max")),
                sec(hbCount > 0 ? hbSum / hbCount : null)));
        row(r, "dispatch POST -> JobRequest", String.format(Locale.ROOT, "p50 %s  p99 %s  max %s  (%d of %d received)", ms(pct(disp, 50)),
                ms(pct(disp, 99)), ms(disp.length == 0 ? 0 : disp[disp.length - 1]), disp.length, jobs));
        row(r, "POST /api/v1/backups answer", String.format(Locale.ROOT, "p50 %s  p99 %s  (%d failed, %d unanswered)", ms(pct(post, 50)),
                ms(pct(post, 99)), postFailures, postPending));
        row(r, "controller RSS", String.format(Locale.ROOT, "idle %s, after enrolment %s, all connected %s, window peak %s, end %s",
                mib(rssIdle), mib(rssAfterEnrol), mib(rssConnected), mib(rssWindowPeak), mib(rssEnd)));
        row(r, "controller peak RSS (VmHWM)", mib(hwm));
        row(r, "controller heap (jcmd)", heap);
        row(r, "controller CPU in window", String.format(Locale.ROOT, "%.3f cores (machine busy %.2f of %d cores)", cores, busy,
                Runtime.getRuntime().availableProcessors()));
        row(r, "controller CPU, dispatch", String.format(Locale.ROOT, "%.3f cores", d1.controllerCores(d0)));
        row(r, "links lost / hb write fails", linksLost.get() + " / " + heartbeatWriteFailures.get());
        row(r, "connected at the end", String.format(Locale.ROOT, "%.0f (holdfast_agents_connected before the fleet closed)",
                m2.getOrDefault("holdfast_agents_connected", Double.NaN)));
        System.out.print(r);
        if (!histogram.isEmpty()) {
            System.out.println("\ncontroller class histogram (top, jcmd GC.class_histogram) at the end:");
            System.out.println(histogram);
        }
        if (!nmt.isEmpty()) {
            System.out.println("\ncontroller native memory (jcmd VM.native_memory summary; needs -XX:NativeMemoryTracking=summary):");
            System.out.println(nmt.lines().filter(l -> l.startsWith("Total") || l.startsWith("-")
).reduce("", (a, b) -> a + b + "\n"));
        }
        System.out.flush();
    }

    private static void row(StringBuilder r, String k, String v) {
        r.append(String.format(Locale.ROOT, "  %-30s %s%n", k, v));
    }

    private static long pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
    }

    private static String sec(Double s) {
        if (s == null || s.isNaN()) {
            return "n/a";
        }
        return s < 0.001 ? String.format(Locale.ROOT, "%.1f us", s * 1e6) : String.format(Locale.ROOT, "%.2f ms", s * 1e3);
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    // ---------------------------------------------------------------------------------------------
    // API
    // ---------------------------------------------------------------------------------------------

    private Future<Buffer> call(HttpMethod method, String path, JsonObject body) {
        RequestOptions ro = new RequestOptions().setMethod(method).setHost(address.host()).setPort(address.port()).setURI(path)
                .putHeader("authorization", "Bearer " + adminToken);
        return api.request(ro).compose(req -> {
            if (body != null) {
                req.putHeader("content-type", "application/json");
            }
            return req.send(body == null ? Buffer.buffer() : body.toBuffer());
        }).compose(resp -> resp.body().compose(b -> resp.statusCode() / 100 == 2 ? Future.succeededFuture(b)
                : Future.failedFuture(method + " " + path + ": HTTP " + resp.statusCode() + " " + b)));
    }

    private Map<String, Double> scrape() throws Exception {
        String text = await(call(HttpMethod.GET, "/metrics", null), 60).toString(StandardCharsets.UTF_8);
        Map<String, Double> m = new LinkedHashMap<>();
        Matcher x = SAMPLE.matcher(text);
        while (x.find()) {
            String name = x.group(1);
            if (!name.startsWith("holdfast_agents") && !name.startsWith("holdfast_link") && !name.startsWith("holdfast_backups")) {
                continue;
            }
            try {
                m.put(name + (x.group(2) == null ? "" : x.group(2)), Double.parseDouble(x.group(3)));
            } catch (NumberFormatException e) {
                // not a sample
            }
        }
        return m;
    }

    private double waitConnected(int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        double v = -1;
        while (System.nanoTime() < deadline) {
            v = scrape().getOrDefault("holdfast_agents_connected", -1.0);
            if (v >= n) {
                return v;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("holdfast_agents_connected is " + v + ", not " + n + ", after " + seconds + " s");
    }

    private Future<Void> requestBackup(String host) {
        long t = System.nanoTime();
        dispatchStart.put(host, t);
        return call(HttpMethod.POST, "/api/v1/backups", new JsonObject().put("host", host).put("source", SOURCE).put("type", "full"))
                .onSuccess(b -> postNanos.add(System.nanoTime() - t)).mapEmpty();
    }

    // ---------------------------------------------------------------------------------------------
    // Enrolment
    // ---------------------------------------------------------------------------------------------

    private record Identity(String host, PrivateKey key, X509Certificate certificate, X509Certificate ca) {
    }

    private static String hostName(int i) {
        return String.format(Locale.ROOT, "sim-%05d", i);
    }

    private List<Identity> enrolAll(int parallel) throws Exception {
        Identity[] out = new Identity[n];
        // The first one alone: its token gives the CA pin for the shared enrolment client.
        String first = await(token(hostName(0)), 60);
        EnrolmentToken pinToken = EnrolmentToken.parse(first);
        LinkTls.CaPin pin = new LinkTls.CaPin(pinToken, Clock.systemUTC());
        GrpcClient enrolClient = GrpcClient.client(vertx, new GrpcClientOptions(), LinkTls.enrolmentClientOptions(pin));
        out[0] = await(enrolOne(enrolClient, hostName(0), first), 60);
        AtomicInteger next = new AtomicInteger(1);
        AtomicInteger done = new AtomicInteger(1);
        List<Future<Void>> workers = new ArrayList<>();
        for (int w = 0; w < parallel; w++) {
            Promise<Void> p = Promise.promise();
            workers.add(p.future());
            vertx.runOnContext(v -> enrolLoop(enrolClient, next, done, out, p));
        }
        await(Future.all(workers), 3600);
        await(enrolClient.close(), 30);
        return Arrays.asList(out);
    }

    private void enrolLoop(GrpcClient client, AtomicInteger next, AtomicInteger done, Identity[] out, Promise<Void> p) {
        int i = next.getAndIncrement();
        if (i >= n) {
            p.tryComplete();
            return;
        }
        String host = hostName(i);
        token(host).compose(t -> enrolOne(client, host, t)).onComplete(ar -> {
            if (ar.failed()) {
                p.tryFail(new IllegalStateException("enrolment of " + host + " failed: " + ar.cause(), ar.cause()));
                return;
            }
            out[i] = ar.result();
            int d = done.incrementAndGet();
            if (d % 1000 == 0) {
                log("enrolled %d of %d (controller RSS %s)", d, n, mib(sampler.status("VmRSS")));
            }
            enrolLoop(client, next, done, out, p);
        });
    }

    private Future<String> token(String host) {
        return call(HttpMethod.POST, "/api/v1/enrolment-tokens", new JsonObject().put("host", host))
                .map(b -> new JsonObject(b).getString("token"));
    }

    private Future<Identity> enrolOne(GrpcClient client, String host, String token) {
        EnrolmentToken parsed = EnrolmentToken.parse(token);
        return vertx.executeBlocking(() -> AgentIdentity.generateCsr(host, random), false).compose(pending -> {
            EnrollRequest req = EnrollRequest.newBuilder().setToken(parsed.value()).setHost(host)
                    .setCsrDer(ByteString.copyFrom(pending.csrDer())).build();
            return EnrolmentCalls.enroll(client, address, req).map(resp -> {
                try {
                    X509Certificate cert = Pem.certificate(resp.getCertificateDer().toByteArray());
                    X509Certificate ca = Pem.certificate(resp.getCaCertificateDer().toByteArray());
                    if (!parsed.pins(ca) || !cert.getPublicKey().equals(pending.keyPair().getPublic())) {
                        throw new IllegalStateException("the controller answered " + host + " with another CA or key");
                    }
                    return new Identity(host, pending.keyPair().getPrivate(), cert, ca);
                } catch (CertificateException e) {
                    throw new IllegalStateException(e);
                }
            });
        });
    }

    // ---------------------------------------------------------------------------------------------
    // A simulated agent
    // ---------------------------------------------------------------------------------------------

    private final class SimAgent {
        private final int index;
        private final String host;
        private final Identity id;
        private final Context ctx;
        private GrpcClient client;
        private GrpcClientRequest<AgentMessage, ControllerMessage> stream;
        private Promise<Long> welcome;
        private long connectStart;
        private long timer = -1;
        private final String systemId;

        SimAgent(int index, Identity id) {
            this.index = index;
            this.host = id.host();
            this.id = id;
            this.ctx = vertx.getOrCreateContext(); // from the main thread: the next event loop, round robin
            this.systemId = Long.toString(7_300_000_000_000_000_000L + index);
        }

        /** Opens the link; completes with the Hello -> Welcome time. */
        Future<Long> connect() {
            welcome = Promise.promise();
            ctx.runOnContext(v -> {
                connectStart = System.nanoTime();
                HttpClientOptions o = LinkTls.mutualClientOptions(id.key(), id.certificate(), id.ca()).setConnectTimeout(60_000)
                        .setIdleTimeout(0);
                client = GrpcClient.client(vertx, o);
                client.request(address, AgentLinkGrpcClient.Connect).compose(req -> {
                    stream = req;
                    req.exceptionHandler(t -> lost("stream failed: " + t));
                    return req.write(AgentMessage.newBuilder().setHello(hello()).build()).compose(x -> req.response());
                }).onSuccess(resp -> {
                    resp.handler(this::onMessage);
                    resp.exceptionHandler(t -> lost("response failed: " + t));
                    resp.endHandler(x -> lost("the controller ended the link: " + resp.status() + " " + resp.statusMessage()));
                }).onFailure(t -> welcome.tryFail(t));
            });
            return welcome.future();
        }

        private Hello hello() {
            return Hello.newBuilder().setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX).setHost(host)
                    .setAgentVersion("0.1.0-sim").addCapabilities("backup.postgres.full").addCapabilities("backup.postgres.incr")
                    .addSources(SourceInfo.newBuilder().setName(SOURCE).setType("postgres").setServerVersion("15.20")
                            .setSystemId(systemId).setWalMode("stream"))
                    .build();
        }

        private void onMessage(ControllerMessage m) {
            switch (m.getBodyCase()) {
                case WELCOME -> {
                    long period = Math.max(1, m.getWelcome().getHeartbeatIntervalSeconds()) * 1000L;
                    heartbeatPeriodMs = period;
                    welcomed.incrementAndGet();
                    welcome.tryComplete(System.nanoTime() - connectStart);
                    // Spread evenly: agent i beats at offset i*period/N within every period of the common epoch.
                    long slot = index * period / n;
                    long now = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - phaseEpochNanos) % period;
                    long delay = Math.floorMod(slot - now, period);
                    timer = vertx.setTimer(Math.max(1, delay), t -> {
                        heartbeat();
                        timer = vertx.setPeriodic(period, t2 -> heartbeat());
                    });
                }
                case JOB -> job(m.getJob());
                case ERROR -> log("%s: controller error %s: %s", host, m.getError().getCode(), m.getError().getMessage());
                default -> {
                }
            }
        }

        private void heartbeat() {
            GrpcClientRequest<AgentMessage, ControllerMessage> s = stream;
            if (s == null || stopping) {
                return;
            }
            long nowMs = System.currentTimeMillis();
            Heartbeat hb = Heartbeat.newBuilder().setSentAtMs(nowMs).addSources(SourceState.newBuilder().setName(SOURCE)
                    .setRpoSeconds(0.4 + rnd.nextInt(100) / 100.0).setLagSeconds(0.05).setLastDurableLsn("0/3A0001C8")
                    .setLastDurableAtMs(nowMs - 400).setState("streaming")).build();
            heartbeatsSent.incrementAndGet();
            s.write(AgentMessage.newBuilder().setHeartbeat(hb).build()).onFailure(t -> heartbeatWriteFailures.incrementAndGet());
        }

        private void job(JobRequest j) {
            long now = System.nanoTime();
            Long t0 = dispatchStart.remove(host);
            if (t0 != null) {
                dispatchNanos.add(now - t0);
            }
            long ms = System.currentTimeMillis();
            JobResult r = JobResult.newBuilder().setJobId(j.getJobId()).setOk(false).setSource(j.getSource()).setType(j.getType())
                    .setStartedAtMs(ms).setFinishedAtMs(ms)
                    .setError(ErrorReply.newBuilder().setCode("source_unavailable").setNumber(30).setJobId(j.getJobId())
                            .setMessage("simulated agent (bench/FleetSimulation): no backup taken"))
                    .build();
            GrpcClientRequest<AgentMessage, ControllerMessage> s = stream;
            if (s != null) {
                s.write(AgentMessage.newBuilder().setResult(r).build());
            }
        }

        private void lost(String why) {
            if (stream == null) {
                return;
            }
            stream = null;
            if (timer >= 0) {
                vertx.cancelTimer(timer);
            }
            if (welcome != null && welcome.tryFail(why)) {
                return;
            }
            if (!stopping) {
                int k = linksLost.incrementAndGet();
                if (k <= 5) {
                    log("%s: link lost: %s", host, why);
                }
            }
        }

        Future<Void> close() {
            Promise<Void> p = Promise.promise();
            ctx.runOnContext(v -> {
                if (timer >= 0) {
                    vertx.cancelTimer(timer);
                }
                GrpcClientRequest<AgentMessage, ControllerMessage> s = stream;
                stream = null;
                if (s != null) {
                    s.end();
                }
                (client == null ? Future.<Void>succeededFuture() : client.close()).onComplete(ar -> p.complete());
            });
            return p.future();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // /proc sampling of the controller
    // ---------------------------------------------------------------------------------------------

    /** Samples the controller's RSS every 250 ms (window peak), reads CPU times and runs jcmd. */
    private static final class ProcSampler {
        private final long pid;
        private final long ticksPerSecond;
        private volatile boolean running = true;
        private final AtomicLong windowPeak = new AtomicLong(-1);
        private Thread thread;

        record Cpu(long nanos, long controllerTicks, long machineBusyTicks, long ticksPerSecond) {
            double controllerCores(Cpu before) {
                return (controllerTicks - before.controllerTicks) / (double) ticksPerSecond / ((nanos - before.nanos) / 1e9);
            }

            double machineCores(Cpu before) {
                return (machineBusyTicks - before.machineBusyTicks) / (double) ticksPerSecond / ((nanos - before.nanos) / 1e9);
            }
        }

        ProcSampler(long pid) {
            this.pid = pid;
            this.ticksPerSecond = Long.parseLong(System.getProperty("clk.tck", "100"));
        }

        void start() {
            thread = new Thread(() -> {
                while (running) {
                    long v = status("VmRSS");
                    windowPeak.accumulateAndGet(v, Math::max);
                    try {
                        Thread.sleep(250);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "proc-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() {
            running = false;
        }

        void resetWindowPeak() {
            windowPeak.set(status("VmRSS"));
        }

        long windowPeak() {
            return windowPeak.get();
        }

        /** A /proc/PID/status field in bytes (-1 if unreadable). */
        long status(String field) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                    if (line.startsWith(field + ":")) {
                        String[] p = line.substring(field.length() + 1).trim().split("\\s+");
                        return Long.parseLong(p[0]) * 1024;
                    }
                }
            } catch (IOException | RuntimeException e) {
                return -1;
            }
            return -1;
        }

        Cpu cpu() {
            long proc = 0;
            long busy = 0;
            try {
                String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
                String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
                proc = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
                String cpu = Files.readAllLines(Path.of("/proc/stat")).get(0);
                String[] c = cpu.trim().split("\\s+");
                for (int i = 1; i < c.length && i <= 8; i++) {
                    if (i != 4 && i != 5) { // idle, iowait
                        busy += Long.parseLong(c[i]);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // left at 0
            }
            return new Cpu(System.nanoTime(), proc, busy, ticksPerSecond);
        }

        String heapInfo() {
            String out = jcmd("GC.heap_info");
            // G1: " garbage-first heap   total 786432K, used 301234K [...]"; Serial/Parallel similar.
            Matcher m = Pattern.compile("heap\\s+total (\\d+)K, used (\\d+)K").matcher(out);
            if (m.find()) {
                return String.format(Locale.ROOT, "used %.0f MiB of %.0f MiB committed (GC.heap_info)", Long.parseLong(m.group(2)) / 1024.0,
                        Long.parseLong(m.group(1)) / 1024.0);
            }
            return out.isBlank() ? "n/a" : out.lines().limit(3).reduce("", (a, b) -> a + " " + b.trim()).trim();
        }

        String classHistogram(int top) {
            return jcmd("GC.class_histogram").lines().limit(top + 3L).reduce("", (a, b) -> a + b + "\n");
        }

        String jcmd(String command) {
            try {
                List<String> cmd = new ArrayList<>(List.of("jcmd", Long.toString(pid)));
                cmd.addAll(Arrays.asList(command.split(" ")));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out;
                try (InputStream in = p.getInputStream()) {
                    out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                p.waitFor(60, TimeUnit.SECONDS);
                return out;
            } catch (IOException | InterruptedException e) {
                return "";
            }
        }
    }
}
