package dev.holdfast.agent.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.holdfast.protocol.v1.PolicyUpdate;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy an agent keeps while the controller is unreachable survives a restart; a damaged file counts as none. */
class PolicyCacheTest {
    @TempDir
    Path dir;

    @Test
    void aStoredPolicyIsThereAfterARestart() {
        PolicyCache first = new PolicyCache(dir);
        assertEquals(0, first.revision(), "nothing cached yet");
        PolicyUpdate p = PolicyUpdate.newBuilder().setRevision(42).setName("controller").putSettings("policy.default.time_zone", "UTC")
                .build();
        first.store(p);
        assertEquals(p, first.current());
        PolicyCache second = new PolicyCache(dir);
        assertEquals(p, second.current(), "read back from policy.pb");
        assertFalse(Files.exists(dir.resolve("policy.pb.tmp")), "no temporary file left behind");
    }

    @Test
    void aDamagedFileCountsAsNoPolicy() throws Exception {
        Files.write(dir.resolve("policy.pb"), new byte[] {(byte) 0xff, 0x01, 0x02});
        assertEquals(PolicyUpdate.getDefaultInstance(), new PolicyCache(dir).current());
    }
}
