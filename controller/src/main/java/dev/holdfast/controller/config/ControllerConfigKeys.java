package dev.holdfast.controller.config;

import dev.holdfast.agent.config.ConfigSection;
import dev.holdfast.agent.config.RepositorySection;
import java.util.List;

/**
 * The declarations of every mapping of the controller's file, read by {@link ControllerConfig}'s
 * parser (its unknown-key checks) and by the generated reference (docs/configuration.md). A key
 * added to the parser without a declaration here is refused as unknown, so the two cannot drift.
 */
public final class ControllerConfigKeys {
    public static final ConfigSection TOP = ConfigSection.section("(top level)",
                    "The controller's file (`holdfast controller run --config FILE`).")
            .key("listen", "host:port, [v6]:port", "127.0.0.1:7443", "The HTTPS listener: API, metrics and the agent link (gRPC).")
            .key("data_dir", "absolute path", "/var/lib/holdfast-controller",
                    "The controller's own state: its CA (`ca/`), server certificate, embedded catalog, admin token (mode 0700).")
            .key("catalog", "embedded | postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE]; secret, never shown", "embedded",
                    "Where the catalog lives: an H2 file in data_dir, or PostgreSQL (docs/controller.md, Catalog).")
            .key("repository", "mapping", "none", "The repository, as in the agent's file, for reindex, verification and retention.")
            .key("auth", "mapping", "see `auth`", "API authentication (see `auth`).")
            .key("agents", "mapping", "see `agents`", "Agent link timing and certificate lifetimes (see `agents`).")
            .key("tls", "mapping", "a certificate issued by the controller's own CA",
                    "The listener's certificate and key from files instead (see `tls`).")
            .key("policies", "mapping of policy names to policies", "`default` with the defaults below",
                    "Schedules, retention and restore rules per group of sources (see `policies.<name>`).")
            .key("audit", "mapping", "see `audit`", "The audit log's export into the repository (see `audit`).")
            .key("verify", "mapping", "see `verify`", "Scheduled verification of the repository's backups (see `verify`).")
            .build();
    public static final ConfigSection AUTH = ConfigSection.section("auth", "API authentication.")
            .key("bootstrap_admin_token_file", "absolute path", "<data_dir>/admin.token",
                    "The first admin token: read if present, else created (mode 0600); replacing its content revokes the old one.")
            .build();
    public static final ConfigSection AGENTS = ConfigSection.section("agents", "The agent link.")
            .key("heartbeat_interval", "duration, 100ms to 10m", seconds(ControllerConfig.Agents.DEFAULT.heartbeatInterval()),
                    "How often agents report (told to them when they connect).")
            .key("silent_after", "duration, 1s to 24h", seconds(ControllerConfig.Agents.DEFAULT.silentAfter()),
                    "An agent not heard from for this long counts as silent (metrics, alert).")
            .key("certificate_ttl", "duration, 1m to 8760h", ControllerConfig.Agents.DEFAULT.certificateTtl().toHours() + "h",
                    "Lifetime of agent client certificates; agents renew after two thirds.")
            .key("enrolment_token_ttl", "duration, 1m to 168h", ControllerConfig.Agents.DEFAULT.enrolmentTokenTtl().toHours() + "h",
                    "Lifetime of one-time enrolment tokens.")
            .build();
    public static final ConfigSection TLS = ConfigSection.section("tls",
                    "The listener's own certificate (e.g. from your PKI); agents then need its CA at enrolment.")
            .key("cert_file", "absolute path (PEM chain)", "required", "The certificate chain.")
            .key("key_file", "absolute path (PEM)", "required", "Its private key.")
            .build();
    public static final ConfigSection POLICY = ConfigSection.section("policies.<name>",
                    "A policy: which sources it covers, when they are backed up, how long backups are kept, who may restore where. "
                            + "The first policy (in file order) whose sources match covers a source; `default` covers the rest.")
            .key("sources", "list of host/source globs (`*` within a part)", "required, except for `default`",
                    "The sources it covers, e.g. `db1/main`, `*/main`.")
            .key("schedule", "mapping of tags to cron expressions (or {cron, type})",
                    "daily `0 2 * * *` incr, weekly `0 3 * * SUN` full, monthly `0 4 1 * *` full",
                    "When backups run; the tag (daily, weekly, monthly, ...) is recorded in the backup. `type` defaults to incr for daily, full otherwise."
                            + " The tag `drill` is reserved: it runs a restore drill of each postgres source instead (docs/drill.md).")
            .key("time_zone", "time zone id", "UTC", "The zone cron expressions are read in.")
            .key("jitter", "duration, 0 to 6h", "5m", "The largest delay added to a scheduled run (derived from the source, stable).")
            .key("retention", "mapping", "see `policies.<name>.retention`", "How long backups and WAL are kept.")
            .key("restore", "mapping", "see `policies.<name>.restore`", "Restore authorization.")
            .build();
    public static final ConfigSection SCHEDULE = ConfigSection.section("policies.<name>.schedule.<tag>",
                    "A schedule written as a mapping instead of a bare cron expression.")
            .key("cron", "5-field cron expression", "required", "When it runs, in the policy's time zone.")
            .key("type", "full | incr", "incr for daily, full otherwise", "The backup type it takes.")
            .build();
    public static final ConfigSection RETENTION = ConfigSection.section("policies.<name>.retention",
                    "Grandfather-father-son retention plus a point-in-time window.")
            .key("daily", "0 to 10000", String.valueOf(ControllerConfig.Retention.DEFAULT.daily()), "Daily backups kept (the newest per day).")
            .key("weekly", "0 to 10000", String.valueOf(ControllerConfig.Retention.DEFAULT.weekly()), "Weekly backups kept (the newest per week).")
            .key("monthly", "0 to 10000", String.valueOf(ControllerConfig.Retention.DEFAULT.monthly()), "Monthly backups kept (the newest per month).")
            .key("pitr_window", "duration (d, h, m)", ControllerConfig.Retention.DEFAULT.pitrWindow().toDays() + "d",
                    "How far back any point in time stays restorable (the WAL is kept for it).")
            .key("lock", "governance | compliance", "none",
                    "S3 Object Lock for new backups: packs and manifests retained until their GFS slot ends (docs/retention.md).")
            .key("interval", "duration (d, h, m); 0m: only on demand", "1h",
                    "How often the controller enforces this retention (also `POST /api/v1/policies/<name>/enforce`).")
            .build();
    public static final ConfigSection RESTORE = ConfigSection.section("policies.<name>.restore", "Who must approve a restore, and where it may go.")
            .key("approvals", "1 or 2", "1", "Approvals a restore request needs; with 2, a second person must approve (nobody approves their own request).")
            .key("allowed_targets", "list of absolute directory paths", "none: the agent's own list alone decides",
                    "Targets the controller accepts in a request; the agent's own restore.allowed_targets is checked too.")
            .key("grant_ttl", "duration, 1m to 24h", "10m", "How long a signed restore grant stays valid; an approved request whose"
                    + " grant expires before its agent starts the restore ends expired.")
            .build();

    public static final ConfigSection VERIFY = ConfigSection.section("verify",
                    "Scheduled verification (docs/controller.md, Verification); runs only when `repository` is set.")
            .key("schedule", "5-field cron expression", "`" + ControllerConfig.Verification.DEFAULT.schedule() + "`",
                    "When every backup's structure and WAL continuity are checked, with a share of the data read.")
            .key("time_zone", "time zone id", "UTC", "The zone the schedule is read in.")
            .key("read_data_within", "duration (d, h, m), at least 1h", ControllerConfig.Verification.DEFAULT.readDataWithin().toDays() + "d",
                    "Every pack of every backup is read and decrypted at least once within this period (a rotating sample per run).")
            .build();

    /** Every section of the controller's file, in the order the reference lists them. */
    public static final List<ConfigSection> ALL = List.of(TOP, RepositorySection.SECTION, AUTH, AGENTS, TLS, POLICY, SCHEDULE, RETENTION, RESTORE,
            VERIFY);

    private ControllerConfigKeys() {
    }

    private static String seconds(java.time.Duration d) {
        return d.toSeconds() + "s";
    }
}
