package dev.holdfast.cli.agent;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.daemon.AgentDaemon;
import dev.holdfast.agent.daemon.AgentSources;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Version;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.systemd.Readiness;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast agent run}: the agent daemon in the foreground, until SIGTERM or SIGINT.
 *
 * <p>Start-up failures (an invalid configuration, a repository that does not open, a source that
 * does not start) stop whatever had started and exit with the failure's status, printing one line
 * {@code holdfast: <code>: <message>} on standard error. A signal runs {@link AgentDaemon#stop()}
 * from a shutdown hook and waits for it up to {@code --shutdown-timeout}; the process then exits 0,
 * or 1 when the stop did not finish in time (systemd then records a failure).
 */
@Command(name = "run", mixinStandardHelpOptions = true, description = {
        "Run the agent daemon in the foreground (systemd runs this): open the repository, listen on the control socket",
        "and the metrics address, and start every configured source. Nothing starts half-configured: an invalid",
        "configuration or a source that cannot start stops everything and exits with its status (docs/errors.md).",
        "",
        "SIGTERM or SIGINT (Ctrl-C) stops the sources (nothing not yet durable in the repository is acknowledged to",
        "PostgreSQL), closes the control socket (removing its file) and exits 0; if stopping takes longer than",
        "--shutdown-timeout it exits 1.",
        "",
        "Logs: one event per line (logfmt) on standard output; under systemd (JOURNAL_STREAM set) each line carries",
        "its syslog priority for the journal instead of a timestamp. Third-party libraries log warnings on standard",
        "error. See docs/operations.md."})
public final class AgentRunCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (default: $HOLDFAST_CONFIG, then /etc/holdfast/agent.yaml).")
    Path config;

    @Option(names = "--shutdown-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "How long SIGTERM waits for the sources and servers to stop (default ${DEFAULT-VALUE}).")
    int shutdownTimeoutSeconds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (shutdownTimeoutSeconds < 1 || shutdownTimeoutSeconds > 3600) {
            throw new HoldfastException(ErrorCode.USAGE, "--shutdown-timeout must be 1 to 3600 seconds");
        }
        AgentConfig cfg = AgentConfig.load(configFile());
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        EventLog log = new EventLog(out, Ambient.clock(), cfg.logLevel(), EventLog.journalDetected());
        AgentDaemon daemon = new AgentDaemon(cfg, AgentSources.defaults(), Ambient.clock(), Ambient.random(), log, Version.version());
        try {
            daemon.start().toCompletionStage().toCompletableFuture().get();
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e);
            throw h != null ? h : new HoldfastException(ErrorCode.INTERNAL, "the agent failed to start: " + e.getCause(), e.getCause());
        }
        Duration timeout = Duration.ofSeconds(shutdownTimeoutSeconds);
        CountDownLatch forever = new CountDownLatch(1);
        // Type=notify: "ready" only now that the configuration is valid, the control socket and
        // metrics listener are bound and every source has started.
        Readiness readiness = Readiness.fromEnvironment(log);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("signal_received", "msg", "stopping (at most " + timeout.toSeconds() + " s)");
            readiness.stopping("stopping");
            int status = 0;
            try {
                daemon.stop().toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                log.error("stop_timed_out", "timeout_seconds", timeout.toSeconds(), "msg", "the agent did not stop in time; exiting anyway");
                status = 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                status = 1;
            } catch (ExecutionException e) {
                status = 1;
            }
            out.flush();
            System.err.flush();
            // The JVM would exit with 128 + the signal's number; a clean stop is a success (0).
            Runtime.getRuntime().halt(status);
        }, "holdfast-shutdown"));
        readiness.ready("agent running");
        forever.await();
        return 0;
    }

    private Path configFile() {
        return RepositoryOptions.resolveConfig(config).orElseThrow(() -> new HoldfastException(ErrorCode.CONFIG_INVALID,
                "no configuration: pass --config FILE or set HOLDFAST_CONFIG (" + RepositoryOptions.DEFAULT_CONFIG + " does not exist)"));
    }
}
