package dev.holdfast.repository.store.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A writer killed with SIGKILL at any moment leaves either nothing visible or the whole object. */
class FsObjectStoreCrashTest {
    @TempDir
    Path dir;

    private Process start(String key, int parts, String mode) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), FsCrashChild.class.getName(),
                dir.toString(), key, Integer.toString(parts), mode).redirectErrorStream(true).start();
    }

    private static void waitFor(Process p, String line) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
        for (String l; (l = r.readLine()) != null; ) {
            if (l.equals(line)) {
                return;
            }
        }
        throw new AssertionError("child exited before printing " + line);
    }

    private static void kill9(Process p) throws Exception {
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void killedAfterWritingPartsLeavesNothingVisible() throws Exception {
        Process p = start("victim/a", 6, "hang");
        try {
            waitFor(p, "PARTS-WRITTEN");
        } finally {
            kill9(p);
        }
        try (FsObjectStore store = FsObjectStore.open(dir, Clock.systemUTC())) {
            assertTrue(store.head(ObjectKey.of("victim/a")).join().isEmpty());
            assertTrue(store.listAll("").join().isEmpty(), "nothing listed; leftovers stay under .holdfast-tmp");
        }
    }

    @Test
    void killedWhileCompletingLeavesNothingOrTheWholeObject() throws Exception {
        for (int round = 0; round < 3; round++) {
            String key = "victim/b" + round;
            Process p = start(key, 24, "finish");
            try {
                waitFor(p, "COMPLETING");
                Thread.sleep(round * 15L); // a different moment of the concatenation each round
            } finally {
                kill9(p);
            }
            try (FsObjectStore store = FsObjectStore.open(dir, Clock.systemUTC())) {
                Optional<ObjectInfo> info = store.head(ObjectKey.of(key)).join();
                if (info.isPresent()) {
                    assertEquals(24L * FsCrashChild.PART, info.get().size(), "a visible object is complete");
                    byte[] last = store.getRange(ObjectKey.of(key), 23L * FsCrashChild.PART, FsCrashChild.PART).join();
                    assertArrayEquals(FsCrashChild.part(23), last);
                }
                List<ObjectInfo> all = store.listAll("").join();
                assertTrue(all.size() <= round + 1);
            }
        }
    }
}
