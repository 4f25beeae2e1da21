package dev.holdfast.agent.grant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.holdfast.agent.link.AgentIdentity;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.Grants;
import dev.holdfast.protocol.v1.RestoreGrant;
import dev.holdfast.protocol.v1.RestoreGrantPayload;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's grant checks against real signatures, a real journal on disk and a real filesystem:
 * a good grant is accepted once; a forged (bad signature, other CA), expired, future, replayed or
 * other-host grant is refused with its code; every traversal trick in the target is refused; and
 * no refusal writes anything (the target does not exist afterwards, the grant id is not consumed).
 */
class GrantVerifierTest {
    static final Instant T0 = Instant.parse("2026-11-24T09:00:00Z");
    final SecureRandom random = new SecureRandom();

    @TempDir
    Path dir;
    Path root;
    Path outside;
    Path identity;
    MutableClock clock = new MutableClock(T0);
    Ca ca;
    X509Certificate agentCert;
    GrantVerifier verifier;

    static final class MutableClock extends Clock {
        Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    /** An EC P-256 CA that can issue a client certificate and sign grants as the controller does. */
    final class Ca {
        final KeyPair keys = AgentIdentity.generateCsr("ca", random).keyPair();
        final X509Certificate cert;

        Ca(String name) throws Exception {
            X500Name n = new X500Name("CN=" + name);
            cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(n, BigInteger.ONE, Date.from(T0.minusSeconds(60)),
                    Date.from(T0.plus(Duration.ofDays(3650))), n, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        }

        X509Certificate issue(String host) throws Exception {
            KeyPair kp = AgentIdentity.generateCsr(host, random).keyPair();
            return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(new X500Name(cert.getSubjectX500Principal().getName()),
                    BigInteger.TEN, Date.from(T0.minusSeconds(60)), Date.from(T0.plus(Duration.ofDays(10))), new X500Name("CN=" + host), kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        }

        RestoreGrant sign(RestoreGrantPayload p, boolean attach) throws Exception {
            Signature s = Signature.getInstance(Grants.SIGNATURE_ALGORITHM);
            s.initSign(keys.getPrivate());
            s.update(Grants.signedBytes(p.toByteArray()));
            RestoreGrant.Builder g = RestoreGrant.newBuilder().setPayload(p.toByteString()).setSignature(ByteString.copyFrom(s.sign()));
            if (attach) {
                g.setSignerCertificateDer(ByteString.copyFrom(cert.getEncoded()));
            }
            return g.build();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        root = Files.createDirectories(dir.resolve("restore"));
        outside = Files.createDirectories(dir.resolve("outside"));
        identity = Files.createDirectories(dir.resolve("identity"));
        ca = new Ca("holdfast controller ca");
        agentCert = ca.issue("db1");
        verifier = verifier(ca.cert);
    }

    GrantVerifier verifier(X509Certificate pinned) {
        return new GrantVerifier(() -> pinned, () -> agentCert, "db1", List.of(root),
                new GrantJournal(identity, clock, GrantVerifier.CLOCK_SKEW), clock);
    }

    RestoreGrantPayload payload(String target) {
        byte[] id = new byte[16];
        random.nextBytes(id);
        return RestoreGrantPayload.newBuilder().setRequestId("r-20261124T090000Z-0a0b0c0d").setGrantId(HexFormat.of().formatHex(id))
                .setHost("db1").setSource("main").setBackupId("20261124T080000Z-full").setSystemId("7301").setTargetKind("immediate")
                .setTargetPath(target).setIssuedAtMs(T0.toEpochMilli()).setExpiresAtMs(T0.plus(Duration.ofMinutes(10)).toEpochMilli()).build();
    }

    RestoreGrant good(String target) throws Exception {
        return ca.sign(payload(target), true);
    }

    /** Refused with {@code code}; nothing under the restore root or outside it; the grant id not consumed. */
    void refused(ErrorCode code, RestoreGrant g) throws IOException {
        refused(code, g, verifier);
    }

    void refused(ErrorCode code, RestoreGrant g, GrantVerifier v) throws IOException {
        List<String> before = tree();
        HoldfastException e = assertThrows(HoldfastException.class, () -> v.verify(g));
        assertEquals(code, e.code(), e::getMessage);
        assertTrue(e.getMessage().contains("nothing was written") || code == ErrorCode.TARGET_NOT_EMPTY, e::getMessage);
        assertEquals(before, tree(), "nothing was written");
        RestoreGrantPayload p = RestoreGrantPayload.parseFrom(g.getPayload());
        if (code != ErrorCode.GRANT_USED) {
            assertFalse(new GrantJournal(identity, clock, GrantVerifier.CLOCK_SKEW).isUsed(p.getGrantId()), "a refused grant is not consumed");
        }
    }

    List<String> tree() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !p.startsWith(identity)).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void aGoodGrantIsAcceptedOnceAndItsIdIsJournaledDurably() throws Exception {
        RestoreGrant g = good(root.resolve("x").toString());
        GrantVerifier.Verified v = verifier.verify(g);
        assertEquals(root.toRealPath().resolve("x"), v.target().path());
        assertEquals("main", v.payload().getSource());
        assertFalse(Files.exists(root.resolve("x")), "verifying writes nothing in the target");
        // A replay, to this verifier and to a new one (an agent restart): refused.
        refused(ErrorCode.GRANT_USED, g);
        refused(ErrorCode.GRANT_USED, g, verifier(ca.cert));
        assertTrue(Files.readString(identity.resolve(GrantJournal.FILE)).contains(v.payload().getGrantId()));
    }

    @Test
    void aForgedGrantIsRefused() throws Exception {
        RestoreGrant g = good(root.resolve("x").toString());
        byte[] sig = g.getSignature().toByteArray();
        sig[sig.length - 3] ^= 0x01;
        refused(ErrorCode.GRANT_INVALID, g.toBuilder().setSignature(ByteString.copyFrom(sig)).build());
        // The payload changed after signing (another target).
        RestoreGrantPayload other = payload(outside.toString());
        refused(ErrorCode.GRANT_INVALID, g.toBuilder().setPayload(other.toByteString()).build());
        // Signed by another CA, with its certificate attached or not.
        Ca mallory = new Ca("holdfast controller ca");
        refused(ErrorCode.GRANT_INVALID, mallory.sign(payload(root.resolve("x").toString()), true));
        refused(ErrorCode.GRANT_INVALID, mallory.sign(payload(root.resolve("x").toString()), false));
        // No signature at all, or garbage as the signer certificate.
        refused(ErrorCode.GRANT_INVALID, g.toBuilder().clearSignature().build());
        refused(ErrorCode.GRANT_INVALID, g.toBuilder().setSignerCertificateDer(ByteString.copyFromUtf8("not a certificate")).build());
    }

    @Test
    void theIssuerOfTheAgentsOwnCertificateIsTrustedWhenTheListenerHasAnOperatorAnchor() throws Exception {
        Ca operator = new Ca("operator tls ca");
        GrantVerifier v = verifier(operator.cert);
        assertEquals("main", v.verify(good(root.resolve("y").toString())).payload().getSource());
        // ... but not a CA that did not issue it.
        Ca mallory = new Ca("holdfast controller ca");
        refused(ErrorCode.GRANT_INVALID, mallory.sign(payload(root.resolve("z").toString()), true), v);
    }

    @Test
    void anExpiredOrFutureGrantIsRefused() throws Exception {
        RestoreGrant g = good(root.resolve("x").toString());
        clock.now = T0.plus(Duration.ofMinutes(10)).plus(GrantVerifier.CLOCK_SKEW);
        refused(ErrorCode.GRANT_EXPIRED, g);
        clock.now = T0.minus(GrantVerifier.CLOCK_SKEW).minusSeconds(1);
        refused(ErrorCode.GRANT_EXPIRED, g);
        // Within the skew either way it is fine.
        clock.now = T0.minusSeconds(30);
        verifier.verify(g);
    }

    @Test
    void aGrantForAnotherHostOrMalformedIsRefused() throws Exception {
        refused(ErrorCode.GRANT_INVALID, ca.sign(payload(root.resolve("x").toString()).toBuilder().setHost("db2").build(), true));
        refused(ErrorCode.GRANT_INVALID, ca.sign(payload(root.resolve("x").toString()).toBuilder().setGrantId("").build(), true));
        refused(ErrorCode.GRANT_INVALID, ca.sign(payload(root.resolve("x").toString()).toBuilder()
                .setExpiresAtMs(T0.plus(Duration.ofDays(2)).toEpochMilli()).build(), true));
        RestoreGrant garbage = RestoreGrant.newBuilder().setPayload(ByteString.copyFrom(new byte[] {(byte) 0xff, 0x01}))
                .setSignature(ByteString.copyFrom(new byte[8])).build();
        HoldfastException e = assertThrows(HoldfastException.class, () -> verifier.verify(garbage));
        assertEquals(ErrorCode.GRANT_INVALID, e.code());
    }

    @Test
    void everyTraversalTrickInTheTargetIsRefusedWithNothingWritten() throws Exception {
        // A symbolic link inside the allowed root that leads out of it, and one for a parent directory.
        Files.createSymbolicLink(root.resolve("escape"), outside);
        Files.createDirectories(dir.resolve("elsewhere"));
        Files.createSymbolicLink(root.resolve("parent-link"), dir.resolve("elsewhere"));
        Files.createDirectories(dir.resolve("restore-evil"));
        String r = root.toString();
        List<String> tricks = List.of(
                r + "/../outside/x",                  // dot-dot
                r + "/x/../../outside",              // dot-dot deeper
                r + "/./x",                          // dot segment
                "restore/x",                         // relative
                "../" + r,                           // relative with dot-dot
                r + "/%2e%2e/outside",               // percent-encoded dot-dot
                r + "/..%2foutside",                 // encoded slash
                r + "\\..\\outside",                 // backslashes
                r + "/x/",                           // trailing slash
                r + "/x/.",                          // trailing dot
                r + "/x/..",                         // trailing dot-dot
                r + "//x",                           // empty segment
                r + "/x\u0000y",                     // NUL
                r + "/x\ny",                         // control character
                r + "/escape",                       // symlink to outside
                r + "/escape/x",                     // below a symlink to outside
                r + "/parent-link/x",                // below a symlinked directory
                dir.resolve("restore-evil/x").toString(), // a sibling sharing the root's name as a prefix
                outside.toString(),                  // plainly outside
                "/");
        for (String t : tricks) {
            refused(ErrorCode.TARGET_NOT_ALLOWED, good(t));
        }
        assertTrue(Files.list(outside).findAny().isEmpty(), "nothing written outside");
        assertTrue(Files.list(dir.resolve("elsewhere")).findAny().isEmpty(), "nothing written through the link");
        // A non-empty target inside the root is refused too (a grant never overwrites).
        Files.createDirectories(root.resolve("busy"));
        Files.writeString(root.resolve("busy/PG_VERSION"), "15\n");
        refused(ErrorCode.TARGET_NOT_EMPTY, good(root.resolve("busy").toString()));
    }

    @Test
    void aDamagedJournalRefusesEveryGrant() throws Exception {
        Files.writeString(identity.resolve(GrantJournal.FILE), "this is not a journal\n");
        HoldfastException e = assertThrows(HoldfastException.class, () -> verifier.verify(good(root.resolve("x").toString())));
        assertEquals(ErrorCode.IO_ERROR, e.code(), e::getMessage);
    }

    @Test
    void journalEntriesAreDroppedOnceTheirGrantCannotBeUsedAnyMore() throws Exception {
        GrantJournal j = new GrantJournal(identity, clock, GrantVerifier.CLOCK_SKEW);
        assertTrue(j.consume("00112233445566778899aabbccddeeff", T0.plusSeconds(600)));
        assertFalse(j.consume("00112233445566778899aabbccddeeff", T0.plusSeconds(600)));
        clock.now = T0.plusSeconds(600).plus(GrantVerifier.CLOCK_SKEW).plusSeconds(1);
        assertTrue(j.consume("ffeeddccbbaa99887766554433221100", T0.plusSeconds(1200)));
        String text = Files.readString(identity.resolve(GrantJournal.FILE));
        assertFalse(text.contains("00112233445566778899aabbccddeeff"), text);
        assertTrue(text.contains("ffeeddccbbaa99887766554433221100"), text);
    }
}
