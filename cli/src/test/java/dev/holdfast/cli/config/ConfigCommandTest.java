package dev.holdfast.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.ConfigSection;
import dev.holdfast.cli.Cli;
import dev.holdfast.controller.config.ControllerConfigKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigCommandTest {
    private static final Path DOC = Path.of("..", "docs", "configuration.md");

    @Test
    void docsConfigurationMdIsTheGeneratedReference() throws Exception {
        String generated = Cli.run("config", "reference").out();
        assertEquals(ConfigReference.markdown(), generated);
        assertEquals(generated, Files.readString(DOC),
                "docs/configuration.md is out of date: run bin/holdfast config reference > docs/configuration.md");
    }

    @Test
    void everySectionDeclaresEachKeyOnceWithADescription() {
        List<ConfigSection> all = new ArrayList<>(AgentConfig.sections());
        all.addAll(ControllerConfigKeys.ALL);
        all.addAll(dev.holdfast.controller.audit.AuditSettings.SECTIONS);
        for (ConfigSection s : all) {
            Set<String> seen = new HashSet<>();
            for (ConfigSection.Key k : s.keys()) {
                assertTrue(seen.add(k.name()), s.path() + ": " + k.name() + " declared twice");
                assertFalse(k.description().isBlank(), s.path() + "." + k.name() + " has no description");
                assertFalse(k.type().isBlank(), s.path() + "." + k.name() + " has no type");
            }
        }
    }

    @Test
    void checkAcceptsAValidAgentFileAndNamesTheUnknownKeyOfABadOne(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("agent.yaml");
        Files.writeString(good, """
                host: db1
                repository: {url: "file:///var/lib/holdfast/repo", key_file: /etc/holdfast/master.key}
                sources:
                  - {name: main, type: postgres, data_dir: /var/lib/postgresql/15/main, conninfo: "host=/run/postgresql",
                     wal: {mode: stream, partial_interval: 500ms}}
                restore: {allowed_targets: [/var/lib/holdfast/restore]}
                """);
        Cli ok = Cli.run("config", "check", "--agent", good.toString());
        assertEquals(0, ok.status(), ok::toString);
        assertTrue(ok.out().contains("valid agent configuration (host db1, 1 source)"), ok::toString);

        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, Files.readString(good).replace("partial_interval: 500ms", "partial_intervall: 500ms"));
        Cli refused = Cli.run("config", "check", "--agent", bad.toString());
        assertEquals(3, refused.status(), refused::toString);
        assertTrue(refused.err().contains("sources[0].wal.partial_intervall: unknown key"), refused::toString);
    }

    @Test
    void checkValidatesAControllerFileAndRefusesABadCronExpression(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("controller.yaml");
        Files.writeString(good, """
                listen: 127.0.0.1:7443
                data_dir: /var/lib/holdfast-controller
                policies:
                  default:
                    schedule: {daily: "0 2 * * *"}
                    retention: {daily: 7, weekly: 4, monthly: 12, pitr_window: 7d}
                """);
        Cli ok = Cli.run("config", "check", "--controller", good.toString());
        assertEquals(0, ok.status(), ok::toString);
        assertTrue(ok.out().contains("valid controller configuration (1 policy)"), ok::toString);

        Files.writeString(good, Files.readString(good).replace("0 2 * * *", "0 25 * * *"));
        Cli refused = Cli.run("config", "check", "--controller", good.toString());
        assertEquals(3, refused.status(), refused::toString);
        assertTrue(refused.err().contains("policies.default.schedule.daily"), refused::toString);
    }

    @Test
    void checkNeedsExactlyOneFile() {
        Cli none = Cli.run("config", "check");
        assertEquals(2, none.status(), none::toString);
    }
}
