package dev.holdfast.repository.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyFileTest {
    private final Clock clock = Clock.fixed(Instant.parse("2026-11-24T01:00:00Z"), ZoneOffset.UTC);
    @TempDir
    Path dir;

    @Test
    void createdOwnerOnlyAndLoadsBackWithTheSameId() throws Exception {
        KeyFile f = KeyFile.create(dir.resolve("master.key"), clock, new SecureRandom());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.path())));
        assertEquals(f.current().id(), KeyFile.load(f.path()).current().id());
        assertTrue(f.current().id().matches("mk-[0-9a-f]{16}"));
    }

    @Test
    void refusesToOverwrite() {
        Path p = dir.resolve("master.key");
        KeyFile.create(p, clock, new SecureRandom());
        HoldfastException e = assertThrows(HoldfastException.class, () -> KeyFile.create(p, clock, new SecureRandom()));
        assertEquals(ErrorCode.OUTPUT_EXISTS, e.code());
    }

    @Test
    void refusesAFileOthersCanRead() throws Exception {
        KeyFile f = KeyFile.create(dir.resolve("master.key"), clock, new SecureRandom());
        Files.setPosixFilePermissions(f.path(), PosixFilePermissions.fromString("rw-r--r--"));
        HoldfastException e = assertThrows(HoldfastException.class, () -> KeyFile.load(f.path()));
        assertEquals(ErrorCode.KEY_FILE_INVALID, e.code());
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    }

    @Test
    void refusesAnEditedKeyAndNeverPrintsKeyMaterial() throws Exception {
        KeyFile f = KeyFile.create(dir.resolve("master.key"), clock, new SecureRandom());
        String text = Files.readString(f.path());
        String b64 = text.replaceAll("(?s).*\"key\" : \"([^\"]+)\".*", "$1");
        byte[] raw = Base64.getDecoder().decode(b64);
        raw[0] ^= 1;
        String edited = Base64.getEncoder().encodeToString(raw);
        Files.writeString(f.path(), text.replace(b64, edited));
        HoldfastException e = assertThrows(HoldfastException.class, () -> KeyFile.load(f.path()));
        assertEquals(ErrorCode.KEY_FILE_INVALID, e.code());
        assertFalse(e.getMessage().contains(b64) || e.getMessage().contains(edited), "no key material in errors");
        assertFalse(f.toString().contains(b64) || f.current().toString().contains(b64), "no key material in toString");
    }

    @Test
    void missingAndMalformedFilesNameTheProblem() throws Exception {
        HoldfastException missing = assertThrows(HoldfastException.class, () -> KeyFile.load(dir.resolve("nope")));
        assertTrue(missing.getMessage().contains("does not exist"));
        Path junk = dir.resolve("junk");
        Files.writeString(junk, "not a key");
        Files.setPosixFilePermissions(junk, PosixFilePermissions.fromString("rw-------"));
        assertEquals(ErrorCode.KEY_FILE_INVALID, assertThrows(HoldfastException.class, () -> KeyFile.load(junk)).code());
    }

    @Test
    void paperCopyRoundTripsAndFindsATypoOnItsLine() {
        KeyFile f = KeyFile.create(dir.resolve("master.key"), clock, new SecureRandom());
        KeyFile two = f.withNewKey(KeyFile.generate(clock, new SecureRandom()));
        String paper = PaperKey.format(two, clock.instant());
        var keys = PaperKey.parse(paper, Path.of("paper.txt"));
        assertEquals(2, keys.size());
        assertEquals(two.keys().get(0).id(), keys.get(0).id());
        assertEquals(two.current().id(), keys.get(1).id());

        // One wrong hex digit on line 3 of the first key.
        String[] lines = paper.split("\n");
        int target = -1;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].trim().startsWith("3:")) {
                target = i;
                break;
            }
        }
        char c = lines[target].charAt(5);
        lines[target] = lines[target].substring(0, 5) + (c == '0' ? '1' : '0') + lines[target].substring(6);
        String typo = String.join("\n", lines);
        HoldfastException e = assertThrows(HoldfastException.class, () -> PaperKey.parse(typo, Path.of("paper.txt")));
        assertEquals(ErrorCode.KEY_FILE_INVALID, e.code());
        assertTrue(e.getMessage().contains("line " + (target + 1)), e.getMessage());
    }
}
