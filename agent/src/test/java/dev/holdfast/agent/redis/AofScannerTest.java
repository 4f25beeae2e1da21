package dev.holdfast.agent.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class AofScannerTest {
    static String cmd(String... args) {
        StringBuilder b = new StringBuilder("*" + args.length + "\r\n");
        for (String a : args) {
            b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
        }
        return b.toString();
    }

    static AofScanner.Result scan(String aof, OptionalLong limit) throws IOException {
        return AofScanner.scan(new ByteArrayInputStream(aof.getBytes(StandardCharsets.UTF_8)), limit, "test");
    }

    @Test
    void cutsBeforeTheFirstAnnotationLaterThanTheLimit() throws IOException {
        String a = "#TS:100\r\n" + cmd("SET", "a", "1") + cmd("SET", "b", "2");
        String b = "#TS:101\r\n" + cmd("SET", "c", "3");
        AofScanner.Result r = scan(a + b, OptionalLong.of(100));
        assertTrue(r.cut());
        assertEquals(a.length(), r.end());
        assertEquals(2, r.commands());
        assertEquals(OptionalLong.of(100), r.lastTimestamp());
        AofScanner.Result all = scan(a + b, OptionalLong.of(101));
        assertFalse(all.cut());
        assertTrue(all.complete());
        assertEquals((a + b).length(), all.end());
    }

    @Test
    void anAnnotationLikeValueInsideACommandIsData() throws IOException {
        String aof = "#TS:100\r\n" + cmd("SET", "k", "\r\n#TS:999\r\n") + cmd("SET", "x", "y");
        AofScanner.Result r = scan(aof, OptionalLong.of(100));
        assertFalse(r.cut());
        assertEquals(2, r.commands());
        assertEquals(aof.length(), r.end());
    }

    @Test
    void neverCutsInsideACommandOrATransaction() throws IOException {
        String head = "#TS:100\r\n" + cmd("SET", "a", "1");
        String multi = cmd("MULTI") + cmd("INCR", "n") + cmd("EXEC");
        String partial = cmd("SET", "b", "22").substring(0, 12);
        AofScanner.Result torn = scan(head + multi + partial, OptionalLong.empty());
        assertFalse(torn.complete());
        assertEquals((head + multi).length(), torn.end());

        String openMulti = cmd("MULTI") + cmd("INCR", "n");
        AofScanner.Result inTx = scan(head + openMulti, OptionalLong.empty());
        assertFalse(inTx.complete());
        assertEquals(head.length(), inTx.end());
        assertEquals(1, inTx.commands()); // the SET before the open MULTI
    }

    @Test
    void commandsWithoutAnyAnnotationAreReported() throws IOException {
        AofScanner.Result r = scan(cmd("SET", "a", "1"), OptionalLong.of(5));
        assertFalse(r.annotated());
        assertTrue(r.lastTimestamp().isEmpty());
    }

    @Test
    void bytesThatAreNotAnAofFailAsIntegrityFailures() {
        HoldfastException e = assertThrows(HoldfastException.class, () -> scan("hello", OptionalLong.empty()));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
    }

    @Test
    void theManifestIsReadAndWrittenAsRedisDoes() {
        AofManifest m = AofManifest.parse("file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.2.incr.aof seq 2 type h\n"
                + "file appendonly.aof.4.incr.aof seq 4 type i\nfile appendonly.aof.5.incr.aof seq 5 type i\n", "m");
        assertEquals("appendonly.aof.3.base.rdb", m.base().orElseThrow().file());
        assertEquals(2, m.incrs().size());
        assertEquals("file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.4.incr.aof seq 4 type i\nfile appendonly.aof.5.incr.aof seq 5 type i\n",
                AofManifest.render(m.base().orElseThrow(), m.incrs()));
        assertThrows(HoldfastException.class, () -> AofManifest.parse("file \"a b\" seq 1 type b\n", "m"));
        assertThrows(HoldfastException.class, () -> AofManifest.parse("file ../x seq 1 type b\n", "m"));
    }
}
