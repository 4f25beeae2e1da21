package dev.holdfast.cli.repo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.StorageCheck;
import dev.holdfast.repository.store.ObjectStore;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code holdfast repo check-storage}: exercises the configured store the way Holdfast uses it
 * (create, conditional create, multipart, list, get, range get, delete) under a scratch prefix,
 * and reports each step. Needs no key and no repository; cleans up after itself.
 */
@Command(name = "check-storage", mixinStandardHelpOptions = true, description = {
        "Exercise the configured object store (put, conditional create, multipart, abort, list, get, range get, delete)",
        "under check-storage/<random>/ and report each step. Needs no key; leaves nothing behind."})
public final class RepoCheckStorageCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<StorageCheck.Step> steps;
        String described;
        boolean atomic;
        try (ObjectStore store = repository.openStore(Ambient.clock())) {
            described = store.describe();
            atomic = store.capabilities().atomicCreate();
            steps = new StorageCheck(store, Ambient.random()).run();
        }
        boolean ok = steps.stream().allMatch(StorageCheck.Step::ok);
        var w = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = Json.object().put("store", described).put("ok", ok).put("atomic_create", atomic);
            ArrayNode arr = n.putArray("steps");
            steps.forEach(s -> arr.addObject().put("name", s.name()).put("ok", s.ok()).put("millis", s.millis()).put("detail", s.detail()));
            Json.print(w, n);
        } else {
            w.println("checking " + described);
            for (StorageCheck.Step s : steps) {
                w.printf("  %-4s %-34s %6d ms  %s%n", s.ok() ? "ok" : "FAIL", s.name(), s.millis(), s.detail());
            }
            w.println(atomic ? "create-if-absent is enforced by the store itself."
                    : "create-if-absent is emulated (check, then write): two writers of one name could race; see docs/format.md section 7.");
            w.println(ok ? "storage check passed" : "storage check FAILED");
        }
        if (!ok) {
            StorageCheck.Step first = steps.stream().filter(s -> !s.ok()).findFirst().orElseThrow();
            throw new HoldfastException(first.code(), "storage check failed at '" + first.name() + "': " + first.detail());
        }
        return 0;
    }
}
