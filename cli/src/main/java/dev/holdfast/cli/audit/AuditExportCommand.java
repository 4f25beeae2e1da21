package dev.holdfast.cli.audit;

import dev.holdfast.controller.audit.AuditExport;
import dev.holdfast.controller.audit.AuditKey;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast audit export --config FILE [--after SEQ] > audit.jsonl}: the catalog's audit chain
 * as JSON lines ending with a trailer authenticated with the audit key, for an auditor to check
 * with {@code holdfast audit verify --file}.
 */
@Command(name = "export", mixinStandardHelpOptions = true, description = {
        "Print the audit log as JSON lines: one entry per line with its chain mac, then a trailer line",
        "authenticated with the audit key (so a shortened copy is detected). Verify it with",
        "'holdfast audit verify --file F'. With the embedded catalog, stop the controller first, or use",
        "GET /api/v1/audit?format=jsonl on the running controller."})
public final class AuditExportCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", required = true, description = "The controller's configuration file.")
    Path config;

    @Option(names = "--after", paramLabel = "SEQ", defaultValue = "0",
            description = "Export only the entries after this sequence number (default: the whole chain).")
    long after;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (after < 0) {
            throw new HoldfastException(ErrorCode.USAGE, "--after must be 0 or more");
        }
        ControllerConfig cfg = AuditSources.config(config);
        AuditKey key = AuditSources.dataDirKey(cfg).orElseThrow(() -> new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH,
                "no audit key at " + cfg.dataDir().resolve("audit.key") + ": the controller creates it at its first start"));
        Vertx vertx = Vertx.vertx();
        byte[] bytes;
        try {
            Catalog catalog = AuditSources.openCatalog(vertx, cfg);
            try {
                bytes = AuditSources.await(AuditExport.build(vertx, catalog, key, after), "the export");
            } finally {
                catalog.close();
            }
        } finally {
            AuditSources.close(vertx);
        }
        spec.commandLine().getOut().print(new String(bytes, StandardCharsets.UTF_8));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
