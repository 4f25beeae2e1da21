package dev.holdfast.controller.config;

import dev.holdfast.agent.config.ConfigNode;
import dev.holdfast.agent.config.RepositorySection;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.RepositoryLocation;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The controller's configuration file (INTERFACE.md "Controller configuration"), validated at
 * start-up like the agent's: unknown keys, wrong types and impossible values fail with the file,
 * the key path and what was expected; nothing starts half-configured.
 *
 * @param file        where it was read from
 * @param listenHost  the address the HTTPS listener binds (API, dashboard, agent link)
 * @param listenPort  its port (0: any free port, for tests)
 * @param dataDir     the CA, the embedded catalog and other state
 * @param catalog     {@code embedded} or a {@code postgresql://} URL
 * @param repository  the repository, for reindex, verify and retention; empty: none configured
 * @param auth        API token settings
 * @param agents      link settings
 * @param tls         the listener's certificate; empty: one issued by the controller's own CA
 * @param policies    by name, {@code default} always present
 * @param verification scheduled verification of the repository's backups
 */
public record ControllerConfig(Path file, String listenHost, int listenPort, Path dataDir, CatalogUrl catalog,
                               Optional<RepositoryLocation> repository, Auth auth, Agents agents, Optional<Tls> tls,
                               Map<String, Policy> policies, Verification verification) {
    /** The top-level keys (declared in {@link ControllerConfigKeys#TOP}). */
    public static final List<String> KEYS = ControllerConfigKeys.TOP.names();
    private static final Pattern LISTEN = Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):([0-9]{1,5})");
    private static final Pattern POLICY_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final Pattern TAG = Pattern.compile("[a-z][a-z0-9_-]{0,31}");

    public ControllerConfig {
        Objects.requireNonNull(file, "file");
        // Declaration order matters: the first matching policy covers a source (policyFor).
        policies = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(policies));
        if (!policies.containsKey("default")) {
            throw new IllegalArgumentException("the default policy is required");
        }
        Objects.requireNonNull(verification, "verification");
    }

    /** A configuration with the default verification settings. */
    public ControllerConfig(Path file, String listenHost, int listenPort, Path dataDir, CatalogUrl catalog,
                            Optional<RepositoryLocation> repository, Auth auth, Agents agents, Optional<Tls> tls, Map<String, Policy> policies) {
        this(file, listenHost, listenPort, dataDir, catalog, repository, auth, agents, tls, policies, Verification.DEFAULT);
    }

    /**
     * Scheduled verification (docs/controller.md "Verification"): at every {@code schedule} fire time
     * (read in {@code timeZone}) every backup's structure and WAL continuity are checked, and a
     * rotating sample of packs is read and decrypted so that every pack is read within
     * {@code readDataWithin}. Runs only when a repository is configured.
     */
    public record Verification(String schedule, ZoneId timeZone, Duration readDataWithin) {
        public static final Verification DEFAULT = new Verification("0 5 * * *", ZoneId.of("UTC"), Duration.ofDays(30));

        public Verification {
            Objects.requireNonNull(schedule, "schedule");
            Objects.requireNonNull(timeZone, "timeZone");
            Objects.requireNonNull(readDataWithin, "readDataWithin");
        }
    }

    /** Where the catalog lives. @param url {@code embedded} or {@code postgresql://user[:pw]@host:port/db} */
    public record CatalogUrl(String url) {
        public boolean embedded() {
            return "embedded".equals(url);
        }

        /** Never the URL itself: it may hold a password. */
        @Override
        public String toString() {
            return embedded() ? "embedded" : "postgresql://(not shown)";
        }
    }

    /**
     * @param bootstrapAdminTokenFile the first admin token: read if present, else created (mode 0600)
     */
    public record Auth(Path bootstrapAdminTokenFile) {
    }

    /**
     * @param heartbeatInterval how often agents report (told to them in Welcome)
     * @param silentAfter an agent silent longer than this counts as silent in the metrics
     * @param certificateTtl lifetime of agent client certificates (renewed at two thirds)
     * @param enrolmentTokenTtl lifetime of enrolment tokens
     */
    public record Agents(Duration heartbeatInterval, Duration silentAfter, Duration certificateTtl, Duration enrolmentTokenTtl) {
        /**
         * Certificates live 7 days and are renewed after two thirds (about 4.7 days): a controller
         * may be unreachable for two days without any agent losing its link for good (renewal needs
         * an unexpired certificate).
         */
        public static final Agents DEFAULT = new Agents(Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofDays(7),
                Duration.ofHours(1));
    }

    /** The listener's own certificate chain and key (PEM files). */
    public record Tls(Path certFile, Path keyFile) {
    }

    /**
     * A policy. @param name @param sources which sources it covers, as {@code host/source} globs
     * ({@code *} matches within a part); the default policy covers the sources no other covers
     * @param schedules by tag @param timeZone the zone cron expressions are read in
     * @param jitter the largest random delay added to a scheduled run
     * @param retention GFS counts and the PITR window (enforced by the retention work)
     * @param restore restore approval settings
     */
    public record Policy(String name, List<String> sources, Map<String, Schedule> schedules, ZoneId timeZone, Duration jitter,
                         Retention retention, RestorePolicy restore) {
        public Policy {
            sources = List.copyOf(sources);
            // In file order (the API lists them so); Map.copyOf would scramble it.
            schedules = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(schedules));
        }
    }

    /** One schedule: a 5-field cron expression and the backup type it takes. */
    public record Schedule(String tag, String cron, String type) {
    }

    /**
     * Retention (docs/retention.md). @param lock the Object Lock mode new backups are written with,
     * retained until the end of their GFS slot (empty: none) @param interval how often the controller
     * enforces it (zero: only on demand)
     */
    public record Retention(int daily, int weekly, int monthly, Duration pitrWindow, Optional<dev.holdfast.repository.store.ObjectLock.Mode> lock,
                            Duration interval) {
        public static final Duration DEFAULT_INTERVAL = Duration.ofHours(1);
        public static final Retention DEFAULT = new Retention(7, 4, 12, Duration.ofDays(7));

        public Retention(int daily, int weekly, int monthly, Duration pitrWindow) {
            this(daily, weekly, monthly, pitrWindow, Optional.empty(), DEFAULT_INTERVAL);
        }
    }

    /** @param grantTtl how long a restore grant is valid after approval (docs/controller.md "Restore authorization") */
    public record RestorePolicy(int approvals, List<Path> allowedTargets, Duration grantTtl) {
        public static final Duration DEFAULT_GRANT_TTL = Duration.ofMinutes(10);

        public RestorePolicy {
            allowedTargets = List.copyOf(allowedTargets);
            Objects.requireNonNull(grantTtl, "grantTtl");
        }

        public RestorePolicy(int approvals, List<Path> allowedTargets) {
            this(approvals, allowedTargets, DEFAULT_GRANT_TTL);
        }
    }

    /** The default schedules (INTERFACE.md): daily 02:00 incremental, weekly Sunday 03:00 full, monthly 1st 04:00 full. */
    public static Map<String, Schedule> defaultSchedules() {
        Map<String, Schedule> m = new LinkedHashMap<>();
        m.put("daily", new Schedule("daily", "0 2 * * *", "incr"));
        m.put("weekly", new Schedule("weekly", "0 3 * * SUN", "full"));
        m.put("monthly", new Schedule("monthly", "0 4 1 * *", "full"));
        return m;
    }

    /**
     * Reads and validates a controller configuration file. Cron expressions are checked by
     * {@code cronCheck} (the scheduler's parser), which throws IllegalArgumentException with the reason.
     */
    public static ControllerConfig load(Path file, java.util.function.Consumer<String> cronCheck) {
        ConfigNode root = ConfigNode.read(file);
        root.allowOnly(KEYS);
        String listen = root.optionalString("listen", "host:port such as 127.0.0.1:7443").orElse("127.0.0.1:7443");
        var m = LISTEN.matcher(listen);
        if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
            throw root.invalid("listen", "host:port such as 127.0.0.1:7443");
        }
        String host = m.group(1).startsWith("[") ? m.group(1).substring(1, m.group(1).length() - 1) : m.group(1);
        int port = Integer.parseInt(m.group(2));
        Path dataDir = root.optionalAbsolutePath("data_dir").orElse(Path.of("/var/lib/holdfast-controller"));
        String catalog = root.optionalString("catalog", "embedded or a postgresql://user@host:port/database URL").orElse("embedded");
        if (!"embedded".equals(catalog)) {
            try {
                URI u = new URI(catalog);
                if (!"postgresql".equals(u.getScheme()) || u.getHost() == null || u.getPath() == null || u.getPath().length() < 2) {
                    throw root.invalid("catalog", "embedded or a postgresql://user@host:port/database URL");
                }
            } catch (URISyntaxException e) {
                throw root.invalid("catalog", "embedded or a postgresql://user@host:port/database URL");
            }
        }
        Optional<RepositoryLocation> repository = root.has("repository") ? Optional.of(RepositorySection.parse(root)) : Optional.empty();
        Auth auth = root.optionalMapping("auth", "a mapping with bootstrap_admin_token_file").map(a -> {
            a.allowOnly(ControllerConfigKeys.AUTH);
            return new Auth(a.optionalAbsolutePath("bootstrap_admin_token_file").orElse(dataDir.resolve("admin.token")));
        }).orElse(new Auth(dataDir.resolve("admin.token")));
        Agents agents = root.optionalMapping("agents", "a mapping").map(a -> {
            a.allowOnly(ControllerConfigKeys.AGENTS);
            Duration hb = a.duration("heartbeat_interval", Duration.ofMillis(100), Duration.ofMinutes(10), Agents.DEFAULT.heartbeatInterval());
            Duration silent = a.duration("silent_after", Duration.ofSeconds(1), Duration.ofHours(24), Agents.DEFAULT.silentAfter());
            Duration ttl = a.duration("certificate_ttl", Duration.ofMinutes(1), Duration.ofDays(365 * 24), Agents.DEFAULT.certificateTtl());
            Duration tok = a.duration("enrolment_token_ttl", Duration.ofMinutes(1), Duration.ofHours(24 * 7), Agents.DEFAULT.enrolmentTokenTtl());
            return new Agents(hb, silent, ttl, tok);
        }).orElse(Agents.DEFAULT);
        Optional<Tls> tls = root.optionalMapping("tls", "a mapping with cert_file and key_file").map(t -> {
            t.allowOnly(ControllerConfigKeys.TLS);
            return new Tls(t.absolutePath("cert_file"), t.absolutePath("key_file"));
        });
        Map<String, Policy> policies = new LinkedHashMap<>();
        root.optionalMapping("policies", "a mapping of policy names to policies").ifPresent(ps -> {
            var it = ps.raw().fieldNames();
            List<String> names = new ArrayList<>();
            it.forEachRemaining(names::add);
            for (String name : names) {
                if (!POLICY_NAME.matcher(name).matches()) {
                    throw ps.failAt(name, "a policy name must be lower-case letters, digits, '_' and '-'");
                }
                policies.put(name, policy(name, ps.mapping(name, "a mapping with schedule, retention, restore, sources"), cronCheck));
            }
        });
        policies.putIfAbsent("default", new Policy("default", List.of(), defaultSchedules(), ZoneId.of("UTC"), Duration.ofMinutes(5),
                Retention.DEFAULT, new RestorePolicy(1, List.of())));
        Verification verification = root.optionalMapping("verify", "a mapping with schedule, time_zone, read_data_within")
                .map(v -> verification(v, cronCheck)).orElse(Verification.DEFAULT);
        return new ControllerConfig(file, host, port, dataDir, new CatalogUrl(catalog), repository, auth, agents, tls, policies,
                verification);
    }

    private static Policy policy(String name, ConfigNode p, java.util.function.Consumer<String> cronCheck) {
        p.allowOnly(ControllerConfigKeys.POLICY);
        List<String> sources = p.has("sources") ? p.stringList("sources", "a list of host/source globs") : List.of();
        for (String s : sources) {
            if (!s.matches("[A-Za-z0-9._*-]+/[A-Za-z0-9._*-]+")) {
                throw p.invalid("sources", "a list of host/source globs such as db1/main or */main");
            }
        }
        if (!"default".equals(name) && sources.isEmpty()) {
            throw p.missing("sources", "a list of host/source globs (only the default policy covers the rest)");
        }
        ZoneId zone;
        String z = p.optionalString("time_zone", "a time zone id such as UTC or Europe/Berlin").orElse("UTC");
        try {
            zone = ZoneId.of(z);
        } catch (DateTimeException e) {
            throw p.invalid("time_zone", "a time zone id such as UTC or Europe/Berlin");
        }
        Duration jitter = p.duration("jitter", Duration.ZERO, Duration.ofHours(6), Duration.ofMinutes(5));
        Map<String, Schedule> schedules = p.optionalMapping("schedule", "a mapping of tags to cron expressions").map(sn -> {
            Map<String, Schedule> out = new LinkedHashMap<>();
            List<String> tags = new ArrayList<>();
            sn.raw().fieldNames().forEachRemaining(tags::add);
            for (String tag : tags) {
                if (!TAG.matcher(tag).matches()) {
                    throw sn.failAt(tag, "a tag must be lower-case letters, digits, '_' and '-'");
                }
                String cron;
                String type = Map.of("daily", "incr").getOrDefault(tag, "full");
                if (sn.raw().get(tag).isTextual()) {
                    cron = sn.raw().get(tag).asText();
                } else {
                    ConfigNode one = sn.mapping(tag, "a cron expression, or a mapping with cron and type");
                    one.allowOnly(ControllerConfigKeys.SCHEDULE);
                    cron = one.string("cron", "a 5-field cron expression");
                    type = one.optionalString("type", "full or incr", t -> t.equals("full") || t.equals("incr")).orElse(type);
                }
                try {
                    cronCheck.accept(cron);
                } catch (IllegalArgumentException e) {
                    throw sn.failAt(tag, "invalid cron expression '" + cron + "': " + e.getMessage());
                }
                out.put(tag, new Schedule(tag, cron, type));
            }
            return out;
        }).orElse(defaultSchedules());
        Retention retention = p.optionalMapping("retention", "a mapping").map(r -> {
            r.allowOnly(ControllerConfigKeys.RETENTION);
            return new Retention(r.integer("daily", 0, 10000, 7), r.integer("weekly", 0, 10000, 4), r.integer("monthly", 0, 10000, 12),
                    days(r, "pitr_window", Retention.DEFAULT.pitrWindow()),
                    r.optionalString("lock", "governance or compliance", v -> v.equals("governance") || v.equals("compliance"))
                            .map(v -> dev.holdfast.repository.store.ObjectLock.Mode.valueOf(v.toUpperCase(java.util.Locale.ROOT))),
                    days(r, "interval", Retention.DEFAULT_INTERVAL));
        }).orElse(Retention.DEFAULT);
        RestorePolicy restore = p.optionalMapping("restore", "a mapping").map(r -> {
            r.allowOnly(ControllerConfigKeys.RESTORE);
            List<Path> targets = new ArrayList<>();
            for (String t : r.has("allowed_targets") ? r.stringList("allowed_targets", "a list of absolute paths") : List.<String>of()) {
                if (!t.startsWith("/")) {
                    throw r.invalid("allowed_targets", "a list of absolute paths");
                }
                targets.add(Path.of(t).normalize());
            }
            Duration ttl = days(r, "grant_ttl", RestorePolicy.DEFAULT_GRANT_TTL);
            if (ttl.compareTo(Duration.ofMinutes(1)) < 0 || ttl.compareTo(Duration.ofHours(24)) > 0) {
                throw r.invalid("grant_ttl", "a duration from 1m to 24h such as 10m");
            }
            return new RestorePolicy(r.integer("approvals", 1, 2, 1), targets, ttl);
        }).orElse(new RestorePolicy(1, List.of()));
        return new Policy(name, sources, schedules, zone, jitter, retention, restore);
    }

    private static Verification verification(ConfigNode v, java.util.function.Consumer<String> cronCheck) {
        v.allowOnly(ControllerConfigKeys.VERIFY);
        String cron = v.optionalString("schedule", "a 5-field cron expression").orElse(Verification.DEFAULT.schedule());
        try {
            cronCheck.accept(cron);
        } catch (IllegalArgumentException e) {
            throw v.invalid("schedule", "a 5-field cron expression (" + e.getMessage() + ")");
        }
        ZoneId zone;
        try {
            zone = ZoneId.of(v.optionalString("time_zone", "a time zone id such as UTC or Europe/Berlin").orElse("UTC"));
        } catch (DateTimeException e) {
            throw v.invalid("time_zone", "a time zone id such as UTC or Europe/Berlin");
        }
        Duration within = days(v, "read_data_within", Verification.DEFAULT.readDataWithin());
        if (within.compareTo(Duration.ofHours(1)) < 0) {
            throw v.invalid("read_data_within", "a duration of at least 1h such as 30d");
        }
        return new Verification(cron, zone, within);
    }

    /** A window such as {@code 7d}, {@code 36h} or {@code 30m}. */
    private static Duration days(ConfigNode r, String key, Duration dflt) {
        Optional<String> s = r.optionalString(key, "a duration such as 7d, 36h or 30m");
        if (s.isEmpty()) {
            return dflt;
        }
        var m = Pattern.compile("([0-9]{1,6})(d|h|m)").matcher(s.get().trim());
        if (!m.matches()) {
            throw r.invalid(key, "a duration such as 7d, 36h or 30m");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "d" -> Duration.ofDays(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofMinutes(n);
        };
    }

    /** The policy covering {@code host/source}: the first non-default policy whose glob matches, else default. */
    public Policy policyFor(String host, String source) {
        String key = host + "/" + source;
        for (Policy p : policies.values()) {
            if (!"default".equals(p.name()) && p.sources().stream().anyMatch(g -> key.matches(g.replace(".", "\\.").replace("*", "[^/]*")))) {
                return p;
            }
        }
        return policies.get("default");
    }

    static HoldfastException invalid(String message) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, message);
    }
}
