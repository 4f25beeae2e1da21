package dev.holdfast.agent.link;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.http.HttpClientOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The agent's identity towards its controller, kept in the identity directory
 * ({@code controller.identity_dir}, default {@code /var/lib/holdfast/identity}, mode 0700):
 *
 * <ul>
 *   <li>{@code agent.key}: the agent's EC P-256 private key, PKCS#8 PEM, mode 0600. Generated on
 *       this host; it never leaves it (only a PKCS#10 request is sent).</li>
 *   <li>{@code agent.crt}: the client certificate the controller's CA issued (PEM, 0644).</li>
 *   <li>{@code ca.crt}: the pinned certificate that anchors the controller's TLS listener (PEM, 0644);
 *       the link trusts nothing else.</li>
 *   <li>{@code controller.url}: the controller's https URL (0644).</li>
 * </ul>
 *
 * <p>Atomicity: {@link #store} writes every new file as {@code NAME.new} (forced to disk), then
 * the marker {@code commit} naming them, then renames each over its final name and deletes the
 * marker. {@link #load} first finishes a committed set (marker present) or discards an
 * uncommitted one (no marker): an interrupted enrolment or renewal leaves the previous identity or
 * the new one, never a mix of an old key and a new certificate.
 *
 * <p>Instances are immutable. {@link #toString()} names the host and serial, never the key.
 */
public final class AgentIdentity {
    public static final String KEY_FILE = "agent.key";
    public static final String CERT_FILE = "agent.crt";
    public static final String CA_FILE = "ca.crt";
    public static final String URL_FILE = "controller.url";
    static final String COMMIT_FILE = "commit";
    private static final String NEW = ".new";

    private final Path dir;
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final X509Certificate ca;
    private final URI controller;

    private AgentIdentity(Path dir, PrivateKey key, X509Certificate certificate, X509Certificate ca, URI controller) {
        this.dir = dir;
        this.key = key;
        this.certificate = certificate;
        this.ca = ca;
        this.controller = controller;
    }

    /** A freshly generated key pair and the PKCS#10 request for it; the key stays in memory until {@link #store}. */
    public record PendingKey(KeyPair keyPair, byte[] csrDer) {
        @Override
        public String toString() {
            return "PendingKey[" + keyPair.getPublic().getAlgorithm() + "]";
        }
    }

    /**
     * Generates an EC P-256 key pair and a PKCS#10 request for it with subject {@code CN=host},
     * signed with SHA256withECDSA (the controller checks the signature and the CN).
     */
    public static PendingKey generateCsr(String host, SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            KeyPair kp = g.generateKeyPair();
            X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, host).build();
            var csr = new JcaPKCS10CertificationRequestBuilder(subject, kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").setSecureRandom(random).build(kp.getPrivate()));
            return new PendingKey(kp, csr.getEncoded());
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot generate an EC P-256 key and request", e);
        }
    }

    /**
     * Stores a complete identity (first enrolment): key, certificate, pinned CA and controller URL.
     * Checks that the certificate is for this key and issued by {@code ca} before writing anything.
     */
    public static AgentIdentity store(Path dir, PrivateKey key, X509Certificate certificate, X509Certificate ca, URI controller) {
        check(key, certificate, ca);
        Pem.ensurePrivateDirectory(dir);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(KEY_FILE, Pem.privateKey(key).getBytes(StandardCharsets.US_ASCII));
        files.put(CERT_FILE, Pem.certificates(List.of(certificate)).getBytes(StandardCharsets.US_ASCII));
        files.put(CA_FILE, Pem.certificates(List.of(ca)).getBytes(StandardCharsets.US_ASCII));
        files.put(URL_FILE, (controller.toString() + "\n").getBytes(StandardCharsets.UTF_8));
        commit(dir, files);
        return new AgentIdentity(dir, key, certificate, ca, controller);
    }

    /** Replaces key and certificate (renewal), keeping the pinned CA and the URL; returns the new identity. */
    public AgentIdentity replace(PrivateKey newKey, X509Certificate newCertificate) {
        check(newKey, newCertificate, ca);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(KEY_FILE, Pem.privateKey(newKey).getBytes(StandardCharsets.US_ASCII));
        files.put(CERT_FILE, Pem.certificates(List.of(newCertificate)).getBytes(StandardCharsets.US_ASCII));
        commit(dir, files);
        return new AgentIdentity(dir, newKey, newCertificate, ca, controller);
    }

    /**
     * Loads the identity of {@code dir}; empty when this host is not enrolled (no certificate).
     * Finishes or discards an interrupted write first (see the class comment).
     *
     * @throws HoldfastException {@code CONFIG_INVALID} when the files are inconsistent (a key that does not match the certificate)
     */
    public static Optional<AgentIdentity> load(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        recover(dir);
        Path cert = dir.resolve(CERT_FILE);
        if (!Files.exists(cert)) {
            return Optional.empty();
        }
        PrivateKey key = Pem.readPrivateKey(dir.resolve(KEY_FILE));
        X509Certificate certificate = Pem.readCertificates(cert).get(0);
        X509Certificate ca = Pem.readCertificates(dir.resolve(CA_FILE)).get(0);
        URI url;
        try {
            url = URI.create(Files.readString(dir.resolve(URL_FILE), StandardCharsets.UTF_8).trim());
        } catch (IOException | IllegalArgumentException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, dir.resolve(URL_FILE) + ": not a readable URL");
        }
        try {
            check(key, certificate, ca);
        } catch (HoldfastException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, dir + ": " + e.getMessage() + "; enrol again");
        }
        return Optional.of(new AgentIdentity(dir, key, certificate, ca, url));
    }

    public Path directory() {
        return dir;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** The pinned CA (the controller listener's trust anchor). */
    public X509Certificate ca() {
        return ca;
    }

    public URI controller() {
        return controller;
    }

    PrivateKey privateKey() {
        return key;
    }

    /** The host the certificate names (its CN). */
    public String host() {
        return commonName(certificate);
    }

    /** Lower-case hex serial of the certificate (as the controller's catalog stores it). */
    public String serial() {
        return certificate.getSerialNumber().toString(16);
    }

    public Instant notAfter() {
        return certificate.getNotAfter().toInstant();
    }

    /** True once two thirds of the certificate's lifetime have passed (or it has expired). */
    public boolean needsRenewal(Instant now) {
        Instant from = certificate.getNotBefore().toInstant();
        Duration life = Duration.between(from, notAfter());
        return !now.isBefore(from.plus(life.multipliedBy(2).dividedBy(3)));
    }

    /** HTTP client options for the link and renewal: mutual TLS, HTTP/2 over ALPN, the pinned CA only. */
    public HttpClientOptions clientOptions() {
        return LinkTls.mutualClientOptions(key, certificate, ca);
    }

    @Override
    public String toString() {
        return "AgentIdentity[host=" + host() + ", serial=" + serial() + ", notAfter=" + notAfter() + "]";
    }

    /** The subject CN of a certificate, or "" when it has none. */
    public static String commonName(X509Certificate c) {
        X500Name name = X500Name.getInstance(c.getSubjectX500Principal().getEncoded());
        var rdns = name.getRDNs(BCStyle.CN);
        return rdns.length == 0 ? "" : rdns[0].getFirst().getValue().toString();
    }

    private static void check(PrivateKey key, X509Certificate certificate, X509Certificate ca) {
        Objects.requireNonNull(key, "key");
        try {
            certificate.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "the certificate (serial "
                    + certificate.getSerialNumber().toString(16) + ") was not issued by the pinned CA");
        }
        try {
            byte[] probe = "holdfast identity check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance("SHA256withECDSA");
            v.initVerify(certificate.getPublicKey());
            v.update(probe);
            if (!v.verify(sig)) {
                throw new GeneralSecurityException("mismatch");
            }
        } catch (GeneralSecurityException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "the private key does not match the certificate (serial "
                    + certificate.getSerialNumber().toString(16) + ")");
        }
    }

    private static void commit(Path dir, Map<String, byte[]> files) {
        recover(dir);
        for (var e : files.entrySet()) {
            Pem.writeAtomically(dir.resolve(e.getKey() + NEW), e.getValue(),
                    e.getKey().equals(KEY_FILE) ? Pem.OWNER_RW : Pem.PUBLIC_READ);
        }
        Pem.writeAtomically(dir.resolve(COMMIT_FILE), String.join("\n", files.keySet()).getBytes(StandardCharsets.US_ASCII),
                Pem.OWNER_RW);
        recover(dir);
    }

    /** Finishes a committed set of {@code .new} files, or deletes an uncommitted one. */
    static void recover(Path dir) {
        Path marker = dir.resolve(COMMIT_FILE);
        try {
            boolean committed = Files.exists(marker);
            List<Path> pending = new ArrayList<>();
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().endsWith(NEW) || p.getFileName().toString().endsWith(".tmp"))
                        .forEach(pending::add);
            }
            for (Path p : pending) {
                String name = p.getFileName().toString();
                if (committed && name.endsWith(NEW)) {
                    Pem.move(p, dir.resolve(name.substring(0, name.length() - NEW.length())));
                } else {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(marker);
            Files.deleteIfExists(dir.resolve(COMMIT_FILE + ".tmp"));
            Pem.syncDirectory(dir);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot update the identity directory " + dir + ": " + e.getMessage(), e);
        }
    }
}
