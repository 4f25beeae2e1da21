package dev.holdfast.controller.api;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** The body of {@code POST /api/v1/restores}, field by field (docs/api.md). */
final class RestoreBodies {
    static final String EXAMPLE = "{\"host\": \"db1\", \"source\": \"main\", \"backup\": \"latest\", \"to_time\": \"2026-11-24T08:00:00Z\","
            + " \"target\": \"/var/lib/holdfast/restore/x\"}";
    static final Pattern BACKUP = Pattern.compile("latest|[0-9]{8}T[0-9]{6}Z-(full|incr)(-[0-9]{1,4})?");
    static final Pattern TIME = Pattern.compile("[0-9T:.+Zz-]{10,40}");
    static final Pattern LSN = Pattern.compile("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}");
    static final Pattern TARGET = Pattern.compile("/[^\\x00]{0,4095}");

    private RestoreBodies() {
    }

    static RestoreRequests.Ask ask(JsonObject body) {
        Bodies.allowOnly(body, List.of("host", "source", "backup", "to_time", "to_lsn", "immediate", "target"));
        String host = Bodies.string(body, "host", ApiRouter.HOST, "the host that restores, such as db1");
        String source = Bodies.string(body, "source", ApiRouter.SOURCE, "a source name such as main");
        String backup = Bodies.optionalString(body, "backup", BACKUP, "latest or a backup id such as 20261123T090000Z-full")
                .orElse("latest");
        Optional<String> toTime = Bodies.optionalString(body, "to_time", TIME, "an RFC 3339 time such as 2026-11-24T08:00:00Z");
        Optional<String> toLsn = Bodies.optionalString(body, "to_lsn", LSN, "an LSN such as 0/3000138");
        Object imm = body.getValue("immediate");
        if (imm != null && !(imm instanceof Boolean)) {
            throw new HoldfastException(ErrorCode.USAGE, "field 'immediate' must be true or false");
        }
        boolean immediate = Boolean.TRUE.equals(imm);
        if ((toTime.isPresent() ? 1 : 0) + (toLsn.isPresent() ? 1 : 0) + (immediate ? 1 : 0) > 1) {
            throw new HoldfastException(ErrorCode.USAGE, "give at most one of to_time, to_lsn and immediate");
        }
        String target = Bodies.string(body, "target", TARGET, "an absolute directory on the host, such as /var/lib/holdfast/restore/x");
        return new RestoreRequests.Ask(host, source, backup, toTime, toLsn, immediate, target);
    }
}
