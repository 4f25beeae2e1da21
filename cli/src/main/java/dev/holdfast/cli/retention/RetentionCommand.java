package dev.holdfast.cli.retention;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.retention.RetentionInventory;
import dev.holdfast.repository.retention.RetentionPlan;
import dev.holdfast.repository.retention.RetentionRules;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.ZoneId;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code holdfast retention ...}: retention's dry run from the command line. */
@Command(name = "retention", mixinStandardHelpOptions = true, description = "Show what retention keeps and deletes (the controller enforces it).",
        subcommands = {RetentionCommand.Plan.class})
public final class RetentionCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /**
     * {@code holdfast retention plan}: every backup of every cluster (or of {@code --source}) with
     * whether retention keeps it and why, and the WAL it would delete. Reads only; exit 0.
     */
    @Command(name = "plan", mixinStandardHelpOptions = true, description = {
            "Plan retention over the repository without deleting anything: each backup kept or dropped with the reason,",
            "and the WAL objects that would go (docs/retention.md). The controller enforces the plan of its policies."})
    public static final class Plan implements Callable<Integer> {
        private static final Pattern WINDOW = Pattern.compile("([0-9]{1,6})(d|h|m)");

        @Mixin
        RepositoryOptions repository;

        @Option(names = "--source", paramLabel = "NAME", description = "Only this source (default: every source).")
        String source;

        @Option(names = "--daily", defaultValue = "7", description = "Daily slots kept (default ${DEFAULT-VALUE}).")
        int daily;

        @Option(names = "--weekly", defaultValue = "4", description = "ISO-week slots kept (default ${DEFAULT-VALUE}).")
        int weekly;

        @Option(names = "--monthly", defaultValue = "12", description = "Month slots kept (default ${DEFAULT-VALUE}).")
        int monthly;

        @Option(names = "--pitr-window", defaultValue = "7d", paramLabel = "DURATION", description = "PITR window, e.g. 7d, 36h, 0d (default ${DEFAULT-VALUE}).")
        String pitrWindow;

        @Option(names = "--time-zone", defaultValue = "UTC", paramLabel = "ZONE", description = "Zone of days, weeks and months (default ${DEFAULT-VALUE}).")
        String zone;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            RetentionRules rules;
            try {
                rules = new RetentionRules(daily, weekly, monthly, window(pitrWindow), ZoneId.of(zone), RetentionRules.DEFAULT_GRACE);
            } catch (IllegalArgumentException | java.time.DateTimeException e) {
                throw new HoldfastException(ErrorCode.USAGE, "invalid retention rules: " + e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            ArrayNode clusters = Json.MAPPER.createArrayNode();
            try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
                for (RetentionInventory.Cluster c : RetentionInventory.clusters(repo, s -> source == null || s.equals(source))) {
                    RetentionPlan plan = RetentionInventory.plan(repo, c, rules, Ambient.clock().instant());
                    if (json) {
                        clusters.add(toJson(plan));
                    } else {
                        print(out, plan);
                    }
                }
            }
            if (json) {
                ObjectNode root = Json.object();
                root.put("rules", rules.counts()).put("pitr_window_seconds", rules.pitrWindow().toSeconds()).put("time_zone", zone);
                root.set("clusters", clusters);
                Json.print(out, root);
            }
            return 0;
        }

        static Duration window(String text) {
            Matcher m = WINDOW.matcher(text.trim());
            if (!m.matches()) {
                throw new HoldfastException(ErrorCode.USAGE, "--pitr-window: expected a duration such as 7d, 36h or 30m, not '" + text + "'");
            }
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "d" -> Duration.ofDays(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofMinutes(n);
            };
        }

        private static void print(PrintWriter out, RetentionPlan plan) {
            out.println("retention of " + plan.source() + " (system id " + plan.systemId() + "): keeps " + plan.kept().size()
                    + ", deletes " + plan.deleted().size() + " backup(s) and " + plan.wal().size() + " WAL object(s)");
            for (RetentionPlan.BackupDecision d : plan.backups()) {
                out.println("  " + d.id() + "  " + d.action().token().toUpperCase(java.util.Locale.ROOT) + "  " + String.join("; ", d.reasons()));
            }
            if (!plan.wal().isEmpty()) {
                out.println("  WAL: " + plan.wal().get(0).key() + " .. " + plan.wal().get(plan.wal().size() - 1).key() + ": "
                        + plan.wal().get(plan.wal().size() - 1).reason());
            }
            plan.notes().forEach(n -> out.println("  note: " + n));
        }

        private static ObjectNode toJson(RetentionPlan plan) {
            ObjectNode c = Json.object();
            c.put("source", plan.source()).put("system_id", plan.systemId());
            ArrayNode backups = c.putArray("backups");
            for (RetentionPlan.BackupDecision d : plan.backups()) {
                ObjectNode b = backups.addObject();
                b.put("id", d.id().toString()).put("type", d.type()).put("action", d.action().token());
                ArrayNode reasons = b.putArray("reasons");
                d.reasons().forEach(reasons::add);
            }
            ArrayNode wal = c.putArray("wal_delete");
            plan.wal().forEach(w -> wal.addObject().put("object", w.key().value()).put("timeline", w.timeline()).put("reason", w.reason()));
            ArrayNode notes = c.putArray("notes");
            plan.notes().forEach(notes::add);
            return c;
        }
    }
}
