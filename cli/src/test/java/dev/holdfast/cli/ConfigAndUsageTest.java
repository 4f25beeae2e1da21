package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration files are validated with the file and key named; --help and usage errors behave. */
class ConfigAndUsageTest {
    @TempDir
    Path dir;

    private Path config(String yaml) throws Exception {
        Path p = dir.resolve("agent.yaml");
        Files.writeString(p, yaml);
        return p;
    }

    @Test
    void aValidConfigWithARelativeKeyFileWorks() throws Exception {
        assertEquals(0, Cli.run("keys", "init", "--out", dir.resolve("master.key").toString()).status());
        Path cfg = config("host: db1\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: master.key\n");
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);
        Cli ls = Cli.run("object", "ls", "--config", cfg.toString());
        assertEquals(0, ls.status(), ls::toString);
    }

    @Test
    void unknownKeysWrongTypesAndMissingKeysAreRefusedByName() throws Exception {
        Cli unknownTop = Cli.run("object", "ls", "--config", config("repositry:\n  url: file:///x\n").toString());
        assertEquals(3, unknownTop.status(), unknownTop::toString);
        assertTrue(unknownTop.err().contains("agent.yaml") && unknownTop.err().contains("repositry: unknown key"), unknownTop::toString);

        Cli unknownRepo = Cli.run("object", "ls", "--config",
                config("repository:\n  url: file:///x\n  key_file: /k\n  bucket: b\n").toString());
        assertEquals(3, unknownRepo.status(), unknownRepo::toString);
        assertTrue(unknownRepo.err().contains("repository.bucket"), unknownRepo::toString);

        Cli wrongType = Cli.run("object", "ls", "--config",
                config("repository:\n  url: file:///x\n  key_file: /k\n  path_style: yes please\n").toString());
        assertEquals(3, wrongType.status(), wrongType::toString);
        assertTrue(wrongType.err().contains("path_style") && wrongType.err().contains("true or false"), wrongType::toString);

        Cli missing = Cli.run("object", "ls", "--config", config("repository:\n  url: file:///x\n").toString());
        assertEquals(3, missing.status(), missing::toString);
        assertTrue(missing.err().contains("key_file"), missing::toString);

        Cli badUrl = Cli.run("object", "ls", "--config", config("repository:\n  url: ftp://x/y\n  key_file: /k\n").toString());
        assertEquals(3, badUrl.status(), badUrl::toString);
        assertTrue(badUrl.err().contains("file:// or s3://"), badUrl::toString);

        Cli notYaml = Cli.run("object", "ls", "--config", config("repository: [unclosed\n").toString());
        assertEquals(3, notYaml.status(), notYaml::toString);

        Cli absent = Cli.run("object", "ls", "--config", dir.resolve("absent.yaml").toString());
        assertEquals(3, absent.status(), absent::toString);
        assertTrue(absent.err().contains("does not exist"), absent::toString);
    }

    @Test
    void aSecretInTheConfigIsNeverPrinted() throws Exception {
        Path cfg = config("repository:\n  url: s3://bucket/prefix\n  endpoint: http://127.0.0.1:1\n  key_file: /nonexistent.key\n"
                + "  access_key_id: AKIATEST\n  secret_access_key: sup3r-s3cret-value\n");
        Cli r = Cli.run("object", "ls", "--config", cfg.toString());
        assertTrue(r.status() != 0, r::toString);
        assertTrue(!r.out().contains("sup3r-s3cret-value") && !r.err().contains("sup3r-s3cret-value"), r::toString);
    }

    @Test
    void everyCommandHasHelpAndUsageErrorsExitTwo() {
        for (String[] cmd : new String[][] {{"--help"}, {"keys", "--help"}, {"keys", "init", "--help"}, {"keys", "rotate", "--help"},
                {"keys", "retire", "--help"}, {"keys", "export", "--help"}, {"keys", "import", "--help"}, {"repo", "init", "--help"},
                {"repo", "check-storage", "--help"}, {"object", "put", "--help"}, {"object", "get", "--help"},
                {"object", "ls", "--help"}, {"object", "inspect", "--help"}, {"demo", "--help"}, {"agent", "--help"}, {"agent", "run", "--help"}}) {
            Cli r = Cli.run(cmd);
            assertEquals(0, r.status(), r::toString);
            assertTrue(r.out().contains("Usage:"), r::toString);
        }
        assertEquals(2, Cli.run("object", "put").status());
        assertEquals(2, Cli.run("no-such-command").status());
        Cli noRepo = Cli.run("object", "ls", "--repo", "file:///tmp/x");
        assertEquals(2, noRepo.status(), noRepo::toString);
        assertTrue(noRepo.err().contains("--key-file"), noRepo::toString);
    }
}
