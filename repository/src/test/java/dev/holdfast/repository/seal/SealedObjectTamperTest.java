package dev.holdfast.repository.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.Keyring;
import dev.holdfast.repository.store.ObjectKey;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tamper matrix (after Tink's streaming AEAD tests): every way of changing a sealed object's
 * bytes must fail closed with INTEGRITY_FAILURE (or KEY_MISMATCH / FORMAT_UNSUPPORTED where those
 * are the honest answer), and never release plaintext beyond the last authentic segment.
 */
class SealedObjectTamperTest {
    private static final int SEG = ObjectHeader.MIN_SEGMENT;
    private static final ObjectKey NAME = ObjectKey.of("t/object");
    private final SecureRandom random = new SecureRandom();
    private final byte[] repositoryId = new byte[16];
    private final DataKey dataKey = DataKey.generate(1, random);
    private final Keyring keyring = new Keyring("mk-0000000000000000", Map.of(1, dataKey));

    SealedObjectTamperTest() {
        random.nextBytes(repositoryId);
    }

    private byte[] seal(byte[] plain, ObjectKey name, boolean sha256) throws IOException {
        SegmentCodec codec = SegmentCodec.of(ObjectHeader.fresh(1, 1, SEG, sha256, random), name, dataKey, repositoryId, 3);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        SealingOutputStream out = new SealingOutputStream(sink, codec);
        out.write(plain);
        out.close();
        Footer f = out.footer();
        assertEquals(plain.length, f.plaintextLength());
        CRC32C crc = new CRC32C();
        crc.update(plain);
        assertEquals((int) crc.getValue(), f.crc32c());
        assertEquals(sink.size(), out.storedBytes());
        return sink.toByteArray();
    }

    private byte[] open(byte[] sealed, ObjectKey name, Keyring keys) throws IOException {
        try (OpeningInputStream in = OpeningInputStream.open(new ByteArrayInputStream(sealed), name, repositoryId, keys)) {
            return in.readAllBytes();
        }
    }

    private byte[] open(byte[] sealed) throws IOException {
        return open(sealed, NAME, keyring);
    }

    private ErrorCode failure(byte[] sealed) {
        return failure(sealed, NAME, keyring);
    }

    private ErrorCode failure(byte[] sealed, ObjectKey name, Keyring keys) {
        HoldfastException e = assertThrows(HoldfastException.class, () -> open(sealed, name, keys));
        assertTrue(e.getMessage().contains("'" + name + "'") || e.getMessage().contains("object"), e.getMessage());
        return e.code();
    }

    /** Compressible text: sealed objects stay small, so every byte can be tampered with. */
    private static byte[] text(int n) {
        byte[] b = new byte[n];
        Random r = new Random(n);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('a' + (i % 7 == 0 ? r.nextInt(26) : i % 13));
        }
        return b;
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    /** Offsets of each segment's length prefix, then the object's end. */
    private static List<Integer> boundaries(byte[] sealed) {
        List<Integer> out = new ArrayList<>();
        int p = ObjectHeader.LENGTH;
        while (p < sealed.length) {
            out.add(p);
            p += 4 + ByteBuffer.wrap(sealed, p, 4).getInt();
        }
        out.add(p);
        return out;
    }

    private static byte[] segment(byte[] sealed, List<Integer> b, int i) {
        return Arrays.copyOfRange(sealed, b.get(i), b.get(i + 1));
    }

    private static byte[] assemble(byte[] header, List<byte[]> segments) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header);
        segments.forEach(out::writeBytes);
        return out.toByteArray();
    }

    private static List<byte[]> segments(byte[] sealed) {
        List<Integer> b = boundaries(sealed);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i + 1 < b.size(); i++) {
            out.add(segment(sealed, b, i));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG, 3 * SEG + 17})
    void roundTripsEverySizeIncludingEmptyOneByteAndExactMultiples(int n) throws IOException {
        for (byte[] plain : List.of(text(n), randomBytes(n))) {
            for (boolean sha : new boolean[] {false, true}) {
                byte[] sealed = seal(plain, NAME, sha);
                assertArrayEquals(plain, open(sealed));
                int dataSegments = (n + SEG - 1) / SEG;
                assertEquals(dataSegments + 1, segments(sealed).size(), "data segments plus footer, no empty segment");
                assertEquals(Footer.SEGMENT_LENGTH, segments(sealed).get(dataSegments).length);
            }
        }
    }

    @Test
    void footerRecordsLengthAndChecksumsReadableFromTheTailAlone() throws Exception {
        byte[] plain = text(2 * SEG + 5);
        byte[] sealed = seal(plain, NAME, true);
        ObjectHeader h = ObjectHeader.parse(sealed, "x");
        SegmentCodec codec = SegmentCodec.of(h, NAME, dataKey, repositoryId, 0);
        Footer f = codec.openFooter(ByteBuffer.wrap(sealed, sealed.length - Footer.SEGMENT_LENGTH, Footer.SEGMENT_LENGTH));
        assertEquals(plain.length, f.plaintextLength());
        assertEquals(3, f.dataSegments());
        assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(plain), f.sha256().orElseThrow());
    }

    @Test
    void truncationAtEveryByteFailsClosed() throws IOException {
        byte[] sealed = seal(text(3 * SEG + 100), NAME, true);
        for (int len = 0; len < sealed.length; len++) {
            byte[] cut = Arrays.copyOf(sealed, len);
            final int l = len;
            HoldfastException e = assertThrows(HoldfastException.class, () -> open(cut), () -> "truncated to " + l);
            assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code(), e.getMessage());
        }
    }

    @Test
    void truncationAtSegmentBoundariesOfIncompressibleDataFailsClosed() throws IOException {
        byte[] sealed = seal(randomBytes(3 * SEG + 100), NAME, false);
        List<Integer> b = boundaries(sealed);
        for (int boundary : b.subList(0, b.size() - 1)) {
            for (int delta : new int[] {-1, 0, 1, 4, 5}) {
                int len = boundary + delta;
                assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(Arrays.copyOf(sealed, len)), "truncated to " + len);
            }
        }
    }

    @Test
    void appendedBytesFailClosed() throws IOException {
        byte[] sealed = seal(text(SEG + 10), NAME, false);
        List<byte[]> segs = segments(sealed);
        byte[] header = Arrays.copyOf(sealed, ObjectHeader.LENGTH);
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(Arrays.copyOf(sealed, sealed.length + 1)));
        List<byte[]> twoFooters = new ArrayList<>(segs);
        twoFooters.add(segs.get(segs.size() - 1));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(assemble(header, twoFooters)));
        List<byte[]> extraData = new ArrayList<>(segs);
        extraData.add(segs.get(0));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(assemble(header, extraData)));
    }

    @Test
    void aFlippedBitAnywhereFailsClosed() throws IOException {
        byte[] sealed = seal(text(2 * SEG + 300), NAME, true);
        for (int i = 0; i < sealed.length; i++) {
            for (int bit : new int[] {0, 7}) {
                byte[] t = sealed.clone();
                t[i] ^= (byte) (1 << bit);
                final int at = i;
                HoldfastException e = assertThrows(HoldfastException.class, () -> open(t), () -> "bit flipped at " + at);
                assertTrue(e.code() == ErrorCode.INTEGRITY_FAILURE || e.code() == ErrorCode.FORMAT_UNSUPPORTED
                        || e.code() == ErrorCode.KEY_MISMATCH, () -> "byte " + at + ": " + e.code() + " " + e.getMessage());
            }
        }
    }

    @Test
    void aFlippedBitInEachTagOfIncompressibleSegmentsFailsClosed() throws IOException {
        byte[] sealed = seal(randomBytes(3 * SEG), NAME, false);
        List<Integer> b = boundaries(sealed);
        for (int i = 1; i < b.size(); i++) {
            byte[] t = sealed.clone();
            t[b.get(i) - 1] ^= 1; // last byte of each segment: inside its tag
            assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(t), "tag of segment " + (i - 1));
        }
    }

    @Test
    void droppedDuplicatedAndReorderedSegmentsFailClosed() throws IOException {
        byte[] sealed = seal(randomBytes(3 * SEG + 9), NAME, false);
        byte[] header = Arrays.copyOf(sealed, ObjectHeader.LENGTH);
        List<byte[]> segs = segments(sealed);
        assertEquals(5, segs.size());
        for (int drop = 0; drop < segs.size(); drop++) {
            List<byte[]> s = new ArrayList<>(segs);
            s.remove(drop);
            assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(assemble(header, s)), "dropped " + drop);
        }
        for (int dup = 0; dup < segs.size(); dup++) {
            List<byte[]> s = new ArrayList<>(segs);
            s.add(dup, segs.get(dup));
            assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(assemble(header, s)), "duplicated " + dup);
        }
        for (int i = 0; i + 1 < segs.size(); i++) {
            List<byte[]> s = new ArrayList<>(segs);
            java.util.Collections.swap(s, i, i + 1);
            assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(assemble(header, s)), "swapped " + i);
        }
        // The footer moved right after the first segment: a clean-looking but short object.
        List<byte[]> early = List.of(segs.get(0), segs.get(4));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(assemble(header, early)));
    }

    @Test
    void aSegmentSplicedFromAnotherObjectFailsClosed() throws IOException {
        byte[] plain = randomBytes(2 * SEG);
        byte[] a = seal(plain, NAME, false);
        byte[] b = seal(plain, NAME, false); // same name, same key, same plaintext: only the salt differs
        List<byte[]> sa = segments(a);
        List<byte[]> sb = segments(b);
        byte[] header = Arrays.copyOf(a, ObjectHeader.LENGTH);
        for (int i = 0; i < sa.size(); i++) {
            List<byte[]> s = new ArrayList<>(sa);
            s.set(i, sb.get(i));
            assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(assemble(header, s)), "spliced " + i);
        }
        // Header swapped between the two objects.
        byte[] swapped = a.clone();
        System.arraycopy(b, 0, swapped, 0, ObjectHeader.LENGTH);
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(swapped));
    }

    @Test
    void anObjectCopiedUnderAnotherNameFailsClosed() throws IOException {
        byte[] sealed = seal(text(1000), NAME, false);
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(sealed, ObjectKey.of("t/other"), keyring));
        byte[] empty = seal(new byte[0], NAME, false);
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(empty, ObjectKey.of("t/other"), keyring));
    }

    @Test
    void aWrongDataKeyFailsClosedAndAnUnknownVersionNamesIt() throws IOException {
        byte[] sealed = seal(text(5000), NAME, false);
        Keyring other = new Keyring("mk-1111111111111111", Map.of(1, DataKey.generate(1, random)));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, failure(sealed, NAME, other));
        Keyring noV1 = new Keyring("mk-2222222222222222", Map.of(2, DataKey.generate(2, random)));
        HoldfastException e = assertThrows(HoldfastException.class, () -> open(sealed, NAME, noV1));
        assertEquals(ErrorCode.KEY_MISMATCH, e.code());
        assertTrue(e.getMessage().contains("data key version 1") && e.getMessage().contains("mk-2222222222222222"), e.getMessage());
    }

    @Test
    void anotherRepositoryIdFailsClosed() throws IOException {
        byte[] sealed = seal(text(5000), NAME, false);
        byte[] otherRepo = repositoryId.clone();
        otherRepo[0] ^= 1;
        HoldfastException e = assertThrows(HoldfastException.class, () -> {
            try (OpeningInputStream in = OpeningInputStream.open(new ByteArrayInputStream(sealed), NAME, otherRepo, keyring)) {
                in.readAllBytes();
            }
        });
        assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
    }

    @Test
    void unknownFormatVersionIsRefusedByName() throws IOException {
        byte[] sealed = seal(text(10), NAME, false);
        sealed[4] = 2;
        HoldfastException e = assertThrows(HoldfastException.class, () -> open(sealed));
        assertEquals(ErrorCode.FORMAT_UNSUPPORTED, e.code());
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
    }

    @Test
    void afterTheFirstBadSegmentNoFurtherPlaintextIsReleased() throws IOException {
        byte[] plain = randomBytes(3 * SEG);
        byte[] sealed = seal(plain, NAME, false);
        List<Integer> b = boundaries(sealed);
        sealed[b.get(1) + 10] ^= 1; // inside segment 1
        try (OpeningInputStream in = OpeningInputStream.open(new ByteArrayInputStream(sealed), NAME, repositoryId, keyring)) {
            byte[] first = in.readNBytes(SEG);
            assertArrayEquals(Arrays.copyOf(plain, SEG), first, "segment 0 is authentic and released");
            HoldfastException e = assertThrows(HoldfastException.class, () -> in.read(new byte[10]));
            assertTrue(e.getMessage().contains("segment 1"), e.getMessage());
            assertThrows(HoldfastException.class, () -> in.read(new byte[10]), "fails closed on every later call");
            assertThrows(HoldfastException.class, in::read);
        }
    }

    @Test
    void aHostileSegmentLengthIsRefusedBeforeAllocating() throws IOException {
        byte[] sealed = seal(text(100), NAME, false);
        ByteBuffer.wrap(sealed).putInt(ObjectHeader.LENGTH, Integer.MAX_VALUE);
        HoldfastException e = assertThrows(HoldfastException.class, () -> open(sealed));
        assertTrue(e.getMessage().contains("impossible length"), e.getMessage());
    }
}
