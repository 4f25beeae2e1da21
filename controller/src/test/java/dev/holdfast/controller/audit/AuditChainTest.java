package dev.holdfast.controller.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditChainTest {
    static final AuditKey KEY = AuditKey.of(new byte[32]);
    static final Instant AT = Instant.parse("2026-11-24T09:00:00.123456Z");

    static AuditRecord entry(long seq, String detail) {
        return new AuditRecord(seq, AT, "req-" + seq, "admin", "admin", "backup.request", "db1/main", "ok", detail);
    }

    @Test
    void theCanonicalEncodingIsLengthPrefixedSoShiftingCharactersBetweenFieldsChangesIt() {
        AuditRecord a = new AuditRecord(1, AT, "r", "ab", "c", "x", "y", "ok", "");
        AuditRecord b = new AuditRecord(1, AT, "r", "a", "bc", "x", "y", "ok", "");
        assertFalse(Arrays.equals(AuditChain.canonical(a), AuditChain.canonical(b)));
        assertNotEquals(AuditChain.link(KEY, AuditMac.GENESIS, a), AuditChain.link(KEY, AuditMac.GENESIS, b));
    }

    @Test
    void theCanonicalEncodingIsTheSpecifiedBytes() {
        AuditRecord a = new AuditRecord(258, Instant.ofEpochSecond(1, 2000), "r", "", "é", "", "", "", "");
        String hex = HexFormat.of().formatHex(AuditChain.canonical(a));
        assertEquals("01" + "0000000000000102" + "00000000000f4242" + "0000000172" + "00000000" + "00000002c3a9"
                + "00000000".repeat(4), hex);
    }

    @Test
    void everyFieldTheSequenceNumberTheTimeAndThePreviousMacAreBound() {
        AuditMac base = AuditChain.link(KEY, AuditMac.GENESIS, entry(1, "d"));
        AuditRecord e = entry(1, "d");
        AuditRecord[] changed = {
            new AuditRecord(2, e.at(), e.requestId(), e.actor(), e.role(), e.action(), e.object(), e.outcome(), e.detail()),
            new AuditRecord(1, e.at().plusNanos(1000), e.requestId(), e.actor(), e.role(), e.action(), e.object(), e.outcome(), e.detail()),
            new AuditRecord(1, e.at(), "other", e.actor(), e.role(), e.action(), e.object(), e.outcome(), e.detail()),
            new AuditRecord(1, e.at(), e.requestId(), "other", e.role(), e.action(), e.object(), e.outcome(), e.detail()),
            new AuditRecord(1, e.at(), e.requestId(), e.actor(), "other", e.action(), e.object(), e.outcome(), e.detail()),
            new AuditRecord(1, e.at(), e.requestId(), e.actor(), e.role(), "other", e.object(), e.outcome(), e.detail()),
            new AuditRecord(1, e.at(), e.requestId(), e.actor(), e.role(), e.action(), "other", e.outcome(), e.detail()),
            new AuditRecord(1, e.at(), e.requestId(), e.actor(), e.role(), e.action(), e.object(), "other", e.detail()),
            new AuditRecord(1, e.at(), e.requestId(), e.actor(), e.role(), e.action(), e.object(), e.outcome(), "other"),
        };
        for (AuditRecord c : changed) {
            assertNotEquals(base, AuditChain.link(KEY, AuditMac.GENESIS, c), c.toString());
        }
        assertNotEquals(base, AuditChain.link(KEY, base, e), "the previous mac is bound");
        assertNotEquals(base, AuditChain.link(AuditKey.of(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}), AuditMac.GENESIS, e), "the key is bound");
        assertEquals(base, AuditChain.link(KEY, AuditMac.GENESIS, entry(1, "d")), "deterministic");
    }

    @Test
    void submicrosecondDigitsDoNotChangeTheMacBecauseTheCatalogDropsThem() {
        AuditRecord e = entry(1, "d");
        AuditRecord finer = new AuditRecord(1, e.at().plusNanos(999), e.requestId(), e.actor(), e.role(), e.action(), e.object(), e.outcome(),
                e.detail());
        assertEquals(AuditChain.link(KEY, AuditMac.GENESIS, e), AuditChain.link(KEY, AuditMac.GENESIS, finer));
    }

    @Test
    void theTrailerMacBindsItsRange() {
        AuditMac m = AuditChain.link(KEY, AuditMac.GENESIS, entry(1, ""));
        AuditMac t = AuditChain.trailer(KEY, 1, 1, AuditMac.GENESIS, m);
        assertNotEquals(t, AuditChain.trailer(KEY, 1, 2, AuditMac.GENESIS, m));
        assertNotEquals(t, AuditChain.trailer(KEY, 2, 1, AuditMac.GENESIS, m));
        assertNotEquals(t, AuditChain.trailer(KEY, 1, 1, m, m));
        assertNotEquals(t, AuditChain.trailer(KEY, 1, 1, AuditMac.GENESIS, AuditMac.GENESIS));
    }

    @Test
    void aMacIsSixtyFourHexDigits() {
        AuditMac m = AuditChain.link(KEY, AuditMac.GENESIS, entry(1, ""));
        assertEquals(m, AuditMac.parse(m.hex()));
        assertEquals("0".repeat(64), AuditMac.GENESIS.hex());
        assertThrows(IllegalArgumentException.class, () -> AuditMac.parse(m.hex().toUpperCase()));
        assertThrows(IllegalArgumentException.class, () -> AuditMac.parse(m.hex().substring(2)));
    }

    @Test
    void theKeyFileIsCreatedOwnerOnlyLoadedAgainAndNeverPrinted(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data/audit.key");
        AuditKey created = AuditKey.loadOrCreate(file, new SecureRandom());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        AuditKey loaded = AuditKey.loadOrCreate(file, new SecureRandom());
        assertEquals(created.id(), loaded.id());
        assertTrue(created.id().matches("ak-[0-9a-f]{16}"), created.id());
        assertEquals("AuditKey[" + created.id() + "]", created.toString());
        assertArrayEquals(created.hmac(new byte[] {1}), loaded.hmac(new byte[] {1}));

        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        HoldfastException open = assertThrows(HoldfastException.class, () -> AuditKey.load(file));
        assertEquals(ErrorCode.KEY_FILE_INVALID, open.code());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

        String json = Files.readString(file);
        String otherKey = java.util.Base64.getEncoder().encodeToString(new byte[32]);
        String edited = json.replaceAll("\"key\" : \"[^\"]+\"", "\"key\" : \"" + otherKey + "\"");
        assertNotEquals(json, edited);
        HoldfastException e = assertThrows(HoldfastException.class, () -> AuditKey.fromJson(edited.getBytes(StandardCharsets.UTF_8), "f"));
        assertEquals(ErrorCode.KEY_FILE_INVALID, e.code());
        assertTrue(e.getMessage().contains("edited"), e.getMessage());
    }

    @Test
    void randomKeysHaveDifferentIds() {
        Random r = new Random(1);
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        r.nextBytes(a);
        r.nextBytes(b);
        assertNotEquals(AuditKey.of(a).id(), AuditKey.of(b).id());
    }
}
