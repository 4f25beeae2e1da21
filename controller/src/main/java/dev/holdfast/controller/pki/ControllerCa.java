package dev.holdfast.controller.pki;

import dev.holdfast.agent.link.AgentIdentity;
import dev.holdfast.agent.link.Pem;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The controller's own certificate authority: it issues the agents' client certificates and,
 * unless {@code tls:} names another, the certificate of the controller's HTTPS listener.
 *
 * <p>Files, in {@code <data_dir>/ca/} (mode 0700): {@code ca.key} (EC P-256, PKCS#8 PEM, mode
 * 0600) and {@code ca.crt} (PEM). Created on first start, loaded afterwards; the CA certificate is
 * valid for 10 years (basicConstraints CA, pathLen 0, keyCertSign and cRLSign).
 *
 * <p>Agent certificates: a random 128-bit positive serial, subject and SAN {@code CN=host} /
 * dNSName host, EKU clientAuth, keyUsage digitalSignature, validity from one minute before now
 * (clock skew) for the TTL asked. Methods are CPU-bound (a signature each) and synchronous: call
 * them from a worker (the callers in this package do). The CA key never leaves this object except
 * to its file; {@link #toString()} shows the fingerprint only.
 */
public final class ControllerCa {
    public static final String KEY_FILE = "ca.key";
    public static final String CERT_FILE = "ca.crt";
    static final Duration CA_VALIDITY = Duration.ofDays(3653);
    static final Duration BACKDATE = Duration.ofMinutes(1);
    private static final String SIG_ALG = "SHA256withECDSA";

    private final PrivateKey key;
    private final X509Certificate certificate;
    private final Clock clock;
    private final SecureRandom random;

    private ControllerCa(PrivateKey key, X509Certificate certificate, Clock clock, SecureRandom random) {
        this.key = key;
        this.certificate = certificate;
        this.clock = clock;
        this.random = random;
    }

    /**
     * Loads the CA of {@code caDir}, or creates it there when the directory holds no {@code ca.crt}.
     * Blocking (file I/O, key generation): call from a worker.
     *
     * @throws HoldfastException {@code IO_ERROR} / {@code KEY_FILE_INVALID} when the files cannot be read
     */
    public static ControllerCa loadOrCreate(Path caDir, Clock clock, SecureRandom random) {
        Path crt = caDir.resolve(CERT_FILE);
        Path keyFile = caDir.resolve(KEY_FILE);
        if (Files.exists(crt)) {
            X509Certificate cert = Pem.readCertificates(crt).get(0);
            PrivateKey k = Pem.readPrivateKey(keyFile);
            return new ControllerCa(k, cert, clock, random);
        }
        Pem.ensurePrivateDirectory(caDir);
        KeyPair kp = newKeyPair(random);
        Instant now = clock.instant();
        X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Holdfast")
                .addRDN(BCStyle.CN, "Holdfast controller CA " + serial(random).toString(16).substring(0, 8)).build();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(random), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(CA_VALIDITY)), name, kp.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate cert = sign(b, kp.getPrivate(), random);
            // The key first: a ca.crt without its key would be loaded and fail; a key without ca.crt is re-created.
            Pem.writeAtomically(keyFile, Pem.privateKey(kp.getPrivate()).getBytes(StandardCharsets.US_ASCII), Pem.OWNER_RW);
            Pem.writeAtomically(crt, Pem.certificates(List.of(cert)).getBytes(StandardCharsets.US_ASCII), Pem.PUBLIC_READ);
            return new ControllerCa(kp.getPrivate(), cert, clock, random);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot create the controller CA", e);
        }
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** Lower-case hex SHA-256 of the CA certificate's DER encoding. */
    public String fingerprint() {
        return Pem.fingerprint(certificate);
    }

    /** A key and the certificate chain for it (leaf first, then this CA). {@link #toString()} hides the key. */
    public record KeyAndChain(PrivateKey key, List<X509Certificate> chain) {
        public KeyAndChain {
            chain = List.copyOf(chain);
        }

        @Override
        public String toString() {
            return "KeyAndChain[" + chain.get(0).getSubjectX500Principal() + "]";
        }
    }

    /** As {@link #issueServerCertificate(PublicKey, List, Duration)}, for a new key pair generated here. */
    public KeyAndChain issueServerCertificate(List<String> dnsNamesOrIps, Duration ttl) {
        KeyPair kp = newKeyPair(random);
        return new KeyAndChain(kp.getPrivate(), List.of(issueServerCertificate(kp.getPublic(), dnsNamesOrIps, ttl), certificate));
    }

    /**
     * Issues a TLS server certificate for the controller's own listener, valid for {@code ttl}:
     * CN = the first name, a SAN per name (an IP address literal becomes an iPAddress entry), EKU
     * serverAuth.
     */
    public X509Certificate issueServerCertificate(PublicKey publicKey, List<String> dnsNamesOrIps, Duration ttl) {
        if (dnsNamesOrIps.isEmpty()) {
            throw new IllegalArgumentException("a server certificate needs at least one name");
        }
        List<GeneralName> sans = new ArrayList<>();
        for (String n : dnsNamesOrIps) {
            sans.add(isIpLiteral(n) ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n));
        }
        return issue(publicKey, dnsNamesOrIps.get(0), sans, KeyPurposeId.id_kp_serverAuth, ttl);
    }

    /**
     * Signs an agent's PKCS#10 request: checks the request's own signature and that its subject
     * is exactly {@code CN=host}, then issues a client certificate for {@code ttl}.
     *
     * @throws HoldfastException {@code ENROLMENT_REFUSED} for a malformed request, a bad signature or another CN
     */
    public X509Certificate signAgentCsr(byte[] csrDer, String host, Duration ttl) {
        PublicKey publicKey = verifiedCsrKey(csrDer, host);
        return issue(publicKey, host, List.of(new GeneralName(GeneralName.dNSName, host)), KeyPurposeId.id_kp_clientAuth, ttl);
    }

    /**
     * The public key of a PKCS#10 request whose signature verifies and whose subject is exactly
     * {@code CN=host}.
     *
     * @throws HoldfastException {@code ENROLMENT_REFUSED} otherwise, saying which check failed
     */
    public static PublicKey verifiedCsrKey(byte[] csrDer, String host) {
        JcaPKCS10CertificationRequest csr;
        try {
            csr = new JcaPKCS10CertificationRequest(new PKCS10CertificationRequest(csrDer));
        } catch (IOException | RuntimeException e) {
            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, "the certificate request is not a valid PKCS#10 request");
        }
        PublicKey publicKey;
        try {
            // By name: the JDK's providers know "EC" but not the algorithm's OID, which BouncyCastle's helpers look up.
            if (!X9ObjectIdentifiers.id_ecPublicKey.equals(csr.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm())) {
                throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, "the certificate request's key must be an EC (P-256) key");
            }
            publicKey = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(csr.getSubjectPublicKeyInfo().getEncoded()));
        } catch (GeneralSecurityException | IOException e) {
            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, "the certificate request's public key is not usable");
        }
        try {
            ContentVerifierProvider v = new JcaContentVerifierProviderBuilder().build(publicKey);
            if (!csr.isSignatureValid(v)) {
                throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, "the certificate request's signature does not verify");
            }
        } catch (OperatorCreationException | PKCSException e) {
            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED, "the certificate request's signature does not verify");
        }
        X500Name expected = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, host).build();
        X500Name subject = csr.getSubject();
        var cns = subject.getRDNs(BCStyle.CN);
        String cn = cns.length == 1 ? cns[0].getFirst().getValue().toString() : "";
        if (subject.getRDNs().length != 1 || !host.equals(cn) || !expected.equals(subject)) {
            throw new HoldfastException(ErrorCode.ENROLMENT_REFUSED,
                    "the certificate request's subject must be exactly CN=" + host + ", found " + subject);
        }
        return publicKey;
    }

    /** Whether {@code c} was signed by this CA (signature check only; dates and revocation are the caller's). */
    public boolean issued(X509Certificate c) {
        try {
            c.verify(certificate.getPublicKey());
            return c.getIssuerX500Principal().equals(certificate.getSubjectX500Principal());
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /**
     * Signs a restore grant's payload (docs/protocol.md "Restore grants"): ECDSA P-256 SHA-256 over
     * {@link dev.holdfast.protocol.Grants#signedBytes}, whose fixed prefix keeps a grant signature
     * from ever being usable as anything else this key signs (certificates). Returns the DER signature.
     */
    public byte[] signRestoreGrant(byte[] payload) {
        try {
            java.security.Signature s = java.security.Signature.getInstance(dev.holdfast.protocol.Grants.SIGNATURE_ALGORITHM);
            s.initSign(key, random);
            s.update(dev.holdfast.protocol.Grants.signedBytes(payload));
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.INTERNAL, "cannot sign a restore grant with the CA key: " + e.getClass().getSimpleName(), e);
        }
    }

    /** The host a client certificate names (its CN). */
    public static String host(X509Certificate c) {
        return AgentIdentity.commonName(c);
    }

    /** Lower-case hex serial, as the catalog stores it. */
    public static String serialHex(X509Certificate c) {
        return c.getSerialNumber().toString(16);
    }

    @Override
    public String toString() {
        return "ControllerCa[" + fingerprint() + "]";
    }

    private X509Certificate issue(PublicKey publicKey, String cn, List<GeneralName> sans, KeyPurposeId purpose, Duration ttl) {
        Instant now = clock.instant();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).build();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, serial(random), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(ttl)), subject, publicKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(publicKey));
            return sign(b, key, random);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot issue a certificate", e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key, SecureRandom random)
            throws GeneralSecurityException {
        try {
            var signer = new JcaContentSignerBuilder(SIG_ALG).setSecureRandom(random).build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    /** A random positive 128-bit serial (top bit set: always 128 bits long, 127 of them random). */
    static BigInteger serial(SecureRandom random) {
        return new BigInteger(127, random).setBit(127);
    }

    private static KeyPair newKeyPair(SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate an EC P-256 key", e);
        }
    }

    private static boolean isIpLiteral(String s) {
        if (s.matches("[0-9.]+") || s.contains(":")) {
            try {
                // A literal only: InetAddress does no lookup for these forms.
                InetAddress.getByName(s);
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        return false;
    }
}
