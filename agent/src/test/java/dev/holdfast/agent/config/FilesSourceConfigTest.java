package dev.holdfast.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FilesSourceConfigTest {
    @TempDir
    Path dir;

    private static final String HEAD = "repository:\n  url: file:///tmp/r\n  key_file: /tmp/k\nsources:\n  - name: conf\n    type: files\n";

    private AgentConfig load(String yaml) throws Exception {
        return AgentConfig.load(Files.writeString(dir.resolve("a.yaml"), HEAD + yaml), () -> "h");
    }

    private String refused(String yaml) {
        HoldfastException e = assertThrows(HoldfastException.class, () -> load(yaml));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
        return e.getMessage();
    }

    @Test
    void includeSecretsAndGlobsAreValidated() throws Exception {
        FilesSourceConfig c = (FilesSourceConfig) load("    paths: [\"/etc/app/**\"]\n    exclude: [\"**/*.bak\"]\n"
                + "    include_secrets: [\"/etc/app/tls/ca.key\"]\n    tail: [\"/var/log/app/audit.log\"]\n").sources().get(0);
        assertEquals(List.of("/etc/app/tls/ca.key"), c.includeSecrets());
        assertEquals(List.of("/var/log/app/audit.log"), c.tail());
        assertTrue(refused("    paths: [\"/etc/[app\"]\n").contains("paths[0]"));
        assertTrue(refused("    paths: [\"/etc/app\"]\n    include_secrets: [\"{a\"]\n").contains("include_secrets[0]"));
        assertTrue(refused("    paths: [\"/etc/app\"]\n    include_secrets: 3\n").contains("include_secrets"));
        assertTrue(refused("    paths: [\"etc/app\"]\n").contains("paths[0]"));
        assertTrue(refused("    paths: [\"/etc/app\"]\n    secrets: []\n").contains("secrets"));
    }
}
