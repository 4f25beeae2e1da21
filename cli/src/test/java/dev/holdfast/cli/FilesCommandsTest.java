package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.error.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code backup} and {@code restore} of a files source, through the real command line. */
class FilesCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void backupRestoreAndOnePathOfAFilesSource() throws Exception {
        Path src = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(src.resolve("app.conf"), "port=80\n");
        Files.createDirectories(src.resolve("conf.d"));
        Files.writeString(src.resolve("conf.d/10-a.conf"), "a=1\n");
        Files.setPosixFilePermissions(src.resolve("conf.d/10-a.conf"), PosixFilePermissions.fromString("rw-------"));
        Files.writeString(src.resolve("server.key"), "-----BEGIN PRIVATE KEY-----\n");
        Files.writeString(src.resolve("app.bak"), "old");
        Files.createSymbolicLink(src.resolve("current.conf"), Path.of("app.conf"));
        Path restoreRoot = Files.createDirectories(dir.resolve("restore"));
        assertEquals(0, Cli.run("keys", "init", "--out", dir.resolve("master.key").toString()).status());
        String y = "host: web1\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + dir.resolve("master.key") + "\n"
                + "sources:\n  - name: app-config\n    type: files\n    paths: [\"" + src + "/**\"]\n    exclude: [\"**/*.bak\"]\n"
                + "restore:\n  allowed_targets: [" + restoreRoot + "]\n";
        Path cfg = Files.writeString(dir.resolve("agent.yaml"), y);
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);

        Cli b = Cli.run("backup", "--config", cfg.toString(), "--source", "app-config", "--json");
        assertEquals(0, b.status(), b::toString);
        JsonNode r = JSON.readTree(b.out());
        assertEquals("files", r.get("type").asText());
        assertTrue(r.get("stored").asBoolean());
        assertEquals(2, r.get("files").asInt(), b.out());
        assertEquals(2, r.get("files_uploaded").asInt());
        assertEquals(1, r.get("secrets_excluded").size());
        assertEquals(src.resolve("server.key").toString(), r.get("secrets_excluded").get(0).get("path").asText());
        assertTrue(b.err().contains("left out " + src.resolve("server.key")), b.err());
        assertFalse(b.out().contains("BEGIN PRIVATE KEY") || b.err().contains("BEGIN PRIVATE KEY"));
        String id = r.get("id").asText();

        Cli again = Cli.run("backup", "--config", cfg.toString(), "--source", "app-config", "--json");
        assertEquals(0, again.status(), again::toString);
        assertFalse(JSON.readTree(again.out()).get("stored").asBoolean());
        assertEquals(0, JSON.readTree(again.out()).get("files_uploaded").asInt());

        Cli list = Cli.run("list", "--config", cfg.toString(), "--source", "app-config", "--json");
        assertEquals(0, list.status(), list::toString);
        JsonNode listed = JSON.readTree(list.out()).get("sources").get(0);
        assertEquals("files", listed.get("type").asText());
        assertEquals(1, listed.get("snapshots").size(), "the unchanged second run stored nothing");
        assertEquals(id, listed.get("latest").get("id").asText());
        assertEquals(1, listed.get("latest").get("excluded").asInt(), list.out()); // server.key (app.bak is excluded by pattern, not reported)
        Cli human = Cli.run("list", "--config", cfg.toString());
        assertEquals(0, human.status(), human::toString);
        assertTrue(human.out().contains("files snapshots of app-config: 1, latest " + id), human.out());

        Path target = restoreRoot.resolve("all");
        Cli rs = Cli.run("restore", "--config", cfg.toString(), "--source", "app-config", "--backup", id, "--target", target.toString(), "--json");
        assertEquals(0, rs.status(), rs::toString);
        Path restored = target.resolve(src.toString().substring(1));
        assertEquals("port=80\n", Files.readString(restored.resolve("app.conf")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(restored.resolve("conf.d/10-a.conf"))));
        assertEquals(Path.of("app.conf"), Files.readSymbolicLink(restored.resolve("current.conf")));
        assertFalse(Files.exists(restored.resolve("server.key")));
        assertFalse(Files.exists(restored.resolve("app.bak")));
        assertEquals(Files.getLastModifiedTime(src.resolve("app.conf")), Files.getLastModifiedTime(restored.resolve("app.conf")));

        Path one = restoreRoot.resolve("one");
        Cli rp = Cli.run("restore", "--config", cfg.toString(), "--source", "app-config", "--target", one.toString(), "--path",
                src.resolve("conf.d").toString(), "--json");
        assertEquals(0, rp.status(), rp::toString);
        assertEquals(1, JSON.readTree(rp.out()).get("files").asInt());
        assertTrue(Files.exists(one.resolve(src.toString().substring(1)).resolve("conf.d/10-a.conf")));
        assertFalse(Files.exists(one.resolve(src.toString().substring(1)).resolve("app.conf")));

        Cli outside = Cli.run("restore", "--config", cfg.toString(), "--source", "app-config", "--target", dir.resolve("elsewhere").toString());
        assertEquals(ErrorCode.TARGET_NOT_ALLOWED.exitStatus(), outside.status(), outside::toString);
        assertFalse(Files.exists(dir.resolve("elsewhere")));
        Cli dry = Cli.run("restore", "--config", cfg.toString(), "--source", "app-config", "--target", restoreRoot.resolve("d").toString(), "--dry-run");
        assertEquals(ErrorCode.USAGE.exitStatus(), dry.status(), dry::toString);

        // a restore host without the source in its configuration restores it from the repository
        String other = "host: dr1\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + dir.resolve("master.key") + "\n"
                + "restore:\n  allowed_targets: [" + restoreRoot + "]\n";
        Path otherCfg = Files.writeString(dir.resolve("other.yaml"), other);
        Cli elsewhere = Cli.run("restore", "--config", otherCfg.toString(), "--source", "app-config", "--target", restoreRoot.resolve("dr").toString(),
                "--path", src.resolve("app.conf").toString());
        assertEquals(0, elsewhere.status(), elsewhere::toString);
        assertEquals("port=80\n", Files.readString(restoreRoot.resolve("dr").resolve(src.toString().substring(1)).resolve("app.conf")));

        Cli notEmpty = Cli.run("restore", "--config", cfg.toString(), "--source", "app-config", "--target", target.toString());
        assertEquals(ErrorCode.TARGET_NOT_EMPTY.exitStatus(), notEmpty.status(), notEmpty::toString);
    }
}
