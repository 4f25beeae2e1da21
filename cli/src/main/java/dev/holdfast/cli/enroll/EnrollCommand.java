package dev.holdfast.cli.enroll;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.link.AgentIdentity;
import dev.holdfast.agent.link.Enroller;
import dev.holdfast.agent.link.LinkTls;
import dev.holdfast.agent.link.Pem;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast enroll --controller URL --token TOKEN}: enrols this host with a controller. The
 * key pair is generated here and never leaves the host; the controller is trusted only if its
 * TLS chain holds the CA whose fingerprint the token carries (docs/controller.md, "Enrolment and
 * trust"). The host name and identity directory come from the agent configuration (its
 * {@code host} and {@code controller.identity_dir}) unless given on the command line. Exit
 * status: 64 ({@code enrolment_refused}) for a refused or mismatching token, 65
 * ({@code controller_unavailable}) when the controller cannot be reached.
 */
@Command(name = "enroll", mixinStandardHelpOptions = true, description = {
        "Enrol this host with a controller: generate the agent's key here, send a certificate request with the one-time token,",
        "pin the controller's CA (its fingerprint is part of the token) and store the identity (key, certificate, CA).",
        "JSON keys (--json): host, serial, not_after, ca_fingerprint, identity_dir, controller."})
public final class EnrollCommand implements Callable<Integer> {
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

    @Option(names = "--controller", required = true, paramLabel = "URL", description = "The controller, https://HOST:PORT.")
    String controller;

    @Option(names = "--token", required = true, paramLabel = "TOKEN", description = "The one-time enrolment token (POST /api/v1/enrolment-tokens).")
    String token;

    @Option(names = "--config", paramLabel = "FILE", description = "Agent configuration (default: $HOLDFAST_CONFIG, then /etc/holdfast/agent.yaml, if it exists).")
    Path config;

    @Option(names = "--host", paramLabel = "NAME", description = "Enrol as this host (default: the configuration's host, else this machine's name).")
    String host;

    @Option(names = "--identity-dir", paramLabel = "DIR", description = "Where to keep the identity (default: the configuration's controller.identity_dir, else "
            + AgentConfig.ControllerConfig.DEFAULT_IDENTITY_DIR + ").")
    Path identityDir;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Optional<AgentConfig> agent = RepositoryOptions.resolveConfig(config).map(AgentConfig::load);
        String name = host != null ? host : agent.map(AgentConfig::host).orElseGet(AgentConfig::localHostName);
        if (!HOST.matcher(name).matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "--host must be a host name of letters, digits, '.', '-' and '_', found '" + name + "'");
        }
        Path dir = identityDir != null ? identityDir
                : agent.flatMap(AgentConfig::controller).map(AgentConfig.ControllerConfig::identityDir)
                        .orElse(Path.of(AgentConfig.ControllerConfig.DEFAULT_IDENTITY_DIR));
        URI url;
        try {
            url = new URI(controller);
        } catch (URISyntaxException e) {
            throw new HoldfastException(ErrorCode.USAGE, "--controller must be https://HOST[:PORT], found " + controller);
        }
        LinkTls.address(url);
        Vertx vertx = Vertx.vertx();
        AgentIdentity identity;
        try {
            identity = Enroller.enroll(vertx, url, token, name, dir, Ambient.clock(), Ambient.random())
                    .toCompletionStage().toCompletableFuture().get(5, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e);
            throw h != null ? h : new HoldfastException(ErrorCode.CONTROLLER_UNAVAILABLE, "enrolment failed: " + e.getCause(), e);
        } catch (TimeoutException e) {
            throw new HoldfastException(ErrorCode.CONTROLLER_UNAVAILABLE, "the controller at " + url + " did not answer within 5 minutes");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
        }
        PrintWriter out = spec.commandLine().getOut();
        String fingerprint = Pem.fingerprint(identity.ca());
        if (json) {
            ObjectNode o = Json.object();
            o.put("host", identity.host());
            o.put("serial", identity.serial());
            o.put("not_after", identity.notAfter().toString());
            o.put("ca_fingerprint", fingerprint);
            o.put("identity_dir", dir.toString());
            o.put("controller", url.toString());
            Json.print(out, o);
        } else {
            out.println("enrolled " + identity.host() + " with " + url);
            out.println("certificate: serial " + identity.serial() + ", expires " + identity.notAfter() + " (renewed automatically)");
            out.println("controller CA: sha256 " + fingerprint + " (pinned)");
            out.println("identity: " + dir);
            if (agent.flatMap(AgentConfig::controller).isEmpty()) {
                out.println("note: add 'controller: {url: " + url + (identityDir == null ? "" : ", identity_dir: " + dir) + "}' to the agent"
                        + " configuration so that the agent connects");
            }
        }
        return 0;
    }
}
