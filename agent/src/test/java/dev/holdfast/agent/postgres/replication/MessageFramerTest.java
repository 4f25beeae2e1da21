package dev.holdfast.agent.postgres.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MessageFramerTest {
    private final List<String> got = new ArrayList<>();
    private final MessageFramer framer = new MessageFramer((type, body) -> got.add((char) type + ":" + body.toString()));

    private static Buffer frame(char type, String body) {
        return Buffer.buffer().appendByte((byte) type).appendInt(4 + body.length()).appendString(body);
    }

    private static Buffer stream() {
        Buffer all = Buffer.buffer();
        all.appendBuffer(frame('R', "")).appendBuffer(frame('S', "a\0b\0")).appendBuffer(frame('d', "x".repeat(70_000)))
                .appendBuffer(frame('Z', "I"));
        return all;
    }

    private static List<String> expected() {
        return List.of("R:", "S:a\0b\0", "d:" + "x".repeat(70_000), "Z:I");
    }

    @Test
    void messagesInOneChunkAreDelivered() {
        framer.handle(stream());
        assertEquals(expected(), got);
    }

    @Test
    void messagesSplitAtEveryPossibleSizeAreReassembled() {
        Buffer all = stream();
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            got.clear();
            int pos = 0;
            while (pos < all.length()) {
                int n = Math.min(all.length() - pos, 1 + random.nextInt(round < 100 ? 7 : 40_000));
                framer.handle(all.getBuffer(pos, pos + n));
                pos += n;
            }
            assertEquals(expected(), got, "round " + round);
        }
    }

    @Test
    void pausedFramerHoldsMessagesUntilResumed() {
        framer.pause();
        framer.handle(stream());
        assertEquals(List.of(), got);
        framer.resume();
        assertEquals(expected(), got);
    }

    @Test
    void pauseInsideACallbackStopsDeliveryAfterThatMessage() {
        List<String> seen = new ArrayList<>();
        MessageFramer[] f = new MessageFramer[1];
        f[0] = new MessageFramer((type, body) -> {
            seen.add(String.valueOf((char) type));
            f[0].pause();
        });
        f[0].handle(stream());
        assertEquals(List.of("R"), seen);
        f[0].resume();
        assertEquals(List.of("R", "S"), seen);
        f[0].resume();
        f[0].resume();
        assertEquals(List.of("R", "S", "d", "Z"), seen);
    }

    @Test
    void aNegativeLengthIsAProtocolError() {
        HoldfastException e = assertThrows(HoldfastException.class,
                () -> framer.handle(Buffer.buffer().appendByte((byte) 'd').appendInt(-5)));
        assertEquals(ErrorCode.SOURCE_ERROR, e.code());
    }
}
