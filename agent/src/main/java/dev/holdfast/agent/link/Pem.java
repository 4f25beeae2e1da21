package dev.holdfast.agent.link;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * PEM files, certificate fingerprints and atomic file writes, shared by the agent's identity and
 * the controller's CA. Nothing here logs or prints key material; failures name the file, never
 * its contents.
 */
public final class Pem {
    /** Owner read/write only: private keys. */
    public static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
    /** Owner read/write, everyone read: certificates. */
    public static final Set<PosixFilePermission> PUBLIC_READ = PosixFilePermissions.fromString("rw-r--r--");
    /** Owner only: the directories holding keys. */
    public static final Set<PosixFilePermission> OWNER_DIR = PosixFilePermissions.fromString("rwx------");

    private Pem() {
    }

    /** {@code -----BEGIN type-----}, base64 in 64-character lines, {@code -----END type-----}. */
    public static String encode(String type, byte[] der) {
        String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + b64 + "\n-----END " + type + "-----\n";
    }

    /** A certificate (or a chain, in order) as PEM. */
    public static String certificates(List<X509Certificate> chain) {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate c : chain) {
            sb.append(encode("CERTIFICATE", der(c)));
        }
        return sb.toString();
    }

    /** A private key as unencrypted PKCS#8 PEM ({@code PRIVATE KEY}). */
    public static String privateKey(PrivateKey key) {
        return encode("PRIVATE KEY", key.getEncoded());
    }

    /** The DER encoding of a certificate. */
    public static byte[] der(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("a certificate that cannot be encoded", e);
        }
    }

    /** Parses one DER certificate. @throws CertificateException when it is not one */
    public static X509Certificate certificate(byte[] der) throws CertificateException {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }

    /** Every certificate of a PEM text, in order. @throws CertificateException when one is malformed */
    public static List<X509Certificate> parseCertificates(String pem) throws CertificateException {
        List<X509Certificate> out = new ArrayList<>();
        for (var c : CertificateFactory.getInstance("X.509").generateCertificates(
                new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    /**
     * Reads the certificates of a PEM file.
     *
     * @throws HoldfastException {@code IO_ERROR} when unreadable, {@code CONFIG_INVALID} when it holds none or a malformed one
     */
    public static List<X509Certificate> readCertificates(Path file) {
        String text = read(file);
        try {
            List<X509Certificate> certs = parseCertificates(text);
            if (certs.isEmpty()) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": no PEM certificate in it");
            }
            return certs;
        } catch (CertificateException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": not a valid PEM certificate (" + e.getMessage() + ")");
        }
    }

    /**
     * Reads a PEM private key: PKCS#8 ({@code PRIVATE KEY}), or the OpenSSL forms
     * {@code EC PRIVATE KEY} and {@code RSA PRIVATE KEY}. Encrypted keys are not supported.
     *
     * @throws HoldfastException {@code IO_ERROR} when unreadable, {@code KEY_FILE_INVALID} when it holds no usable key
     */
    public static PrivateKey readPrivateKey(Path file) {
        String text = read(file);
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return conv.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return conv.getKeyPair(pair).getPrivate();
                }
            }
        } catch (IOException | RuntimeException e) {
            // The parser's message may quote the file; say only which file failed.
            throw new HoldfastException(ErrorCode.KEY_FILE_INVALID, file + ": not a readable unencrypted PEM private key");
        }
        throw new HoldfastException(ErrorCode.KEY_FILE_INVALID, file + ": no PEM private key in it");
    }

    /** Lower-case hex SHA-256 of the certificate's DER encoding (what {@code openssl x509 -fingerprint -sha256} shows). */
    public static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der(c)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Creates {@code dir} (and parents) and sets it to mode 0700. */
    public static void ensurePrivateDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, OWNER_DIR);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot create the directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code file} so that it is either absent/old or complete: a temporary sibling created
     * with {@code perms}, forced to disk, then renamed over it.
     */
    public static void writeAtomically(Path file, byte[] content, Set<PosixFilePermission> perms) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(perms));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(content));
                ch.force(true);
            }
            move(tmp, file);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Renames {@code from} over {@code to} atomically, then forces the directory entry to disk. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
        syncDirectory(to.toAbsolutePath().getParent());
    }

    /** Forces a directory's entries to disk (where the platform allows opening a directory). */
    public static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Not every file system lets a directory be opened; the rename itself is still atomic.
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
