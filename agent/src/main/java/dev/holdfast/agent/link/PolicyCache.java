package dev.holdfast.agent.link;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.holdfast.protocol.v1.PolicyUpdate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The last policy the controller sent, kept in {@code policy.pb} of the identity directory so that
 * an agent restarted while the controller is away still has it. Written atomically (temp file,
 * fsync, rename); an unreadable file counts as no policy.
 */
public final class PolicyCache {
    private final Path file;
    private volatile PolicyUpdate current;

    public PolicyCache(Path identityDir) {
        this.file = identityDir.resolve("policy.pb");
        PolicyUpdate p = PolicyUpdate.getDefaultInstance();
        try {
            if (Files.exists(file)) {
                p = PolicyUpdate.parseFrom(Files.readAllBytes(file));
            }
        } catch (InvalidProtocolBufferException e) {
            p = PolicyUpdate.getDefaultInstance();
        } catch (IOException e) {
            p = PolicyUpdate.getDefaultInstance();
        }
        current = p;
    }

    public PolicyUpdate current() {
        return current;
    }

    public long revision() {
        return current.getRevision();
    }

    /** Keeps a new policy (in memory at once, on disk best-effort: a write failure keeps the old file). */
    public synchronized void store(PolicyUpdate p) {
        if (p.getRevision() == current.getRevision() && p.equals(current)) {
            return;
        }
        current = p;
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling("policy.pb.tmp");
            Files.write(tmp, p.toByteArray(), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE,
                    StandardOpenOption.SYNC);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // The policy stays in memory; the next Welcome writes it again.
        }
    }
}
