package dev.holdfast.agent.postgres.replication;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where and as whom to connect to PostgreSQL: the subset of libpq's connection parameters this
 * client understands, parsed from libpq's {@code key=value} conninfo syntax.
 *
 * <p>{@code host} starting with {@code /} is a Unix socket directory (the socket is
 * {@code <host>/.s.PGSQL.<port>}); otherwise a host name or address for TCP, unless {@code hostaddr}
 * gives the address to connect to (then {@code host} is only used to look up the password). Without
 * {@code host} and {@code hostaddr} the client uses the Debian default socket directory
 * {@code /var/run/postgresql}, like Debian's libpq.
 *
 * <p>{@code password} may be null: {@link ReplicationClient#connect} then looks it up in
 * {@code passfile}, else {@code $PGPASSFILE}, else {@code ~/.pgpass} ({@link PgPass}). Other libpq
 * environment variables ({@code PGHOST}, {@code PGUSER}, ...) are not consulted: configuration is
 * explicit. TLS is not supported: {@code sslmode} may only be {@code disable}, {@code allow} or
 * {@code prefer}, and all three connect without TLS.
 *
 * <p>{@link #toString()} never shows the password.
 *
 * @param host host name, address or Unix socket directory (never null)
 * @param port TCP port, also the number in the Unix socket's file name
 * @param user role name
 * @param dbname database; ignored by physical replication connections
 * @param password the password, or null to look it up in the password file
 * @param applicationName {@code application_name} sent to the server (shown in {@code pg_stat_replication}); may be null
 * @param hostaddr numeric address to connect to instead of resolving {@code host}; may be null
 * @param passfile the password file to use instead of {@code $PGPASSFILE} / {@code ~/.pgpass}; may be null
 * @param connectTimeout bound on connecting and authenticating (libpq's {@code connect_timeout}; zero = no bound)
 * @param sslmode as given ({@code prefer} by default)
 */
public record ConnInfo(String host, int port, String user, String dbname, String password, String applicationName,
                       String hostaddr, String passfile, Duration connectTimeout, String sslmode) {
    public static final int DEFAULT_PORT = 5432;
    public static final String DEFAULT_SOCKET_DIR = "/var/run/postgresql";
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Set<String> KEYS = Set.of("host", "hostaddr", "port", "user", "dbname", "password", "passfile",
            "application_name", "connect_timeout", "sslmode");
    private static final Set<String> PLAINTEXT_SSLMODES = Set.of("disable", "allow", "prefer");
    private static final Set<String> TLS_SSLMODES = Set.of("require", "verify-ca", "verify-full");

    public ConnInfo {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(dbname, "dbname");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(sslmode, "sslmode");
        if (port < 1 || port > 65535) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "PostgreSQL connection: port " + port + " is out of range 1-65535");
        }
    }

    /** TCP or a socket directory, no hostaddr or passfile, 10 s connect timeout, sslmode prefer. */
    public ConnInfo(String host, int port, String user, String dbname, String password, String applicationName) {
        this(host, port, user, dbname, password, applicationName, null, null, DEFAULT_CONNECT_TIMEOUT, "prefer");
    }

    /**
     * Parses libpq's keyword/value form: {@code key = value} pairs separated by whitespace; a value
     * is either a run of non-space characters or single-quoted ({@code 'it\'s here'}); a backslash
     * escapes the next character in both. Defaults: port 5432, user the OS user ({@code user.name}),
     * dbname the user name, connect_timeout 10 s.
     *
     * @throws HoldfastException {@link ErrorCode#CONFIG_INVALID} for a syntax error, an unknown key
     *         (named), a bad number, a multi-host list or an sslmode that requires TLS; the message
     *         never contains the password
     */
    /** libpq's other keywords: safe to name in an error. */
    private static final java.util.Set<String> LIBPQ_KEYS = java.util.Set.of("options", "sslcert", "sslkey", "sslrootcert", "sslcrl",
            "sslcrldir", "sslpassword", "sslsni", "sslcompression", "ssl_min_protocol_version", "ssl_max_protocol_version",
            "requirepeer", "gssencmode", "krbsrvname", "gsslib", "gssdelegation", "service", "target_session_attrs",
            "load_balance_hosts", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
            "fallback_application_name", "client_encoding", "replication", "channel_binding", "require_auth");

    public static ConnInfo parse(String conninfo) {
        if (conninfo != null && conninfo.strip().matches("(?is)postgres(ql)?://.*")) {
            // Never echoed: a URI carries its password in the user info.
            throw invalid("the URI form (postgresql://...) is not supported; write key=value pairs, e.g. "
                    + "host=/var/run/postgresql port=5432 user=holdfast dbname=postgres");
        }
        Map<String, String> kv = parsePairs(conninfo == null ? "" : conninfo);
        for (String key : kv.keySet()) {
            if (!KEYS.contains(key)) {
                // Only a name libpq knows is shown: anything else may be a piece of an unquoted password.
                throw invalid((LIBPQ_KEYS.contains(key) ? "key '" + key + "' is not supported" : "an unknown key")
                        + " (supported: host, hostaddr, port, user, dbname, password, passfile, application_name, connect_timeout, sslmode)");
            }
        }
        String hostaddr = emptyToNull(kv.get("hostaddr"));
        String host = emptyToNull(kv.get("host"));
        if (host == null) {
            host = hostaddr != null ? hostaddr : DEFAULT_SOCKET_DIR;
        }
        if (host.contains(",") || (hostaddr != null && hostaddr.contains(","))) {
            throw invalid("several hosts are not supported (host or hostaddr contains ',')");
        }
        int port = DEFAULT_PORT;
        String portText = emptyToNull(kv.get("port"));
        if (portText != null) {
            try {
                port = Integer.parseInt(portText);
            } catch (NumberFormatException e) {
                throw invalid("port '" + portText + "' is not a number");
            }
            if (port < 1 || port > 65535) {
                throw invalid("port " + port + " is out of range 1-65535");
            }
        }
        String user = emptyToNull(kv.get("user"));
        if (user == null) {
            user = System.getProperty("user.name");
        }
        String dbname = emptyToNull(kv.get("dbname"));
        if (dbname == null) {
            dbname = user;
        }
        Duration timeout = DEFAULT_CONNECT_TIMEOUT;
        String timeoutText = emptyToNull(kv.get("connect_timeout"));
        if (timeoutText != null) {
            int secs;
            try {
                secs = Integer.parseInt(timeoutText);
            } catch (NumberFormatException e) {
                throw invalid("connect_timeout '" + timeoutText + "' is not a whole number of seconds");
            }
            // libpq: 0 or negative waits forever, and 1 is raised to 2 seconds.
            timeout = secs <= 0 ? Duration.ZERO : Duration.ofSeconds(Math.max(2, secs));
        }
        String sslmode = kv.getOrDefault("sslmode", "prefer");
        if (TLS_SSLMODES.contains(sslmode)) {
            throw invalid("TLS to PostgreSQL is not supported yet (sslmode=" + sslmode + "); use sslmode=disable or prefer");
        }
        if (!PLAINTEXT_SSLMODES.contains(sslmode)) {
            throw invalid("invalid sslmode '" + sslmode + "'");
        }
        // An empty password is a password (libpq sends it); only an absent one is looked up.
        return new ConnInfo(host, port, user, dbname, kv.get("password"), emptyToNull(kv.get("application_name")), hostaddr,
                emptyToNull(kv.get("passfile")), timeout, sslmode);
    }

    /** The same connection with another {@code application_name}. */
    public ConnInfo withApplicationName(String name) {
        return new ConnInfo(host, port, user, dbname, password, name, hostaddr, passfile, connectTimeout, sslmode);
    }

    /** The same connection with this password (for one looked up in a password file). */
    public ConnInfo withPassword(String newPassword) {
        return new ConnInfo(host, port, user, dbname, newPassword, applicationName, hostaddr, passfile, connectTimeout, sslmode);
    }

    /** True when {@link #host} names a Unix socket directory (and no {@code hostaddr} overrides it). */
    public boolean isUnixSocket() {
        return hostaddr == null && host.startsWith("/");
    }

    /** The Unix socket file, {@code <host>/.s.PGSQL.<port>}; only meaningful when {@link #isUnixSocket()}. */
    public String socketPath() {
        return (host.endsWith("/") ? host : host + "/") + ".s.PGSQL." + port;
    }

    /** Where this connects, for messages: {@code host:port} or the socket file. Never the password. */
    public String endpoint() {
        if (isUnixSocket()) {
            return socketPath();
        }
        return (hostaddr != null ? hostaddr : host) + ":" + port;
    }

    @Override
    public String toString() {
        return "ConnInfo[host=" + host + ", port=" + port + ", user=" + user + ", dbname=" + dbname
                + ", password=" + (password == null ? "(none)" : "(redacted)")
                + ", applicationName=" + applicationName + ", hostaddr=" + hostaddr + ", passfile=" + passfile
                + ", connectTimeout=" + connectTimeout + ", sslmode=" + sslmode + "]";
    }

    private static Map<String, String> parsePairs(String s) {
        Map<String, String> kv = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return kv;
            }
            int keyStart = i;
            while (i < n && s.charAt(i) != '=' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            String key = s.substring(keyStart, i);
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n || s.charAt(i) != '=') {
                // The word is not echoed: after an unquoted password with a space it is part of the password.
                throw invalid("missing '=' after the word at character " + (keyStart + 1) + " (quote values that contain spaces: key='a b')");
            }
            i++;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && s.charAt(i) == '\'') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(s.charAt(i++));
                    } else if (c == '\'') {
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                    }
                }
                if (!closed) {
                    throw invalid("unterminated quoted value for '" + key + "'");
                }
            } else {
                while (i < n && !Character.isWhitespace(s.charAt(i))) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(s.charAt(i++));
                    } else {
                        value.append(c);
                    }
                }
            }
            if (key.isEmpty()) {
                throw invalid("empty key");
            }
            kv.put(key, value.toString());
        }
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static HoldfastException invalid(String what) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, "PostgreSQL connection string: " + what);
    }
}
