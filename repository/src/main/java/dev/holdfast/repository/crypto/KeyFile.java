package dev.holdfast.repository.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * The master key file: one or more master key versions, the last one current. docs/format.md
 * section 5.1. Created mode 0600; a file that group or others can access is refused, as ssh
 * refuses a private key, because a readable key file is a leaked backup.
 *
 * <p>Errors name the file and what is wrong, never any key material.
 */
public final class KeyFile {
    static final String FORMAT = "holdfast-master-key";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final Path path;
    private final List<MasterKey> keys;

    private KeyFile(Path path, List<MasterKey> keys) {
        this.path = path;
        this.keys = List.copyOf(keys);
    }

    public Path path() {
        return path;
    }

    /** Every version, oldest first. */
    public List<MasterKey> keys() {
        return keys;
    }

    /** The current (newest) master key. */
    public MasterKey current() {
        return keys.get(keys.size() - 1);
    }

    /** Creates a new key file holding one fresh key; refuses to overwrite anything. */
    public static KeyFile create(Path path, Clock clock, SecureRandom random) {
        return create(path, List.of(generate(clock, random)));
    }

    /** Creates a new key file holding {@code keys} (e.g. read back from paper); refuses to overwrite anything. */
    public static KeyFile create(Path path, List<MasterKey> keys) {
        try {
            writeNew(path, keys);
        } catch (FileAlreadyExistsException e) {
            throw new HoldfastException(ErrorCode.OUTPUT_EXISTS, "key file " + path + " already exists; refusing to overwrite a master key");
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "unable to write key file " + path + ": " + e.getMessage(), e);
        }
        return new KeyFile(path, keys);
    }

    /** A fresh master key (not yet in any file). */
    public static MasterKey generate(Clock clock, SecureRandom random) {
        byte[] k = new byte[MasterKey.KEY_BYTES];
        random.nextBytes(k);
        return new MasterKey(k, clock.instant());
    }

    /** Loads and checks a key file. */
    public static KeyFile load(Path path) {
        byte[] bytes;
        try {
            checkPermissions(path);
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw invalid(path, "does not exist");
        } catch (IOException e) {
            throw invalid(path, "cannot be read: " + e.getMessage());
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw invalid(path, "is not a Holdfast key file (not JSON)");
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw invalid(path, "is not a Holdfast key file (format is not '" + FORMAT + "')");
        }
        if (root.path("version").asInt(-1) != 1) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, "key file " + path + " has version "
                    + root.path("version") + "; this build reads version 1");
        }
        JsonNode list = root.path("keys");
        if (!list.isArray() || list.isEmpty()) {
            throw invalid(path, "holds no keys");
        }
        List<MasterKey> keys = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode k = list.get(i);
            byte[] raw;
            try {
                raw = Base64.getDecoder().decode(k.path("key").asText(""));
            } catch (IllegalArgumentException e) {
                throw invalid(path, "key #" + (i + 1) + " is not valid base64");
            }
            if (raw.length != MasterKey.KEY_BYTES) {
                throw invalid(path, "key #" + (i + 1) + " is " + raw.length + " bytes, expected " + MasterKey.KEY_BYTES);
            }
            Instant created;
            try {
                created = Instant.parse(k.path("created_at").asText(""));
            } catch (DateTimeParseException e) {
                throw invalid(path, "key #" + (i + 1) + " has no valid created_at");
            }
            MasterKey mk = new MasterKey(raw, created);
            java.util.Arrays.fill(raw, (byte) 0);
            if (!mk.id().equals(k.path("id").asText())) {
                throw invalid(path, "key #" + (i + 1) + " has id '" + k.path("id").asText() + "' but its key's id is "
                        + mk.id() + " (the file was edited or corrupted)");
            }
            keys.add(mk);
        }
        return new KeyFile(path, keys);
    }

    /** The key with {@code id}, if this file has it. */
    public java.util.Optional<MasterKey> find(String id) {
        return keys.stream().filter(k -> k.id().equals(id)).findFirst();
    }

    /**
     * Returns a copy with a fresh key appended as current, written atomically over this file (temp
     * file mode 0600, fsync, rename, fsync of the directory). The file is never half-written.
     */
    public KeyFile withNewKey(MasterKey key) {
        List<MasterKey> all = new ArrayList<>(keys);
        all.add(key);
        Path tmp = path.resolveSibling("." + path.getFileName() + ".tmp-" + Long.toHexString(System.nanoTime()));
        try {
            writeNew(tmp, all);
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Path dir = path.toAbsolutePath().getParent();
            try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
                ch.force(true);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: the temp file holds nothing the old file did not
            }
            throw new HoldfastException(ErrorCode.IO_ERROR, "unable to update key file " + path + ": " + e.getMessage(), e);
        }
        return new KeyFile(path, all);
    }

    private static void writeNew(Path path, List<MasterKey> keys) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("comment", "Holdfast master key. Keep it secret, keep an escrow copy (holdfast keys export --format paper): "
                + "without it every backup is unrecoverable.");
        ArrayNode list = root.putArray("keys");
        for (MasterKey k : keys) {
            ObjectNode n = list.addObject();
            n.put("id", k.id());
            n.put("created_at", k.createdAt().toString());
            n.put("key", Base64.getEncoder().encodeToString(k.exportBytes()));
        }
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        boolean posix = Files.getFileStore(parent).supportsFileAttributeView(PosixFileAttributeView.class);
        if (posix) {
            Files.createFile(path, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } else {
            Files.createFile(path);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes));
            ch.write(java.nio.ByteBuffer.wrap("\n".getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
    }

    private static void checkPermissions(Path path) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
        if (view == null) {
            return;
        }
        Set<PosixFilePermission> perms = view.readAttributes().permissions();
        for (PosixFilePermission p : perms) {
            if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
                throw invalid(path, "is accessible by group or others (mode " + PosixFilePermissions.toString(perms)
                        + "); run: chmod 600 " + path);
            }
        }
    }

    private static HoldfastException invalid(Path path, String what) {
        return new HoldfastException(ErrorCode.KEY_FILE_INVALID, "key file " + path + " " + what);
    }

    @Override
    public String toString() {
        return "KeyFile[" + path + ", " + keys.stream().map(MasterKey::id).toList() + "]";
    }
}
