package dev.holdfast.cli.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SystemdNotify} sends real datagrams to a bound Unix datagram socket, path or abstract. */
class SystemdNotifyTest {
    @TempDir
    Path dir;

    @Test
    void withoutNotifySocketThereIsNoNotifier() {
        assertTrue(SystemdNotify.from(Map.of()).isEmpty());
        assertTrue(SystemdNotify.from(Map.of(SystemdNotify.ENV, "")).isEmpty());
    }

    @Test
    void aRelativeOrOverlongAddressIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SystemdNotify.from(Map.of(SystemdNotify.ENV, "run/notify")));
        assertThrows(IllegalArgumentException.class, () -> SystemdNotify.from(Map.of(SystemdNotify.ENV, "/" + "x".repeat(200))));
    }

    @Test
    void readyAndStoppingReachAPathSocket() throws Exception {
        String path = dir.resolve("notify").toString();
        try (NotifyReceiver r = new NotifyReceiver(path)) {
            SystemdNotify n = SystemdNotify.from(Map.of(SystemdNotify.ENV, path)).orElseThrow();
            n.ready("agent running");
            assertEquals("READY=1\nSTATUS=agent running\n", r.next(10, () -> true, () -> ""));
            n.stopping("stopping\nnow");
            assertEquals("STOPPING=1\nSTATUS=stopping now\n", r.next(10, () -> true, () -> ""));
        }
    }

    @Test
    void anAbstractAddressIsReachedThroughTheLeadingNul() throws Exception {
        String name = "holdfast-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (NotifyReceiver r = new NotifyReceiver("\0" + name)) {
            SystemdNotify.from(Map.of(SystemdNotify.ENV, "@" + name)).orElseThrow().ready("up");
            assertEquals("READY=1\nSTATUS=up\n", r.next(10, () -> true, () -> ""));
        }
    }

    @Test
    void sendingToNoListenerFailsWithTheAddress() {
        SystemdNotify n = SystemdNotify.from(Map.of(SystemdNotify.ENV, dir.resolve("nobody").toString())).orElseThrow();
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> n.ready("x"));
        assertTrue(e.getMessage().contains("nobody"), e.getMessage());
    }
}
