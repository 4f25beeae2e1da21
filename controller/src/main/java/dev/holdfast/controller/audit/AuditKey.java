package dev.holdfast.controller.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The secret key of the audit chain: 32 random bytes, held by the controller in
 * {@code <data_dir>/audit.key} (mode 0600, created at first start) and, when a repository is
 * configured, as a sealed copy {@code audit/keys/<id>} in it, so that the log stays verifiable
 * after losing the controller. The key file is UTF-8 JSON (docs/format.md section 15):
 * <pre>{"format": "holdfast-audit-key", "version": 1, "id": "ak-...", "key": "&lt;base64 of 32 bytes&gt;"}</pre>
 *
 * <p>The id is {@code "ak-" || hex(HMAC-SHA256(key, "holdfast/v1/audit-key-id")[0..8])}: it names the
 * key without revealing it, and a reader recomputes it to refuse an edited file. {@link #toString()}
 * shows the id only; the key bytes never leave this class except through {@link #toJson()}.
 */
public final class AuditKey {
    static final String FORMAT = "holdfast-audit-key";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final byte[] key;
    private final String id;

    private AuditKey(byte[] key) {
        this.key = key.clone();
        this.id = "ak-" + HexFormat.of().formatHex(java.util.Arrays.copyOf(hmac("holdfast/v1/audit-key-id".getBytes(StandardCharsets.US_ASCII)), 8));
    }

    /** A fresh random key. */
    public static AuditKey generate(SecureRandom random) {
        byte[] k = new byte[32];
        random.nextBytes(k);
        return new AuditKey(k);
    }

    /** A key from its 32 bytes (tests, and the sealed copy). */
    public static AuditKey of(byte[] key) {
        if (key.length != 32) {
            throw new IllegalArgumentException("an audit key is 32 bytes");
        }
        return new AuditKey(key);
    }

    public String id() {
        return id;
    }

    /** HMAC-SHA256 with this key over the concatenation of {@code parts}. */
    public byte[] hmac(byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            for (byte[] p : parts) {
                mac.update(p);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }

    /** The key file's bytes (also the plaintext of the repository's sealed copy). Secret. */
    public byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("comment", "Holdfast audit chain key. Secret: whoever holds it can rewrite the audit log undetected.");
        root.put("id", id);
        root.put("key", Base64.getEncoder().encodeToString(key));
        try {
            return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses a key file's bytes; {@code what} names the source in errors (never the content). */
    public static AuditKey fromJson(byte[] json, String what) {
        HoldfastException bad = new HoldfastException(ErrorCode.KEY_FILE_INVALID, what + " is not a Holdfast audit key file");
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw bad;
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()) || root.path("version").asInt() != 1
                || !root.path("key").isTextual() || !root.path("id").isTextual()) {
            throw bad;
        }
        byte[] k;
        try {
            k = Base64.getDecoder().decode(root.get("key").asText());
        } catch (IllegalArgumentException e) {
            throw bad;
        }
        if (k.length != 32) {
            throw bad;
        }
        AuditKey key = new AuditKey(k);
        if (!key.id.equals(root.get("id").asText())) {
            throw new HoldfastException(ErrorCode.KEY_FILE_INVALID, what + " was edited: its id does not match its key");
        }
        return key;
    }

    /** Loads a key file, refusing one that group or others may access. Blocking. */
    public static AuditKey load(Path path) {
        try {
            checkPermissions(path);
            return fromJson(Files.readAllBytes(path), "audit key file " + path);
        } catch (NoSuchFileException e) {
            throw new HoldfastException(ErrorCode.KEY_FILE_INVALID, "audit key file " + path + " does not exist");
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read audit key file " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads {@code path}, or creates it (mode 0600, written in full and forced before it gets its
     * name, so a crash never leaves a half-written key) with a fresh key. Blocking.
     */
    public static AuditKey loadOrCreate(Path path, SecureRandom random) {
        if (Files.exists(path)) {
            return load(path);
        }
        AuditKey key = generate(random);
        try {
            key.writeNew(path);
        } catch (FileAlreadyExistsException e) {
            return load(path);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot create audit key file " + path + ": " + e.getMessage(), e);
        }
        return key;
    }

    /** Writes this key to a new file {@code path} (mode 0600); fails if it exists. Blocking. */
    public void writeNew(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve(path.getFileName() + ".new");
        Files.deleteIfExists(tmp);
        boolean posix = Files.getFileStore(parent).supportsFileAttributeView(PosixFileAttributeView.class);
        if (posix) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } else {
            Files.createFile(tmp);
        }
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(toJson()));
            ch.force(true);
        }
        if (Files.exists(path)) {
            Files.delete(tmp);
            throw new FileAlreadyExistsException(path.toString());
        }
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void checkPermissions(Path path) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
        if (view == null) {
            return;
        }
        Set<PosixFilePermission> perms = view.readAttributes().permissions();
        for (PosixFilePermission p : perms) {
            if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
                throw new HoldfastException(ErrorCode.KEY_FILE_INVALID, "audit key file " + path + " is accessible by group or others (mode "
                        + PosixFilePermissions.toString(perms) + "); run: chmod 600 " + path);
            }
        }
    }

    @Override
    public String toString() {
        return "AuditKey[" + id + "]";
    }
}
