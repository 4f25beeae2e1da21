package dev.holdfast.agent.postgres.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConnInfoTest {
    @TempDir
    Path tmp;

    @Test
    void errorsNeverEchoWhatMayBeAPassword() {
        for (String bad : new String[] {"postgresql://holdfast:s3cret-uri@db1:5432/postgres",
                "postgres://holdfast:s3cret-uri@db1/postgres?sslmode=disable",
                "host=db password=abc s3cret-word", "host=db password=abc s3cret-word=x"}) {
            dev.holdfast.error.HoldfastException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.holdfast.error.HoldfastException.class, () -> ConnInfo.parse(bad));
            org.junit.jupiter.api.Assertions.assertEquals(dev.holdfast.error.ErrorCode.CONFIG_INVALID, e.code());
            org.junit.jupiter.api.Assertions.assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
        }
        dev.holdfast.error.HoldfastException known = org.junit.jupiter.api.Assertions.assertThrows(
                dev.holdfast.error.HoldfastException.class, () -> ConnInfo.parse("host=db sslcert=/x"));
        org.junit.jupiter.api.Assertions.assertTrue(known.getMessage().contains("'sslcert' is not supported"), known.getMessage());
    }

    @Test
    void parsesKeysWithDefaults() {
        ConnInfo c = ConnInfo.parse("host=db.example port=5433 user=holdfast dbname=app application_name=holdfast-wal");
        assertEquals("db.example", c.host());
        assertEquals(5433, c.port());
        assertEquals("holdfast", c.user());
        assertEquals("app", c.dbname());
        assertNull(c.password());
        assertEquals("holdfast-wal", c.applicationName());
        assertEquals(Duration.ofSeconds(10), c.connectTimeout());
        assertEquals("prefer", c.sslmode());
        assertFalse(c.isUnixSocket());
        assertEquals("db.example:5433", c.endpoint());
    }

    @Test
    void defaultsAreTheDebianSocketPortOsUserAndUserAsDatabase() {
        ConnInfo c = ConnInfo.parse("");
        assertEquals(ConnInfo.DEFAULT_SOCKET_DIR, c.host());
        assertEquals(5432, c.port());
        assertEquals(System.getProperty("user.name"), c.user());
        assertEquals(c.user(), c.dbname());
        assertTrue(c.isUnixSocket());
        assertEquals("/var/run/postgresql/.s.PGSQL.5432", c.socketPath());
    }

    @Test
    void quotedValuesAndBackslashEscapes() {
        ConnInfo c = ConnInfo.parse("password = 'it\\'s a \\\\ secret' user='a b'  dbname=x\\ y application_name=''");
        assertEquals("it's a \\ secret", c.password());
        assertEquals("a b", c.user());
        assertEquals("x y", c.dbname());
        assertNull(c.applicationName());
        assertEquals("", ConnInfo.parse("password=''").password());
    }

    @Test
    void unixSocketHostAndHostaddr() {
        ConnInfo c = ConnInfo.parse("host=/tmp/pg port=6000");
        assertTrue(c.isUnixSocket());
        assertEquals("/tmp/pg/.s.PGSQL.6000", c.socketPath());
        ConnInfo a = ConnInfo.parse("host=db.example hostaddr=10.0.0.5");
        assertFalse(a.isUnixSocket());
        assertEquals("10.0.0.5:5432", a.endpoint());
        assertEquals("10.0.0.5", ConnInfo.parse("hostaddr=10.0.0.5").host());
    }

    @Test
    void connectTimeoutFollowsLibpq() {
        assertEquals(Duration.ofSeconds(30), ConnInfo.parse("connect_timeout=30").connectTimeout());
        assertEquals(Duration.ofSeconds(2), ConnInfo.parse("connect_timeout=1").connectTimeout());
        assertEquals(Duration.ZERO, ConnInfo.parse("connect_timeout=0").connectTimeout());
    }

    @Test
    void errorsAreConfigInvalidAndNameTheProblem() {
        HoldfastException unknown = assertThrows(HoldfastException.class, () -> ConnInfo.parse("host=x sslcert=/a password=hunter2"));
        assertEquals(ErrorCode.CONFIG_INVALID, unknown.code());
        assertTrue(unknown.getMessage().contains("'sslcert'"), unknown.getMessage());
        assertFalse(unknown.getMessage().contains("hunter2"));
        for (String bad : List.of("host", "host=x =y", "password='unterminated", "port=abc", "port=70000", "connect_timeout=x",
                "sslmode=bogus", "host=a,b")) {
            HoldfastException e = assertThrows(HoldfastException.class, () -> ConnInfo.parse(bad), bad);
            assertEquals(ErrorCode.CONFIG_INVALID, e.code(), bad);
            assertFalse(e.getMessage().contains("unterminated'"), bad);
        }
        for (String mode : List.of("require", "verify-ca", "verify-full")) {
            HoldfastException e = assertThrows(HoldfastException.class, () -> ConnInfo.parse("sslmode=" + mode));
            assertTrue(e.getMessage().contains("TLS to PostgreSQL is not supported yet"), e.getMessage());
        }
        for (String mode : List.of("disable", "allow", "prefer")) {
            assertEquals(mode, ConnInfo.parse("sslmode=" + mode).sslmode());
        }
    }

    @Test
    void toStringRedactsThePassword() {
        ConnInfo c = ConnInfo.parse("host=h user=u password=s3cr3t-value");
        assertFalse(c.toString().contains("s3cr3t-value"), c.toString());
        assertTrue(c.toString().contains("(redacted)"));
        assertFalse(c.withApplicationName("x").toString().contains("s3cr3t-value"));
        assertEquals("x", c.withApplicationName("x").applicationName());
        assertEquals("s3cr3t-value", c.withApplicationName("x").password());
    }

    @Test
    void pgpassFirstMatchWinsWithWildcardsAndEscapes() throws IOException {
        Path file = pgpass("""
                # comment
                other:5432:*:u:nope
                db.example:5433:app:u:wrong-port
                db.example:5432:app:u:pa\\:ss\\\\word
                *:*:*:u:fallback
                """);
        ConnInfo c = ConnInfo.parse("host=db.example user=u dbname=app");
        assertEquals(Optional.of("pa:ss\\word"), PgPass.lookup(file, c, false));
        assertEquals(Optional.of("fallback"), PgPass.lookup(file, ConnInfo.parse("host=elsewhere user=u"), false));
        assertEquals(Optional.empty(), PgPass.lookup(file, ConnInfo.parse("host=db.example user=v dbname=app"), false));
    }

    @Test
    void pgpassMatchesReplicationAsTheDatabaseOfAReplicationConnection() throws IOException {
        Path file = pgpass("""
                h:5432:replication:u:repl-pw
                h:5432:app:u:app-pw
                """);
        ConnInfo c = ConnInfo.parse("host=h user=u dbname=app");
        assertEquals(Optional.of("repl-pw"), PgPass.lookup(file, c, true));
        assertEquals(Optional.of("app-pw"), PgPass.lookup(file, c, false));
    }

    @Test
    void pgpassLocalhostMatchesAUnixSocket() throws IOException {
        Path file = pgpass("localhost:6000:*:u:local-pw\n");
        assertEquals(Optional.of("local-pw"), PgPass.lookup(file, ConnInfo.parse("host=/tmp/pg port=6000 user=u"), false));
        assertEquals(Optional.empty(), PgPass.lookup(file, ConnInfo.parse("host=/tmp/pg port=6001 user=u"), false));
        assertEquals(Optional.of("dir-pw"), PgPass.lookup(pgpass("/tmp/pg:6000:*:u:dir-pw\n"),
                ConnInfo.parse("host=/tmp/pg port=6000 user=u"), false));
    }

    @Test
    void pgpassReadableByOthersIsIgnored() throws IOException {
        Path file = pgpass("*:*:*:*:pw\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        assertEquals(Optional.empty(), PgPass.lookup(file, ConnInfo.parse("host=h user=u"), false));
        assertEquals(Optional.empty(), PgPass.lookup(tmp.resolve("missing"), ConnInfo.parse("host=h user=u"), false));
    }

    @Test
    void pgpassFileChoiceIsPassfileThenEnvironmentThenHome() {
        assertEquals(Path.of("/a/pass"), PgPass.file(ConnInfo.parse("passfile=/a/pass"), Map.of("PGPASSFILE", "/b"), "/home/x"));
        assertEquals(Path.of("/b"), PgPass.file(ConnInfo.parse(""), Map.of("PGPASSFILE", "/b"), "/home/x"));
        assertEquals(Path.of("/home/x/.pgpass"), PgPass.file(ConnInfo.parse(""), Map.of(), "/home/x"));
    }

    @Test
    void sizesInPostgresUnits() {
        assertEquals(1L << 20, ReplicationClient.parseSize("1MB"));
        assertEquals(16L << 20, ReplicationClient.parseSize("16MB"));
        assertEquals(1L << 30, ReplicationClient.parseSize("1GB"));
        assertEquals(8192, ReplicationClient.parseSize("8kB"));
        assertEquals(512, ReplicationClient.parseSize("512"));
    }

    private Path pgpass(String content) throws IOException {
        Path file = Files.createTempFile(tmp, "pgpass", "");
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }
}
