package dev.holdfast.agent.redis;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * An epoch's descriptor ({@code epoch.json}, docs/format.md section 13): the base it starts from
 * and the incr files the manifest listed when it began.
 *
 * @param epoch          the epoch number
 * @param createdAt      when the agent began the epoch
 * @param appendFilename Redis's {@code appendfilename} (incr file SEQ is {@code <appendfilename>.<SEQ>.incr.aof})
 * @param baseFile       the base file's name in {@code appendonlydir}
 * @param baseSeq        its sequence number
 * @param baseSize       its size in bytes
 * @param baseSha256     SHA-256 of its bytes (hex)
 * @param baseTime       the base file's modification time: the data set it holds is as of a moment no later
 * @param incrAtStart    the incr sequence numbers the manifest listed when the epoch began
 * @param gapBefore      whether AOF between the previous epoch's last shipped byte and this base was lost
 */
public record AofEpoch(long epoch, Instant createdAt, String appendFilename, String baseFile, long baseSeq, long baseSize,
                       String baseSha256, Instant baseTime, List<Long> incrAtStart, boolean gapBefore) {
    public static final int FORMAT = 1;

    public AofEpoch {
        incrAtStart = List.copyOf(incrAtStart);
    }

    /** Incr file {@code seq}'s name. */
    public String incrFile(long seq) {
        return appendFilename + "." + seq + ".incr.aof";
    }

    public byte[] toJson() {
        JsonObject base = new JsonObject().put("file", baseFile).put("seq", baseSeq).put("size", baseSize).put("sha256", baseSha256)
                .put("time", baseTime.toString());
        JsonArray incr = new JsonArray();
        incrAtStart.forEach(incr::add);
        return new JsonObject().put("format", FORMAT).put("epoch", epoch).put("created_at", createdAt.toString())
                .put("appendfilename", appendFilename).put("base", base).put("incr_at_start", incr).put("gap_before", gapBefore)
                .encode().getBytes(StandardCharsets.UTF_8);
    }

    /** A file name that stays in its directory: not empty, no separator, no leading dot, no control character. */
    static boolean plain(String name) {
        return name != null && !name.isEmpty() && name.length() <= 255 && !name.contains("/") && !name.contains("\\")
                && !name.startsWith(".") && name.chars().noneMatch(c -> c < 0x20 || c == 0x7f);
    }

    public static AofEpoch parse(byte[] json, String what) {
        try {
            JsonObject o = new JsonObject(new String(json, StandardCharsets.UTF_8));
            int format = o.getInteger("format");
            if (format > FORMAT) {
                throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, what + " has format " + format + "; this build reads " + FORMAT);
            }
            JsonObject b = o.getJsonObject("base");
            List<Long> incr = new ArrayList<>();
            o.getJsonArray("incr_at_start").forEach(x -> incr.add(((Number) x).longValue()));
            String app = o.getString("appendfilename");
            String file = b.getString("file");
            if (!plain(app) || !plain(file)) {
                throw new IllegalArgumentException("unsafe file name");
            }
            return new AofEpoch(o.getLong("epoch"), Instant.parse(o.getString("created_at")), app, file, b.getLong("seq"),
                    b.getLong("size"), b.getString("sha256"), Instant.parse(b.getString("time")), incr, o.getBoolean("gap_before"));
        } catch (HoldfastException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " is not a valid AOF epoch descriptor: " + e.getMessage());
        }
    }
}
