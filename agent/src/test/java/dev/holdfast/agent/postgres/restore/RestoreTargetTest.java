package dev.holdfast.agent.postgres.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a restore may write, what a recovery target becomes, and the PostgreSQL-format manifest's fixed points. */
class RestoreTargetTest {
    @TempDir
    Path dir;

    private ErrorCode refused(Path target, boolean overwrite) {
        return assertThrows(HoldfastException.class, () -> RestoreTarget.check(target, List.of(dir.resolve("allowed")), overwrite)).code();
    }

    @Test
    void onlyUnderTheAllowlistAndNeverThroughALinkOrDotDot() throws Exception {
        Path allowed = Files.createDirectories(dir.resolve("allowed"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        assertEquals(allowed.toRealPath().resolve("new"), RestoreTarget.check(allowed.resolve("new"), List.of(allowed), false).path());
        assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(outside.resolve("x"), false));
        assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(Path.of(allowed + "/../outside/x"), false));
        assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(Path.of(allowed + "/a/../b"), false), "'..' is refused even inside");
        Files.createSymbolicLink(allowed.resolve("link"), outside);
        assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(allowed.resolve("link"), false));
        assertEquals(ErrorCode.TARGET_NOT_ALLOWED, refused(allowed.resolve("link/deeper"), false));
        Files.createSymbolicLink(allowed.resolve("dangling"), outside.resolve("nothing"));
        assertThrows(HoldfastException.class, () -> RestoreTarget.check(allowed.resolve("dangling"), List.of(allowed), false));
        assertEquals(ErrorCode.TARGET_NOT_ALLOWED, assertThrows(HoldfastException.class,
                () -> RestoreTarget.check(allowed.resolve("x"), List.of(), false)).code(), "an empty allowlist allows nothing");
        try (var s = Files.list(outside)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void aNonEmptyTargetNeedsOverwriteWhichRemovesLinksNotWhatTheyPointAt() throws Exception {
        Path allowed = Files.createDirectories(dir.resolve("allowed"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("precious"), "keep me");
        Path target = Files.createDirectories(allowed.resolve("t"));
        Files.writeString(target.resolve("old"), "old");
        Files.createSymbolicLink(target.resolve("escape"), outside);
        assertEquals(ErrorCode.TARGET_NOT_EMPTY, refused(target, false));
        RestoreTarget t = RestoreTarget.check(target, List.of(allowed), true);
        assertTrue(t.nonEmpty());
        t.clear();
        try (var s = Files.list(target)) {
            assertEquals(0, s.count());
        }
        assertEquals("keep me", Files.readString(outside.resolve("precious")));
        assertFalse(RestoreTarget.check(target, List.of(allowed), false).nonEmpty());
    }

    @Test
    void recoveryTargetsBecomePostgresqlSettings() {
        RecoveryTarget.Action promote = RecoveryTarget.Action.PROMOTE;
        assertEquals("2026-11-24 06:00:00.250000+00",
                RecoveryTarget.of("2026-11-24T06:00:00.25Z", null, null, null, false, promote).settings().get("recovery_target_time"));
        assertEquals("0/3000028", RecoveryTarget.of(null, "0/3000028", null, null, false, promote).settings().get("recovery_target_lsn"));
        assertEquals("immediate", RecoveryTarget.of(null, null, null, null, true, RecoveryTarget.Action.PAUSE).settings().get("recovery_target"));
        assertEquals("pause", RecoveryTarget.of(null, null, null, null, true, RecoveryTarget.Action.PAUSE).settings().get("recovery_target_action"));
        assertTrue(RecoveryTarget.of(null, null, null, null, false, promote).settings().isEmpty(), "latest: no target settings");
        for (String[] bad : new String[][] {{"yesterday", null, null, null}, {null, "zz", null, null}, {null, null, "-1", null},
                {null, null, null, "it's"}, {"2026-11-24T06:00:00Z", "0/1", null, null}}) {
            assertEquals(ErrorCode.USAGE, assertThrows(HoldfastException.class,
                    () -> RecoveryTarget.of(bad[0], bad[1], bad[2], bad[3], false, promote)).code());
        }
    }

    @Test
    void theManifestChecksumCoversEverythingBeforeItsLineAndCrcsAreInMemoryOrder() throws Exception {
        byte[] m = PgBackupManifest.render(List.of(new PgBackupManifest.File("base/1/1259", 8192, Instant.parse("2026-11-24T06:00:00Z"),
                "8a3f0c11")), 1, Lsn.parse("0/3000028"), Lsn.parse("0/3000100"));
        String text = new String(m, StandardCharsets.UTF_8);
        assertTrue(text.contains("\"Checksum\": \"110c3f8a\""), text);
        assertTrue(text.contains("\"Last-Modified\": \"2026-11-24 06:00:00 GMT\""), text);
        int last = text.lastIndexOf("\"Manifest-Checksum\"");
        String expected = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(text.substring(0, last).getBytes(StandardCharsets.UTF_8)));
        assertTrue(text.endsWith("\"Manifest-Checksum\": \"" + expected + "\"}\n"), text);
    }
}
