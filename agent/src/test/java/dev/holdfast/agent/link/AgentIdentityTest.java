package dev.holdfast.agent.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The identity directory: modes, round trip, renewal threshold, and the commit protocol's recovery. */
class AgentIdentityTest {
    private static final Instant T0 = Instant.parse("2026-11-24T00:00:00Z");
    private final SecureRandom random = new SecureRandom();

    @TempDir
    Path tmp;

    @Test
    void storeAndLoadRoundTripWithPrivateModes() throws Exception {
        Fixture f = new Fixture("db1", Duration.ofHours(24));
        Path dir = tmp.resolve("identity");
        AgentIdentity stored = AgentIdentity.store(dir, f.key, f.cert, f.ca, URI.create("https://c.example:7443"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("agent.key"))));
        AgentIdentity loaded = AgentIdentity.load(dir).orElseThrow();
        assertEquals("db1", loaded.host());
        assertEquals(stored.serial(), loaded.serial());
        assertEquals(URI.create("https://c.example:7443"), loaded.controller());
        assertFalse(loaded.toString().contains("PRIVATE"));
        assertTrue(AgentIdentity.load(tmp.resolve("absent")).isEmpty());
    }

    @Test
    void renewalIsDueAfterTwoThirdsOfTheLifetime() throws Exception {
        Fixture f = new Fixture("db1", Duration.ofHours(24));
        AgentIdentity id = AgentIdentity.store(tmp.resolve("i"), f.key(), f.cert(), f.ca, URI.create("https://c:1"));
        assertFalse(id.needsRenewal(T0.plus(Duration.ofHours(15)).plusSeconds(59 * 60)));
        assertTrue(id.needsRenewal(T0.plus(Duration.ofHours(16))));
        assertTrue(id.needsRenewal(T0.plus(Duration.ofDays(2))));
    }

    @Test
    void anUncommittedWriteIsDiscardedAndACommittedOneFinished() throws Exception {
        Fixture f = new Fixture("db1", Duration.ofHours(24));
        Path dir = tmp.resolve("identity");
        AgentIdentity first = AgentIdentity.store(dir, f.key, f.cert, f.ca, URI.create("https://c:1"));
        Fixture g = f.reissue();

        // Interrupted before the commit marker: the new files are dropped, the old identity stays.
        Files.writeString(dir.resolve("agent.key.new"), Pem.privateKey(g.key));
        Files.writeString(dir.resolve("agent.crt.new"), Pem.certificates(List.of(g.cert)));
        assertEquals(first.serial(), AgentIdentity.load(dir).orElseThrow().serial());
        assertFalse(Files.exists(dir.resolve("agent.key.new")));

        // Interrupted after the marker, with the key already renamed: the certificate follows.
        Files.writeString(dir.resolve("agent.key"), Pem.privateKey(g.key));
        Files.writeString(dir.resolve("agent.crt.new"), Pem.certificates(List.of(g.cert)));
        Files.writeString(dir.resolve("commit"), "agent.key\nagent.crt");
        assertEquals(g.cert.getSerialNumber().toString(16), AgentIdentity.load(dir).orElseThrow().serial());
        assertFalse(Files.exists(dir.resolve("commit")));
    }

    @Test
    void aKeyThatDoesNotMatchTheCertificateIsRefused() throws Exception {
        Fixture f = new Fixture("db1", Duration.ofHours(24));
        Path dir = tmp.resolve("identity");
        AgentIdentity.store(dir, f.key, f.cert, f.ca, URI.create("https://c:1"));
        Files.writeString(dir.resolve("agent.key"), Pem.privateKey(AgentIdentity.generateCsr("db1", random).keyPair().getPrivate()));
        HoldfastException e = assertThrows(HoldfastException.class, () -> AgentIdentity.load(dir));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    }

    @Test
    void theCsrNamesTheHostAndTheTokenFormatIsChecked() throws Exception {
        AgentIdentity.PendingKey k = AgentIdentity.generateCsr("db1", random);
        assertEquals("CN=db1", new PKCS10CertificationRequest(k.csrDer()).getSubject().toString());
        assertFalse(k.toString().contains("PRIVATE"));
        String secret = "hfe_" + "a".repeat(43);
        EnrolmentToken t = EnrolmentToken.parse(secret + "." + "0123456789abcdef".repeat(2));
        assertEquals(secret, t.secret());
        assertFalse(t.toString().contains(secret));
        HoldfastException e = assertThrows(HoldfastException.class, () -> EnrolmentToken.parse(secret));
        assertEquals(ErrorCode.ENROLMENT_REFUSED, e.code());
        assertFalse(e.getMessage().contains(secret));
    }

    /** A CA and a certificate it issued for a fresh key, valid from T0 for the given lifetime. */
    private final class Fixture {
        final KeyPair caKeys;
        final X509Certificate ca;
        final PrivateKey key;
        final X509Certificate cert;
        final Duration life;

        Fixture(String host, Duration life) throws Exception {
            this(AgentIdentity.generateCsr("ca", random).keyPair(), null, host, life);
        }

        private Fixture(KeyPair caKeys, X509Certificate ca, String host, Duration life) throws Exception {
            this.caKeys = caKeys;
            this.life = life;
            X500Name caName = new X500Name("CN=test ca");
            this.ca = ca != null ? ca : new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(caName, BigInteger.ONE,
                    Date.from(T0), Date.from(T0.plus(Duration.ofDays(3650))), caName, caKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
            KeyPair kp = AgentIdentity.generateCsr(host, random).keyPair();
            this.key = kp.getPrivate();
            this.cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(caName, new BigInteger(64, random).setBit(63),
                    Date.from(T0), Date.from(T0.plus(life)), new X500Name("CN=" + host), kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        }

        Fixture reissue() throws Exception {
            return new Fixture(caKeys, ca, AgentIdentity.commonName(cert), life);
        }

        PrivateKey key() {
            return key;
        }

        X509Certificate cert() {
            return cert;
        }
    }
}
