package dev.holdfast.cli.controller;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Version;
import dev.holdfast.cli.systemd.Readiness;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.schedule.CronExpression;
import dev.holdfast.controller.server.ControllerServer;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast controller run}: the controller in the foreground, until SIGTERM or SIGINT.
 * Start-up failures exit with their status (an invalid configuration 3, naming the file and the
 * key); a signal stops it (links ended, live state flushed, catalog closed) and exits 0, or 1 when
 * the stop takes longer than {@code --shutdown-timeout}.
 */
@Command(name = "run", mixinStandardHelpOptions = true, description = {
        "Run the controller in the foreground (systemd runs this): open the catalog, create or load its CA in data_dir,",
        "make sure the bootstrap admin token exists, and serve the HTTP API, GET /metrics and the agent link (gRPC) on",
        "one HTTPS listener (listen:). The configuration is validated first; nothing starts half-configured.",
        "",
        "SIGTERM or SIGINT ends every agent link (agents keep shipping WAL and reconnect), flushes the live state and",
        "exits 0. See docs/controller.md."})
public final class ControllerRunCommand implements Callable<Integer> {
    /** Default configuration file. */
    public static final Path DEFAULT_CONFIG = Path.of("/etc/holdfast/controller.yaml");
    /**
     * Test hook: a file holding a number of seconds added to the system clock (re-read when it
     * changes), so that process tests can move the controller's time to a scheduled slot.
     */
    static final String CLOCK_OFFSET_ENV = "HOLDFAST_TEST_CLOCK_OFFSET_FILE";

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (default: $HOLDFAST_CONTROLLER_CONFIG, then /etc/holdfast/controller.yaml).")
    Path config;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info", description = "error, warn, info or debug (default ${DEFAULT-VALUE}).")
    String logLevel;

    @Option(names = "--shutdown-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "How long SIGTERM waits for the controller to stop (default ${DEFAULT-VALUE}).")
    int shutdownTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (shutdownTimeoutSeconds < 1 || shutdownTimeoutSeconds > 3600) {
            throw new HoldfastException(ErrorCode.USAGE, "--shutdown-timeout must be 1 to 3600 seconds");
        }
        LogLevel level;
        try {
            level = LogLevel.valueOf(logLevel.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new HoldfastException(ErrorCode.USAGE, "--log-level must be error, warn, info or debug, not '" + logLevel + "'");
        }
        ControllerConfig cfg = ControllerConfig.load(configFile(), CronExpression::parse);
        Clock clock = clock();
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        EventLog log = new EventLog(out, clock, level, EventLog.journalDetected());
        ControllerServer server = new ControllerServer(cfg, clock, Ambient.random(), log, Version.version());
        try {
            server.start().toCompletionStage().toCompletableFuture().get();
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e);
            throw h != null ? h : new HoldfastException(ErrorCode.INTERNAL, "the controller failed to start: " + e.getCause(), e.getCause());
        }
        Duration timeout = Duration.ofSeconds(shutdownTimeoutSeconds);
        // Type=notify: "ready" only now that the catalog is open and the listener is bound.
        Readiness readiness = Readiness.fromEnvironment(log);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("signal_received", "msg", "stopping (at most " + timeout.toSeconds() + " s)");
            readiness.stopping("stopping");
            int status = 0;
            try {
                server.stop().toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                status = 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                status = 1;
            }
            out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(status);
        }, "holdfast-shutdown"));
        readiness.ready("controller listening");
        new CountDownLatch(1).await();
        return 0;
    }

    private Path configFile() {
        if (config != null) {
            return config;
        }
        String env = System.getenv("HOLDFAST_CONTROLLER_CONFIG");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        if (Files.exists(DEFAULT_CONFIG)) {
            return DEFAULT_CONFIG;
        }
        throw new HoldfastException(ErrorCode.CONFIG_INVALID, "no configuration: pass --config FILE or set HOLDFAST_CONTROLLER_CONFIG ("
                + DEFAULT_CONFIG + " does not exist)");
    }

    private static Clock clock() {
        String file = System.getenv(CLOCK_OFFSET_ENV);
        return file == null || file.isBlank() ? Ambient.clock() : new OffsetFileClock(Ambient.clock(), Path.of(file));
    }
}
