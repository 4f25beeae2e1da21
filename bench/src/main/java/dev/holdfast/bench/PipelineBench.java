package dev.holdfast.bench;

import com.github.luben.zstd.util.ZstdVersion;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.GcmWarmUp;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * Pipeline throughput benchmark (bench/README.md): MB/s of plaintext through the sealed pipeline
 * core, next to raw zstd at the same level and AES-GCM alone, on 1 and 2 threads, printed with
 * ratios; and, when the agent's pipeline can be set up, end to end through it. A hand-rolled
 * harness: GCM warm-up, warm-up sweeps, then interleaved measured rounds (every configuration once
 * per round; the lines of one ratio back to back) and medians. Ratios are medians of per-round
 * ratios, so drift on a shared machine cancels. Prints; never asserts a timing; exits 0.
 *
 * <pre>
 * PipelineBench --corpus DIR [--threads 1,2] [--levels 3,1] [--rounds 9] [--warmup-seconds 20]
 *               [--quiet-threshold 0.25] [--retries 3] [--retry-seconds 300] [--breakdown true]
 *               [--lines gcm,sealed,e2e] [--end-to-end auto|on|off] [--e2e-dir /dev/shm]
 *               [--e2e-in-flight N] [--gc-between-passes true]
 * </pre>
 */
public final class PipelineBench {
    static final int SEGMENT = 1 << 20;
    static final double TARGET = 0.90;
    static boolean GC_BETWEEN_PASSES = true;

    private PipelineBench() {
    }

    /** One measured pass. */
    record Pass(long nanos, long cpuNanos, long outBytes, long systemBusyNanos) {
        /** Cores' worth of CPU used by everything else on the machine during the pass (approximate). */
        double others() {
            return systemBusyNanos < 0 ? Double.NaN : Math.max(0, (double) (systemBusyNanos - cpuNanos) / nanos);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = parse(args);
        Path corpusDir = Path.of(opt.getOrDefault("corpus", "bench/target/corpus"));
        int[] threads = ints(opt.getOrDefault("threads", "1,2"));
        int[] levels = ints(opt.getOrDefault("levels", "3,1"));
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "9"));
        double warmupSeconds = Double.parseDouble(opt.getOrDefault("warmup-seconds", "20"));
        String e2eMode = opt.getOrDefault("end-to-end", "auto");
        int e2eInFlight = Integer.parseInt(opt.getOrDefault("e2e-in-flight", "0"));
        boolean breakdown = Boolean.parseBoolean(opt.getOrDefault("breakdown", "false"));
        GC_BETWEEN_PASSES = Boolean.parseBoolean(opt.getOrDefault("gc-between-passes", "true"));
        // Which lines besides raw zstd (always measured: the ratios' reference).
        List<String> only = Arrays.asList(opt.getOrDefault("lines", "gcm,sealed,e2e").split(","));
        double quietThreshold = Double.parseDouble(opt.getOrDefault("quiet-threshold", "0.25"));
        int retries = Integer.parseInt(opt.getOrDefault("retries", "3"));
        double retrySeconds = Double.parseDouble(opt.getOrDefault("retry-seconds", "300"));
        int rerun = 0;
        int disturbed = 0;
        Path e2eDir = Path.of(opt.getOrDefault("e2e-dir", Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir")));

        String loadBefore = loadAverage();
        System.out.println("Holdfast pipeline throughput benchmark");
        System.out.println("machine: " + machine());
        System.out.printf(Locale.ROOT, "load average at start: %s%n", loadBefore);

        long t0 = System.nanoTime();
        Corpus corpus = Corpus.load(corpusDir, SEGMENT);
        System.out.printf(Locale.ROOT, "corpus: %s, %.1f MB in %d segments of 1 MiB (loaded in %.1f s)%n", corpus.dir(),
                corpus.bytes() / 1e6, corpus.size(), (System.nanoTime() - t0) / 1e9);
        for (Map.Entry<String, long[]> e : corpus.compressibility(3).entrySet()) {
            long[] a = e.getValue();
            System.out.printf(Locale.ROOT, "  %-6s %7.1f MB (%4.1f %%), zstd-3 ratio %5.2f, %d of %d segments not shrunk (sealed raw)  [%s]%n",
                    e.getKey() + "/", a[0] / 1e6, 100.0 * a[0] / corpus.bytes(), (double) a[0] / a[1], a[2], a[3], describePart(e.getKey()));
        }

        // AES-GCM at JIT-compiled speed before anything is measured (docs/format.md section 10).
        t0 = System.nanoTime();
        GcmWarmUp.run();
        System.out.printf(Locale.ROOT, "GcmWarmUp.run(): %.1f s%n", (System.nanoTime() - t0) / 1e9);

        SecureRandom random = new SecureRandom();
        DataKey dataKey = DataKey.generate(1, random);
        byte[] repositoryId = new byte[16];
        random.nextBytes(repositoryId);

        List<Workload> lines = new ArrayList<>();
        for (int level : levels) {
            lines.add(new Workloads.RawZstd(corpus, level));
        }
        if (only.contains("gcm")) {
            lines.add(new Workloads.GcmAlone(corpus, random));
        }
        for (int level : levels) {
            if (breakdown) {
                lines.add(new Workloads.Sealed(corpus, level, false, false, dataKey, repositoryId, random));
            }
            if (only.contains("sealed")) {
                lines.add(new Workloads.Sealed(corpus, level, true, false, dataKey, repositoryId, random));
                lines.add(new Workloads.Sealed(corpus, level, true, true, dataKey, repositoryId, random));
            }
        }

        List<Config> configs = new ArrayList<>();
        Map<Integer, ExecutorService> pools = new LinkedHashMap<>();
        for (int n : threads) {
            AtomicInteger id = new AtomicInteger();
            pools.put(n, Executors.newFixedThreadPool(n, r -> {
                Thread t = new Thread(r, "bench-" + n + "t-" + id.incrementAndGet());
                t.setDaemon(true);
                return t;
            }));
            for (Workload w : lines) {
                configs.add(new Config(n, w));
            }
        }

        EndToEnd.Env env = null;
        String e2eNote = null;
        if (!e2eMode.equals("off") && only.contains("e2e")) {
            try {
                t0 = System.nanoTime();
                env = new EndToEnd.Env(corpus, e2eDir, dataKey, repositoryId, e2eInFlight);
                for (int n : threads) {
                    for (int level : levels) {
                        configs.add(new Config(n, new EndToEnd(env, n, level, false)));
                        configs.add(new Config(n, new EndToEnd(env, n, level, true)));
                    }
                }
                System.out.printf(Locale.ROOT, "end to end: source file and FsObjectStore in %s (set up in %.1f s), %s%n", env.dir,
                        (System.nanoTime() - t0) / 1e9, e2eInFlight == 0
                                ? "UploadOptions defaults besides threads, level and SHA-256"
                                : "segments in flight " + e2eInFlight);
            } catch (RuntimeException | LinkageError e) {
                // The agent's pipeline is being written by someone else: report, do not fail.
                e2eNote = "end to end through the Vert.x pipeline: not measured (" + e + ")";
                configs.removeIf(c -> c.w instanceof EndToEnd);
                if (env != null) {
                    env.close();
                    env = null;
                }
                if (e2eMode.equals("on")) {
                    throw e;
                }
                System.out.println(e2eNote);
            }
        }

        long pass = 0;
        RuntimeException e2eFailure = null;
        try {
            // Warm-up: whole sweeps over every configuration until the time is spent (at least two
            // sweeps), so that every code path, buffer size and thread is compiled and warm.
            t0 = System.nanoTime();
            int sweeps = 0;
            while (sweeps < 2 || (System.nanoTime() - t0) / 1e9 < warmupSeconds) {
                for (Config c : configs) {
                    if (skip(c, e2eFailure)) {
                        continue;
                    }
                    try {
                        run(c, pools, ++pass, corpus.size());
                    } catch (RuntimeException e) {
                        e2eFailure = e2eFailed(c, e);
                    }
                }
                sweeps++;
            }
            System.out.printf(Locale.ROOT, "warm-up: %d sweeps over %d configurations, %.1f s%n", sweeps, configs.size(),
                    (System.nanoTime() - t0) / 1e9);

            // Measurement: every configuration once per round. The lines compared with each other
            // (raw zstd, sealed, end to end at one level and thread count) run back to back, in
            // forward order on even rounds and reverse order on odd ones, and the groups' order
            // rotates, so a burst of outside load hits both sides of a ratio alike.
            // A group whose passes saw other processes use more than --quiet-threshold cores (this
            // is a shared 2-core machine) is run again, up to --retries times, then kept as is.
            List<List<Config>> groups = groups(configs);
            t0 = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                List<List<Config>> order = new ArrayList<>(groups);
                Collections.rotate(order, -r);
                for (List<Config> g : order) {
                    List<Config> inGroup = new ArrayList<>(g);
                    if (r % 2 == 1) {
                        Collections.reverse(inGroup);
                    }
                    for (int attempt = 0; ; attempt++) {
                        List<Pass> got = new ArrayList<>();
                        double worst = 0;
                        for (Config c : inGroup) {
                            Pass p = null;
                            if (!skip(c, e2eFailure)) {
                                try {
                                    p = run(c, pools, ++pass, corpus.size());
                                    worst = Math.max(worst, Double.isNaN(p.others()) ? 0 : p.others());
                                } catch (RuntimeException e) {
                                    e2eFailure = e2eFailed(c, e);
                                }
                            }
                            got.add(p);
                        }
                        boolean quiet = worst <= quietThreshold;
                        boolean outOfTime = (System.nanoTime() - t0) / 1e9 > retrySeconds;
                        if (quiet || attempt >= retries || outOfTime) {
                            for (int i = 0; i < inGroup.size(); i++) {
                                if (got.get(i) != null) {
                                    inGroup.get(i).passes.add(got.get(i));
                                }
                            }
                            if (!quiet) {
                                disturbed++;
                            }
                            break;
                        }
                        rerun++;
                        Thread.sleep(500);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "measured: %d rounds, %.1f s; %d group runs repeated for outside load (> %.2f cores), "
                    + "%d kept though disturbed; load average at end: %s%n", rounds, (System.nanoTime() - t0) / 1e9, rerun,
                    quietThreshold, disturbed, loadAverage());
        } finally {
            for (ExecutorService p : pools.values()) {
                p.shutdownNow();
            }
            if (env != null) {
                env.close();
            }
        }

        if (e2eFailure != null) {
            // Reported, not fatal: the agent's pipeline is someone else's work in progress.
            configs.removeIf(c -> c.w instanceof EndToEnd);
            e2eNote = "end to end through the Vert.x pipeline: dropped after a failure (" + e2eFailure + ")";
            if (e2eMode.equals("on")) {
                throw e2eFailure;
            }
        }
        report(corpus, configs, threads, levels, rounds, e2eNote);
        int groupRuns = rounds * groups(configs).size();
        if (disturbed > 0) {
            System.out.printf(Locale.ROOT, "NOTE: %d of %d group runs were kept although other processes used more than %.2f cores "
                    + "meanwhile (after %d re-runs): figures are noisier than on a quiet machine.%n", disturbed, groupRuns,
                    quietThreshold, rerun);
        }
    }

    static boolean skip(Config c, RuntimeException e2eFailure) {
        return e2eFailure != null && c.w instanceof EndToEnd;
    }

    /** An end-to-end failure is recorded (the lines are dropped); any other failure is fatal. */
    static RuntimeException e2eFailed(Config c, RuntimeException e) {
        if (!(c.w instanceof EndToEnd)) {
            throw e;
        }
        System.out.println("end to end failed, dropping its lines: " + e);
        return e;
    }

    /** One line at one thread count, with its measured passes. */
    static final class Config {
        final int threads;
        final Workload w;
        final List<Pass> passes = new ArrayList<>();

        Config(int threads, Workload w) {
            this.threads = threads;
            this.w = w;
        }

        double mbps(int round, long bytes) {
            return bytes / (passes.get(round).nanos() / 1e9) / 1e6;
        }
    }

    static Pass run(Config c, Map<Integer, ExecutorService> pools, long pass, int n) throws InterruptedException {
        Workload w = c.w;
        if (GC_BETWEEN_PASSES) {
            // Untimed: start every pass from a collected heap, so that no pass pays for the garbage
            // (or the concurrent G1 cycle) of the one before it; the end-to-end lines make far more.
            System.gc();
        }
        long sys0 = systemBusyNanos();
        long cpu0 = processCpuNanos();
        long t0 = System.nanoTime();
        long out;
        if (w.selfDriven()) {
            out = w.runPass(pass);
        } else {
            ExecutorService pool = pools.get(c.threads);
            w.begin(pass);
            AtomicInteger next = new AtomicInteger();
            List<Future<Long>> fs = new ArrayList<>(c.threads);
            for (int t = 0; t < c.threads; t++) {
                fs.add(pool.submit(() -> {
                    long o = 0;
                    try {
                        int i;
                        while ((i = next.getAndIncrement()) < n) {
                            o += w.process(i);
                        }
                    } catch (Throwable e) {
                        next.set(Integer.MAX_VALUE / 2);
                        throw e;
                    }
                    return o;
                }));
            }
            out = 0;
            for (Future<Long> f : fs) {
                try {
                    out += f.get();
                } catch (ExecutionException e) {
                    throw new IllegalStateException(w.label() + " on " + c.threads + " threads failed", e.getCause());
                }
            }
            out += w.end();
        }
        long t1 = System.nanoTime();
        long cpu1 = processCpuNanos();
        long sys1 = systemBusyNanos();
        w.afterPass();
        return new Pass(t1 - t0, cpu1 - cpu0, out, sys0 < 0 || sys1 < 0 ? -1 : sys1 - sys0);
    }

    static void report(Corpus corpus, List<Config> configs, int[] threads, int[] levels, int rounds, String e2eNote) {
        long bytes = corpus.bytes();
        System.out.println();
        System.out.printf(Locale.ROOT, "MB/s = 10^6 bytes of plaintext per second of wall time; median of %d rounds (min-max).%n", rounds);
        System.out.println("cores = this process's CPU time / wall time (all its threads: workers, GC, JIT); others = CPU used by the rest");
        System.out.println("of the machine meanwhile, in cores (from /proc/stat, coarse). out = bytes produced / plaintext bytes.");
        System.out.println("vs raw = median over rounds of (this line / raw zstd at the same level and threads, same round).");
        System.out.println();
        String fmt = "%-7s  %-34s %8s  %-15s %5s  %6s  %6s  %7s%n";
        System.out.printf(Locale.ROOT, fmt, "threads", "configuration", "MB/s", "(min-max)", "cores", "others", "out", "vs raw");
        List<String> verdicts = new ArrayList<>();
        for (int n : threads) {
            List<Config> rows = configs.stream().filter(c -> c.threads == n)
                    .sorted(java.util.Comparator.<Config>comparingInt(c -> levelIndex(levels, c.w.level()))
                            .thenComparing(c -> c.w.kind()))
                    .collect(Collectors.toList());
            for (Config c : rows) {
                double[] mb = new double[rounds];
                double[] cores = new double[rounds];
                double[] others = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    mb[r] = c.mbps(r, bytes);
                    cores[r] = (double) c.passes.get(r).cpuNanos() / c.passes.get(r).nanos();
                    others[r] = c.passes.get(r).others();
                }
                double out = (double) c.passes.get(0).outBytes() / bytes;
                String vs = "";
                Workload.Kind k = c.w.kind();
                Config raw = k == Workload.Kind.RAW_ZSTD || k == Workload.Kind.GCM ? null : find(configs, n, Workload.Kind.RAW_ZSTD, c.w.level());
                if (raw != null) {
                    double[] ratio = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        ratio[r] = c.mbps(r, bytes) / raw.mbps(r, bytes);
                    }
                    double m = median(ratio);
                    vs = String.format(Locale.ROOT, "%.3f", m);
                    String what = String.format(Locale.ROOT, "  %d thread%s, zstd-%d: %-36s / raw zstd = %.3f (rounds %.2f-%.2f)",
                            n, n == 1 ? " " : "s", c.w.level(), c.w.label().replaceFirst(" zstd-\\d+", ""), m, min(ratio), max(ratio));
                    if (k == Workload.Kind.SEALED_CRC || k == Workload.Kind.END_TO_END_CRC
                            || k == Workload.Kind.SEALED_SHA || k == Workload.Kind.END_TO_END_SHA) {
                        verdicts.add(what + (m >= TARGET ? "  meets >= 0.90" : "  BELOW 0.90"));
                    }
                }
                System.out.printf(Locale.ROOT, fmt, n, c.w.label(), String.format(Locale.ROOT, "%.0f", median(mb)),
                        String.format(Locale.ROOT, "(%.0f-%.0f)", min(mb), max(mb)), String.format(Locale.ROOT, "%.2f", median(cores)),
                        String.format(Locale.ROOT, "%.2f", median(others)), String.format(Locale.ROOT, "%.3f", out), vs);
            }
            System.out.println();
        }
        for (int level : levels) {
            Config raw = find(configs, threads[0], Workload.Kind.RAW_ZSTD, level);
            if (raw != null) {
                System.out.printf(Locale.ROOT, "compression ratio of the corpus at zstd-%d (1 MiB frames): %.2f (plaintext / zstd output)%n",
                        level, (double) bytes / raw.passes.get(0).outBytes());
            }
        }
        if (threads.length > 1) {
            for (Config c : configs) {
                if (c.threads == threads[0]) {
                    Config other = find(configs, threads[threads.length - 1], c.w.kind(), c.w.level());
                    if (other != null) {
                        double[] s = new double[rounds];
                        for (int r = 0; r < rounds; r++) {
                            s[r] = other.mbps(r, bytes) / c.mbps(r, bytes);
                        }
                        System.out.printf(Locale.ROOT, "scaling %d -> %d threads, %-34s x%.2f%n", threads[0], threads[threads.length - 1],
                                c.w.label() + ":", median(s));
                    }
                }
            }
        }
        System.out.println();
        System.out.println("Target: the sealed pipeline reaches >= 90 % of raw zstd's throughput at the same level and thread count.");
        System.out.println("(CRC32C is always on; SHA-256 is optional per object, and on by default in the agent's UploadOptions.)");
        for (String v : verdicts) {
            System.out.println(v);
        }
        Config gcm = find(configs, threads[0], Workload.Kind.GCM, 0);
        if (gcm != null) {
            double[] mb = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                mb[r] = gcm.mbps(r, bytes);
            }
            if (min(mb) < 500) {
                System.out.printf(Locale.ROOT, "WARNING: AES-GCM alone ran at %.0f MB/s in its slowest round: the JDK's GCM looks cold "
                        + "(JIT not done); the sealed figures are then not trustworthy.%n", min(mb));
            }
        }
        if (e2eNote != null) {
            System.out.println(e2eNote);
        }
    }

    static int levelIndex(int[] levels, int level) {
        for (int i = 0; i < levels.length; i++) {
            if (levels[i] == level) {
                return i;
            }
        }
        return levels.length;
    }

    /** Configurations grouped by (threads, level): each group holds the lines compared in a ratio. */
    static List<List<Config>> groups(List<Config> configs) {
        Map<String, List<Config>> g = new LinkedHashMap<>();
        for (Config c : configs) {
            g.computeIfAbsent(c.threads + "/" + c.w.level(), k -> new ArrayList<>()).add(c);
        }
        return new ArrayList<>(g.values());
    }

    static Config find(List<Config> configs, int threads, Workload.Kind kind, int level) {
        for (Config c : configs) {
            if (c.threads == threads && c.w.kind() == kind && c.w.level() == level) {
                return c;
            }
        }
        return null;
    }

    static String describePart(String part) {
        switch (part) {
            case "pg":
                return "PostgreSQL heap and index files after pgbench -i";
            case "other":
                return "less compressible: gzip output and raw executables";
            default:
                return "other files";
        }
    }

    static String machine() {
        StringBuilder b = new StringBuilder();
        b.append(Runtime.getRuntime().availableProcessors()).append(" cores");
        String model = null;
        String flags = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (model == null && line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                } else if (flags == null && line.startsWith("flags")) {
                    List<String> have = Arrays.asList(line.substring(line.indexOf(':') + 1).trim().split("\\s+"));
                    flags = List.of("aes", "pclmulqdq", "vaes", "vpclmulqdq", "avx2", "avx512f", "sha_ni").stream()
                            .filter(have::contains).collect(Collectors.joining(" "));
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: leave it out
        }
        if (model != null) {
            b.append(" (").append(model).append(flags == null ? "" : "; " + flags).append(')');
        }
        b.append(", ").append(System.getProperty("java.vm.name")).append(' ').append(System.getProperty("java.vm.version"))
                .append(", max heap ").append(Runtime.getRuntime().maxMemory() >> 20).append(" MiB")
                .append(", GC ").append(ManagementFactory.getGarbageCollectorMXBeans().stream().map(g -> g.getName())
                        .collect(Collectors.joining("/")))
                .append(", ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.arch"))
                .append(", zstd ").append(ZstdVersion.VERSION);
        return b.toString();
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        }
        return 0;
    }

    /** Busy CPU time of the whole machine from /proc/stat (all but idle and iowait), or -1. */
    static long systemBusyNanos() {
        try (java.io.BufferedReader r = Files.newBufferedReader(Path.of("/proc/stat"))) {
            String[] f = r.readLine().trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                if (i != 4 && i != 5) {
                    busy += Long.parseLong(f[i]);
                }
            }
            return busy * (1_000_000_000L / USER_HZ);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The kernel's USER_HZ: 100 on every mainstream Linux. */
    private static final long USER_HZ = 100;

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + a);
            }
            String k = a.substring(2);
            int eq = k.indexOf('=');
            if (eq >= 0) {
                m.put(k.substring(0, eq), k.substring(eq + 1));
            } else if (i + 1 < args.length) {
                m.put(k, args[++i]);
            } else {
                throw new IllegalArgumentException("missing value for " + a);
            }
        }
        return m;
    }
}
