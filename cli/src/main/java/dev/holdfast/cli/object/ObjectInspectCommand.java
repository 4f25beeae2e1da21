package dev.holdfast.cli.object;

import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.ObjectHeader;
import dev.holdfast.repository.store.ObjectKey;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code holdfast object inspect NAME}: the header and the authenticated footer, read from the
 * object's first 56 and last 81 bytes. Never prints key material.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, description = {
        "Show a sealed object's format version, data key version, segment size, sizes and checksums",
        "(from its header and authenticated footer; the data is not read). Never prints key material."})
public final class ObjectInspectCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Parameters(index = "0", paramLabel = "NAME", description = "The object's name.")
    String name;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Repository.Inspection in;
        String masterKeyId;
        String repositoryId;
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            in = repo.inspect(ObjectKey.of(name));
            masterKeyId = repo.masterKeyId();
            repositoryId = repo.config().repositoryIdHex();
        }
        ObjectHeader h = in.header();
        Footer f = in.footer();
        var w = spec.commandLine().getOut();
        if (json) {
            Json.print(w, Json.object().put("name", in.info().key().value()).put("format_version", ObjectHeader.VERSION)
                    .put("repository_id", repositoryId).put("data_key_version", h.dataKeyVersion())
                    .put("master_key_id", masterKeyId).put("compression", h.compression() == 1 ? "zstd" : "none")
                    .put("segment_size", h.segmentSize()).put("segments", f.dataSegments()).put("bytes", f.plaintextLength())
                    .put("stored_bytes", in.info().size()).put("last_modified", in.info().lastModified().toString())
                    .put("crc32c", String.format("%08x", f.crc32c())).put("sha256", f.sha256Hex().orElse(null)));
        } else {
            w.println("object          " + in.info().key());
            w.println("format          sealed object v" + ObjectHeader.VERSION + ", repository " + repositoryId);
            w.println("key             data key v" + h.dataKeyVersion() + " (wrapped by master key " + masterKeyId + ")");
            w.println("compression     " + (h.compression() == 1 ? "zstd" : "none") + ", segment size " + h.segmentSize());
            w.println("plaintext       " + f.plaintextLength() + " bytes in " + f.dataSegments() + " segment(s)");
            w.println("stored          " + in.info().size() + " bytes, " + in.info().lastModified());
            w.println("crc32c          " + String.format("%08x", f.crc32c()));
            w.println("sha256          " + f.sha256Hex().orElse("(not recorded)"));
        }
        return 0;
    }
}
