package dev.holdfast.controller.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ObjectLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditSettingsTest {
    @TempDir
    Path dir;

    AuditSettings load(String audit) throws Exception {
        Path f = dir.resolve("controller.yaml");
        Files.writeString(f, "listen: 127.0.0.1:0\ndata_dir: " + dir.resolve("data") + "\n" + audit);
        return AuditSettings.of(ControllerConfig.load(f, c -> { }));
    }

    @Test
    void defaultsWithoutTheSection() throws Exception {
        assertEquals(AuditSettings.DEFAULT, load(""));
        assertEquals(Duration.ofMinutes(5), AuditSettings.DEFAULT.exportInterval());
        assertEquals(Optional.empty(), AuditSettings.DEFAULT.putOptions(Instant.EPOCH).lock());
    }

    @Test
    void intervalAndObjectLockAreRead() throws Exception {
        AuditSettings s = load("audit:\n  export_interval: 30s\n  object_lock: {mode: governance, retain_days: 10}\n");
        assertEquals(Duration.ofSeconds(30), s.exportInterval());
        ObjectLock lock = s.putOptions(Instant.EPOCH).lock().orElseThrow();
        assertEquals(ObjectLock.Mode.GOVERNANCE, lock.mode());
        assertEquals(Instant.EPOCH.plus(Duration.ofDays(10)), lock.retainUntil());
    }

    @Test
    void invalidValuesNameTheKey() {
        HoldfastException e = assertThrows(HoldfastException.class, () -> load("audit:\n  export_interval: 2d\n"));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
        assertTrue(e.getMessage().contains("export_interval"), e.getMessage());
        e = assertThrows(HoldfastException.class, () -> load("audit:\n  object_lock: {mode: forever}\n"));
        assertTrue(e.getMessage().contains("mode"), e.getMessage());
        e = assertThrows(HoldfastException.class, () -> load("audit:\n  exports: 1\n"));
        assertTrue(e.getMessage().contains("exports"), e.getMessage());
    }
}
