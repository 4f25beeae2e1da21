package dev.holdfast.agent.config;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.RepositoryLocation;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The agent's configuration file (INTERFACE.md "Agent configuration"), validated and with its
 * defaults filled in.
 *
 * @param file               the file it was read from (messages name it)
 * @param host               the agent's id; default: this machine's host name
 * @param repository         where backups go
 * @param controller         the controller to report to; empty: standalone
 * @param controlSocket      the local control socket's path; default {@value #DEFAULT_CONTROL_SOCKET}
 * @param controlSocketGroup a group given read/write access to the socket (e.g. {@code postgres}); empty: the agent's own group
 * @param metrics            where {@code GET /metrics} is served
 * @param logLevel           the least severe event logged; default {@code info}
 * @param sources            the sources, in file order, names unique
 * @param restore            where restores may write
 */
public record AgentConfig(Path file, String host, RepositoryLocation repository, Optional<ControllerConfig> controller,
                          Path controlSocket, Optional<String> controlSocketGroup, MetricsConfig metrics, LogLevel logLevel,
                          List<SourceConfig> sources, RestoreConfig restore) {
    public static final String DEFAULT_CONTROL_SOCKET = "/run/holdfast/agent.sock";
    /** The top level of an agent file. */
    public static final ConfigSection SECTION = ConfigSection.section("(top level)",
                    "The agent's file (/etc/holdfast/agent.yaml, or --config, or $HOLDFAST_CONFIG).")
            .key("host", "host name: letters, digits, '.', '-', '_'", "the machine's host name",
                    "The name this agent has towards the controller (its certificate's CN) and in listings.")
            .key("repository", "mapping", "required", "Where backups go and the master key that opens them (see `repository`).")
            .key("controller", "mapping", "none (standalone)", "The controller this agent reports to (see `controller`).")
            .key("control_socket", "absolute path, at most 107 bytes", DEFAULT_CONTROL_SOCKET,
                    "The Unix socket on which `holdfast-wal-push`, `holdfast-wal-fetch` and the CLI reach the running agent.")
            .key("control_socket_group", "group name", "the agent's group",
                    "Group given read/write access to the control socket, e.g. `postgres` for archive_command.")
            .key("metrics", "mapping", "listen on 127.0.0.1:9187", "The Prometheus endpoint (see `metrics`).")
            .key("log_level", "error | warn | info | debug", "info", "Least severe level logged.")
            .key("sources", "list of mappings", "required", "What to back up: PostgreSQL, Redis and files sources (see `sources[]`).")
            .key("restore", "mapping", "no target allowed", "Where restores may write (see `restore`).")
            .build();
    /** The top-level keys of an agent file. */
    public static final List<String> KEYS = SECTION.names();
    /** The {@code controller:} mapping. */
    public static final ConfigSection CONTROLLER_SECTION = ConfigSection.section("controller",
                    "The controller this agent is enrolled with (`holdfast enroll`); without it the agent works standalone.")
            .key("url", "https:// URL", "required", "The controller's address; the agent link and enrolment use it.")
            .key("identity_dir", "absolute path", ControllerConfig.DEFAULT_IDENTITY_DIR,
                    "Where `holdfast enroll` keeps this agent's key, certificate and the pinned controller CA (mode 0700).")
            .build();
    /** The {@code metrics:} mapping. */
    public static final ConfigSection METRICS_SECTION = ConfigSection.section("metrics", "The agent's Prometheus endpoint (no authentication: keep it on loopback).")
            .key("listen", "host:port, [v6]:port, or off", "127.0.0.1:9187", "Where `GET /metrics` is served; `off` disables it.")
            .build();
    /** The {@code restore:} mapping. */
    public static final ConfigSection RESTORE_SECTION = ConfigSection.section("restore",
                    "The allowlist every restore on this host is checked against, whoever asks (CLI or a controller's grant).")
            .key("allowed_targets", "list of absolute directory paths", "none: every restore is refused",
                    "Directories restores may write into (a target must be inside one, judged on canonical paths).")
            .build();

    /** Every section of an agent file, in the order the reference lists them. */
    public static List<ConfigSection> sections() {
        return List.of(SECTION, RepositorySection.SECTION, CONTROLLER_SECTION, METRICS_SECTION, RESTORE_SECTION,
                PostgresSourceConfig.SECTION, WalConfig.SECTION, RedisSourceConfig.SECTION, FilesSourceConfig.SECTION);
    }
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");
    private static final Pattern GROUP = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,31}");

    public AgentConfig {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(repository, "repository");
        Objects.requireNonNull(controller, "controller");
        Objects.requireNonNull(controlSocket, "controlSocket");
        Objects.requireNonNull(controlSocketGroup, "controlSocketGroup");
        Objects.requireNonNull(metrics, "metrics");
        Objects.requireNonNull(logLevel, "logLevel");
        sources = List.copyOf(sources);
        Objects.requireNonNull(restore, "restore");
    }

    /**
     * The {@code controller:} section.
     *
     * @param url         the controller's https URL
     * @param identityDir where {@code enroll} keeps this agent's key, certificate and the pinned CA;
     *                    default {@value #DEFAULT_IDENTITY_DIR}
     */
    public record ControllerConfig(URI url, Path identityDir) {
        public static final String DEFAULT_IDENTITY_DIR = "/var/lib/holdfast/identity";

        public ControllerConfig {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(identityDir, "identityDir");
        }
    }

    /**
     * The {@code metrics:} section.
     *
     * @param host the address to listen on (default 127.0.0.1); empty when metrics are off
     * @param port the TCP port (default 9187)
     */
    public record MetricsConfig(Optional<String> host, int port) {
        public static final MetricsConfig DEFAULT = new MetricsConfig(Optional.of("127.0.0.1"), 9187);
        public static final MetricsConfig OFF = new MetricsConfig(Optional.empty(), 0);

        public boolean enabled() {
            return host.isPresent();
        }
    }

    /** {@code log_level}: the least severe event that is logged. */
    public enum LogLevel {
        ERROR, WARN, INFO, DEBUG;

        public String value() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Whether an event at {@code level} is logged when this is the configured level. */
        public boolean logs(LogLevel level) {
            return level.ordinal() <= ordinal();
        }
    }

    /** The {@code restore:} section. @param allowedTargets absolute directories restores may write into */
    public record RestoreConfig(List<Path> allowedTargets) {
        public RestoreConfig {
            allowedTargets = List.copyOf(allowedTargets);
        }
    }

    /**
     * Reads and validates an agent configuration file.
     *
     * @throws HoldfastException {@code CONFIG_INVALID} naming the file, the key path, what was
     *                           expected and what was found
     */
    public static AgentConfig load(Path file) {
        return load(file, AgentConfig::localHostName);
    }

    /** As {@link #load(Path)}, with the default host name supplied (tests). */
    public static AgentConfig load(Path file, Supplier<String> defaultHost) {
        ConfigNode root = ConfigNode.read(file);
        root.allowOnly(KEYS);
        String host = root.optionalString("host", "a host name of letters, digits, '.', '-' and '_'", s -> HOST.matcher(s).matches())
                .orElseGet(defaultHost);
        RepositoryLocation repository = RepositorySection.parse(root);
        Optional<ControllerConfig> controller = root.optionalMapping("controller", "a mapping with url").map(c -> {
            c.allowOnly(CONTROLLER_SECTION);
            String expected = "an https:// URL";
            String url = c.string("url", expected);
            URI u;
            try {
                u = new URI(url);
            } catch (java.net.URISyntaxException e) {
                throw c.invalid("url", expected);
            }
            if (!"https".equals(u.getScheme()) || u.getHost() == null) {
                throw c.invalid("url", expected);
            }
            return new ControllerConfig(u, c.optionalAbsolutePath("identity_dir").orElse(Path.of(ControllerConfig.DEFAULT_IDENTITY_DIR)));
        });
        Path socket = root.optionalAbsolutePath("control_socket").orElse(Path.of(DEFAULT_CONTROL_SOCKET));
        if (socket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
            throw root.invalid("control_socket", "an absolute path of at most 107 bytes (the limit of a Unix socket address)");
        }
        Optional<String> group = root.optionalString("control_socket_group", "a group name such as postgres",
                s -> GROUP.matcher(s).matches());
        MetricsConfig metrics = metrics(root);
        LogLevel level = root.optionalString("log_level", "one of error, warn, info, debug",
                s -> List.of("error", "warn", "info", "debug").contains(s))
                .map(s -> LogLevel.valueOf(s.toUpperCase(Locale.ROOT))).orElse(LogLevel.INFO);
        List<SourceConfig> sources = sources(root);
        RestoreConfig restore = root.optionalMapping("restore", "a mapping with allowed_targets").map(r -> {
            r.allowOnly(RESTORE_SECTION);
            List<Path> targets = new ArrayList<>();
            for (ConfigNode t : r.list("allowed_targets", "a list of absolute directory paths")) {
                if (!t.raw().isTextual() || !t.raw().asText().startsWith("/")) {
                    throw t.fail("expected an absolute directory path, found " + ConfigNode.describe(t.raw(), "allowed_targets"));
                }
                targets.add(Path.of(t.raw().asText()).normalize());
            }
            return new RestoreConfig(targets);
        }).orElse(new RestoreConfig(List.of()));
        return new AgentConfig(file, host, repository, controller, socket, group, metrics, level, sources, restore);
    }

    private static MetricsConfig metrics(ConfigNode root) {
        Optional<ConfigNode> m = root.optionalMapping("metrics", "a mapping with listen");
        if (m.isEmpty()) {
            return MetricsConfig.DEFAULT;
        }
        ConfigNode metrics = m.get().allowOnly(METRICS_SECTION);
        String expected = "host:port (such as 127.0.0.1:9187) or off";
        if (!metrics.has("listen")) {
            return MetricsConfig.DEFAULT;
        }
        // YAML 1.1 readers may turn a bare off into false; accept both spellings.
        if (metrics.raw().get("listen").isBoolean() && !metrics.raw().get("listen").asBoolean()) {
            return MetricsConfig.OFF;
        }
        String listen = metrics.string("listen", expected);
        if (listen.equals("off")) {
            return MetricsConfig.OFF;
        }
        int colon = listen.lastIndexOf(':');
        if (colon <= 0) {
            throw metrics.invalid("listen", expected);
        }
        String host = listen.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(listen.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw metrics.invalid("listen", expected);
        }
        if (port < 1 || port > 65535 || host.isEmpty()) {
            throw metrics.invalid("listen", expected);
        }
        return new MetricsConfig(Optional.of(host), port);
    }

    private static List<SourceConfig> sources(ConfigNode root) {
        List<SourceConfig> out = new ArrayList<>();
        Map<String, String> seen = new HashMap<>();
        for (ConfigNode s : root.list("sources", "a list of sources (each a mapping with name and type)")) {
            if (!s.raw().isObject()) {
                throw s.fail("expected a mapping with name and type, found " + ConfigNode.describe(s.raw(), "sources"));
            }
            String name = s.string("name", "a name of 1-63 characters [A-Za-z0-9_-] starting with a letter or digit");
            if (!SourceConfig.NAME.matcher(name).matches()) {
                throw s.invalid("name", "a name of 1-63 characters [A-Za-z0-9_-] starting with a letter or digit");
            }
            if (seen.containsKey(name)) {
                throw s.failAt("name", "expected a name not used by another source, found '" + name + "' (also " + seen.get(name) + ")");
            }
            seen.put(name, s.path());
            String type = s.string("type", "one of postgres, redis, files");
            out.add(switch (type) {
                case PostgresSourceConfig.TYPE -> PostgresSourceConfig.parse(s, name);
                case RedisSourceConfig.TYPE -> RedisSourceConfig.parse(s, name);
                case FilesSourceConfig.TYPE -> FilesSourceConfig.parse(s, name);
                default -> throw s.invalid("type", "one of postgres, redis, files");
            });
        }
        return out;
    }

    /** This machine's host name: the kernel's (/proc), else the resolver's, else {@code localhost}. */
    public static String localHostName() {
        try {
            Path p = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(p)) {
                String h = Files.readString(p).trim();
                if (HOST.matcher(h).matches()) {
                    return h;
                }
            }
        } catch (java.io.IOException e) {
            // fall through to the resolver
        }
        try {
            String h = InetAddress.getLocalHost().getHostName();
            return HOST.matcher(h).matches() ? h : "localhost";
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    /** The source named {@code name}, if any. */
    public Optional<SourceConfig> source(String name) {
        return sources.stream().filter(s -> s.name().equals(name)).findFirst();
    }
}
