package dev.holdfast.repository.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One backup id as {@code list} shows it: complete or not, and for a complete one what its
 * manifest says. Reading never fails for one bad backup: a manifest that cannot be read is
 * reported in {@link #error} and the others are still listed.
 *
 * <p>Manifests are told apart by their JSON {@code "type"} before they are parsed, so kinds this
 * class does not model (logical dumps, later kinds) are listed with their raw JSON in {@link #json}
 * instead of failing {@link BackupManifest#fromJson}.
 *
 * @param type        the manifest's {@code type} when it was read, else the id's
 * @param storedBytes from the listing (every object under the backup's prefix), so it is known
 *                    for incomplete backups too; a complete base backup's manifest has its own
 * @param manifest    the parsed manifest of a complete {@code full}/{@code incr} backup
 * @param json        the raw manifest of a complete backup of another type
 * @param error       why a complete backup's manifest could not be read (both copies)
 */
public record BackupSummary(BackupId id, String type, boolean complete, long storedBytes, Optional<BackupManifest> manifest,
                            Optional<JsonNode> json, Optional<String> error) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether {@code type} is a base backup type this build reads with {@link BackupManifest}. */
    public static boolean isBaseBackup(String type) {
        return BackupType.FULL.token().equals(type) || BackupType.INCR.token().equals(type);
    }

    /** Every backup of one cluster, oldest first. Blocking. */
    public static List<BackupSummary> list(BackupCatalog catalog, String source, String systemId) {
        List<BackupSummary> out = new ArrayList<>();
        for (BackupCatalog.Entry e : catalog.list(source, systemId).values()) {
            out.add(read(catalog, source, systemId, e));
        }
        return out;
    }

    /** One entry of {@link BackupCatalog#list}, its manifest read when it is complete. */
    public static BackupSummary read(BackupCatalog catalog, String source, String systemId, BackupCatalog.Entry e) {
        String idType = e.id().type().token();
        if (!e.complete()) {
            return new BackupSummary(e.id(), idType, false, e.storedBytes(), Optional.empty(), Optional.empty(), Optional.empty());
        }
        byte[] bytes;
        try {
            bytes = catalog.readManifestBytes(new BackupLayout(source, systemId, e.id()));
        } catch (HoldfastException x) {
            return new BackupSummary(e.id(), idType, true, e.storedBytes(), Optional.empty(), Optional.empty(),
                    Optional.of(x.code().code() + ": " + x.getMessage()));
        }
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (IOException x) {
            return new BackupSummary(e.id(), idType, true, e.storedBytes(), Optional.empty(), Optional.empty(),
                    Optional.of("integrity_failure: backup " + e.id() + ": the manifest is not valid JSON"));
        }
        String type = node.path("type").isTextual() ? node.path("type").asText() : idType;
        if (!isBaseBackup(type)) {
            return new BackupSummary(e.id(), type, true, e.storedBytes(), Optional.empty(), Optional.of(node), Optional.empty());
        }
        try {
            BackupManifest m = BackupManifest.fromJson(bytes, "backup " + e.id());
            return new BackupSummary(e.id(), type, true, e.storedBytes(), Optional.of(m), Optional.empty(), Optional.empty());
        } catch (HoldfastException x) {
            return new BackupSummary(e.id(), type, true, e.storedBytes(), Optional.empty(), Optional.empty(),
                    Optional.of(x.code().code() + ": " + x.getMessage()));
        }
    }
}
