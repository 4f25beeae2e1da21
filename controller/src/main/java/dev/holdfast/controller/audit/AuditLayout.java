package dev.holdfast.controller.audit;

import dev.holdfast.repository.store.ObjectKey;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names of the audit objects in the repository (docs/format.md section 15.3):
 * <ul>
 *   <li>{@code audit/keys/<key-id>}: the sealed copy of the audit key file;</li>
 *   <li>{@code audit/log/<key-id>/<first-seq>-<last-seq>.jsonl}: one export, sealed; sequence
 *       numbers in 20 zero-padded digits, so names sort in chain order.</li>
 * </ul>
 */
public final class AuditLayout {
    public static final String KEYS = "audit/keys/";
    public static final String LOG = "audit/log/";
    private static final Pattern EXPORT = Pattern.compile("audit/log/(ak-[0-9a-f]{16})/([0-9]{20})-([0-9]{20})\\.jsonl");

    private AuditLayout() {
    }

    public static ObjectKey key(String keyId) {
        return ObjectKey.of(KEYS + keyId);
    }

    public static ObjectKey export(String keyId, long firstSeq, long lastSeq) {
        return ObjectKey.of(String.format("%s%s/%020d-%020d.jsonl", LOG, keyId, firstSeq, lastSeq));
    }

    /** An export object's name, parsed. */
    public record ExportName(ObjectKey name, String keyId, long firstSeq, long lastSeq) {
    }

    public static Optional<ExportName> parseExport(ObjectKey name) {
        Matcher m = EXPORT.matcher(name.value());
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new ExportName(name, m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
    }
}
