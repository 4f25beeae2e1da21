package dev.holdfast.cli.audit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.cli.Json;
import dev.holdfast.controller.audit.AuditCatalogVerifier;
import dev.holdfast.controller.audit.AuditJsonl;
import dev.holdfast.controller.audit.AuditKey;
import dev.holdfast.controller.audit.AuditRepository;
import dev.holdfast.controller.audit.AuditVerifier;
import dev.holdfast.controller.catalog.AuditEntry;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast audit verify}: checks the audit log's HMAC chain and names the first broken link.
 * Exit 0 when it holds; 77 ({@code audit_chain_broken}) naming the entry when an entry was edited,
 * deleted or reordered or the log truncated; 78 ({@code audit_key_mismatch}) for the wrong key.
 */
@Command(name = "verify", mixinStandardHelpOptions = true, description = {
        "Verify the audit log's HMAC chain and name the first broken link: an entry edited, deleted or",
        "reordered, or the log truncated. Exits 0 when the chain holds, 77 (audit_chain_broken) when it",
        "does not, 78 (audit_key_mismatch) when the key is not the chain's.",
        "",
        "  holdfast audit verify --file audit.jsonl --key-file audit.key",
        "  holdfast audit verify --file audit.jsonl --config controller.yaml",
        "  holdfast audit verify --config controller.yaml [--from catalog|repository|all]",
        "",
        "The key: --key-file, else <data_dir>/audit.key of --config, else (after losing the controller)",
        "the sealed copy in the configured repository. Without --file, --config verifies the catalog",
        "(stop the controller first when the catalog is embedded) and the repository's exports, and",
        "checks that they agree."})
public final class AuditVerifyCommand implements Callable<Integer> {
    enum From { catalog, repository, all }

    @Option(names = "--file", paramLabel = "FILE", description = "An exported log (GET /api/v1/audit?format=jsonl, holdfast audit export).")
    Path file;

    @Option(names = "--key-file", paramLabel = "FILE", description = "The audit key file (the controller's <data_dir>/audit.key).")
    Path keyFile;

    @Option(names = "--config", paramLabel = "FILE", description = "The controller's configuration file: its key, catalog and repository.")
    Path config;

    @Option(names = "--from", paramLabel = "WHERE", description = "Without --file: catalog, repository or all (default: all there is).")
    From from;

    @Option(names = "--json", description = "Print JSON: {\"ok\": true, \"checked\": [...]} (a failure is still the error line and status).")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One verified source. */
    private record Checked(String what, long firstSeq, long lastSeq, long entries, String keyId, String note) {
    }

    @Override
    public Integer call() throws Exception {
        if (file == null && config == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give --file (with --key-file or --config), or --config");
        }
        if (file != null && from != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--from applies without --file only");
        }
        ControllerConfig cfg = config == null ? null : AuditSources.config(config);
        List<Checked> checked = new ArrayList<>();
        if (file != null) {
            checked.add(verifyFile(cfg));
        } else {
            checked.addAll(verifyController(cfg));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("ok", true);
            ArrayNode list = root.putArray("checked");
            for (Checked c : checked) {
                ObjectNode n = list.addObject().put("what", c.what()).put("key_id", c.keyId()).put("entries", c.entries());
                if (c.entries() > 0) {
                    n.put("first_seq", c.firstSeq()).put("last_seq", c.lastSeq());
                }
                if (!c.note().isEmpty()) {
                    n.put("note", c.note());
                }
            }
            Json.print(out, root);
        } else {
            for (Checked c : checked) {
                out.println(c.what() + ": " + (c.entries() == 0 ? "no chained entries" : "chain verified, seq " + c.firstSeq() + " to "
                        + c.lastSeq() + " (" + c.entries() + " entries)") + ", key " + c.keyId() + (c.note().isEmpty() ? "" : "; " + c.note()));
            }
        }
        return 0;
    }

    private Checked verifyFile(ControllerConfig cfg) throws Exception {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, file + " does not exist");
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read " + file + ": " + e.getMessage(), e);
        }
        AuditJsonl.Parsed parsed = AuditJsonl.parse(bytes, file.toString());
        AuditKey key = key(cfg, parsed.trailer().map(AuditJsonl.Trailer::keyId));
        AuditVerifier.Verified v = AuditVerifier.export(key, parsed, file.toString());
        return new Checked(file.toString(), v.firstSeq(), v.lastSeq(), v.count(), key.id(), "");
    }

    private List<Checked> verifyController(ControllerConfig cfg) throws Exception {
        boolean wantCatalog = from != From.repository;
        boolean wantRepository = from == From.repository || from == From.all || (from == null && cfg.repository().isPresent());
        if (wantRepository && cfg.repository().isEmpty()) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, cfg.file() + ": no 'repository' section: nothing exported to verify");
        }
        List<Checked> checked = new ArrayList<>();
        AuditCatalogVerifier.Result fromCatalog = null;
        Optional<String> chainKeyId = Optional.empty();
        Vertx vertx = Vertx.vertx();
        try {
            if (wantCatalog) {
                Catalog catalog = AuditSources.openCatalog(vertx, cfg);
                try {
                    chainKeyId = AuditSources.await(catalog.auditHead(), "reading the catalog").keyId();
                    AuditKey key = key(cfg, chainKeyId);
                    fromCatalog = AuditSources.await(AuditCatalogVerifier.verify(vertx, catalog, key), "verifying the catalog");
                    long base = fromCatalog.head().baseSeq();
                    checked.add(new Checked("catalog", fromCatalog.verified().firstSeq(), fromCatalog.verified().lastSeq(),
                            fromCatalog.verified().count(), key.id(), base == 0 ? "" : "entries 1 to " + base + " predate the chain and are not"
                            + " protected by it"));
                } finally {
                    catalog.close();
                }
            }
        } finally {
            AuditSources.close(vertx);
        }
        if (wantRepository) {
            try (Repository repository = AuditSources.openRepository(cfg)) {
                AuditRepository repo = new AuditRepository(repository);
                if (chainKeyId.isEmpty()) {
                    List<String> ids = repo.exportedKeyIds();
                    chainKeyId = ids.isEmpty() ? Optional.empty() : Optional.of(ids.get(ids.size() - 1));
                }
                AuditKey key = key(cfg, chainKeyId, repo);
                AuditVerifier.Verified v = repo.verify(key);
                checked.add(new Checked("repository", v.firstSeq(), v.lastSeq(), v.count(), key.id(), ""));
                if (fromCatalog != null) {
                    compare(fromCatalog, v);
                }
            }
        }
        return checked;
    }

    /** The repository's exports must reach the catalog's recorded export position, with the catalog's macs. */
    private static void compare(AuditCatalogVerifier.Result c, AuditVerifier.Verified r) {
        long exported = c.head().exportedSeq();
        if (exported > c.head().baseSeq() && (r.count() == 0 || r.lastSeq() < exported)) {
            throw new HoldfastException(ErrorCode.AUDIT_CHAIN_BROKEN, "repository: log truncated "
                    + (r.count() == 0 ? "before seq " + (c.head().baseSeq() + 1) : "after seq " + r.lastSeq())
                    + ": the recorded head is seq " + exported + " (the catalog's export position; an export object deleted)");
        }
        // Both chains start at the genesis value, so they must start at the same seq: a catalog whose
        // head was rewritten to call chained entries "written before the chain" (base_seq moved up,
        // so that its own check covers nothing) no longer starts where the exports do. With equal
        // starts, equal macs at the exports' last seq mean equal entries up to it (each mac chains
        // every entry before it).
        if (r.count() > 0 && r.firstSeq() != c.head().baseSeq() + 1) {
            throw new HoldfastException(ErrorCode.AUDIT_CHAIN_BROKEN, "catalog: its chain starts after seq " + c.head().baseSeq()
                    + " but the repository's exports chain entries from seq " + r.firstSeq() + " (the catalog's chain head was rewritten)");
        }
        if (r.count() > 0) {
            for (AuditEntry e : c.entries()) {
                if (e.record().seq() == r.lastSeq() && !e.mac().orElseThrow().equals(r.lastMac())) {
                    throw new HoldfastException(ErrorCode.AUDIT_CHAIN_BROKEN, "entry seq " + r.lastSeq()
                            + ": the catalog and the repository's export differ (one of them was rewritten with the key)");
                }
            }
        }
    }

    private AuditKey key(ControllerConfig cfg, Optional<String> keyId) {
        return key(cfg, keyId, null);
    }

    /** --key-file, else the data directory's key, else the repository's copy of {@code keyId}. */
    private AuditKey key(ControllerConfig cfg, Optional<String> keyId, AuditRepository repo) {
        if (keyFile != null) {
            return AuditKey.load(keyFile);
        }
        if (cfg == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--file needs --key-file or --config (for the key)");
        }
        Optional<AuditKey> local = AuditSources.dataDirKey(cfg);
        if (local.isPresent() && (keyId.isEmpty() || keyId.get().equals(local.get().id()))) {
            return local.get();
        }
        if (keyId.isPresent() && cfg.repository().isPresent()) {
            if (repo != null) {
                return repo.key(keyId.get()).orElseThrow(() -> noKey(cfg, keyId));
            }
            try (Repository repository = AuditSources.openRepository(cfg)) {
                return new AuditRepository(repository).key(keyId.get()).orElseThrow(() -> noKey(cfg, keyId));
            }
        }
        if (local.isPresent()) {
            return local.get();
        }
        throw noKey(cfg, keyId);
    }

    private static HoldfastException noKey(ControllerConfig cfg, Optional<String> keyId) {
        return new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH, "no audit key" + keyId.map(k -> " " + k).orElse("") + ": not in "
                + cfg.dataDir().resolve("audit.key") + (cfg.repository().isPresent() ? " nor in the repository" : "")
                + "; give --key-file");
    }
}
