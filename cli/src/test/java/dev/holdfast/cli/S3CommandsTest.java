package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.testkit.S3TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line against a real S3 API server (S3Proxy) over HTTP, configured as an operator would. */
class S3CommandsTest {
    @TempDir
    static Path dir;
    static S3TestServer s3;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3TestServer.startInProcess(Files.createDirectory(dir.resolve("s3")));
    }

    @AfterAll
    static void stop() throws Exception {
        s3.close();
    }

    private Path config(String prefix, String secret) throws Exception {
        Path key = dir.resolve(prefix + ".key");
        if (!Files.exists(key)) {
            assertEquals(0, Cli.run("keys", "init", "--out", key.toString()).status());
        }
        Path cfg = dir.resolve(prefix + "-" + secret.length() + ".yaml");
        Files.writeString(cfg, "host: db1\nrepository:\n"
                + "  url: s3://" + s3.bucket() + "/" + prefix + "\n"
                + "  endpoint: " + s3.endpoint() + "\n"
                + "  region: us-east-1\n"
                + "  path_style: true\n"
                + "  key_file: " + key + "\n"
                + "  access_key_id: " + s3.accessKey() + "\n"
                + "  secret_access_key: " + secret + "\n");
        return cfg;
    }

    @Test
    void initCheckPutGetInspectAndListAgainstS3() throws Exception {
        String cfg = config("prod/holdfast", s3.secretKey()).toString();
        Cli init = Cli.run("repo", "init", "--config", cfg, "--json");
        assertEquals(0, init.status(), init::toString);

        Cli check = Cli.run("repo", "check-storage", "--config", cfg, "--json");
        assertEquals(0, check.status(), check::toString);
        JsonNode c = Json.MAPPER.readTree(check.out());
        assertTrue(c.get("ok").asBoolean() && c.get("atomic_create").asBoolean(), check::toString);
        assertFalse(check.out().contains(s3.secretKey()), "the secret is never printed");

        // 20 MiB of half-compressible data: several 8 MiB multipart parts after sealing.
        byte[] data = new byte[20 * 1024 * 1024 + 3];
        new Random(7).nextBytes(data);
        for (int i = 0; i < data.length / 2; i++) {
            data[i] = (byte) (i % 251);
        }
        Path in = dir.resolve("big.bin");
        Files.write(in, data);
        Cli put = Cli.run("object", "put", "--config", cfg, in.toString(), "files/big.bin", "--json");
        assertEquals(0, put.status(), put::toString);
        assertTrue(Json.MAPPER.readTree(put.out()).get("stored_bytes").asLong() > 10L * 1024 * 1024, put::toString);

        Path out = dir.resolve("big.out");
        Cli get = Cli.run("object", "get", "--config", cfg, "files/big.bin", out.toString());
        assertEquals(0, get.status(), get::toString);
        assertArrayEquals(data, Files.readAllBytes(out));

        Cli inspect = Cli.run("object", "inspect", "--config", cfg, "files/big.bin", "--json");
        assertEquals(0, inspect.status(), inspect::toString);
        assertEquals(data.length, Json.MAPPER.readTree(inspect.out()).get("bytes").asLong());

        Cli ls = Cli.run("object", "ls", "--config", cfg, "--json");
        assertEquals(0, ls.status(), ls::toString);
        JsonNode objects = Json.MAPPER.readTree(ls.out()).get("objects");
        assertEquals("config", objects.get(0).get("name").asText(), "names are relative to the bucket prefix");
        assertTrue(ls.out().contains("files/big.bin"));

        Cli again = Cli.run("object", "put", "--config", cfg, in.toString(), "files/big.bin");
        assertEquals(21, again.status(), again::toString);
    }

    @Test
    void wrongCredentialsAreAccessDeniedAndTheSecretIsNotPrinted() throws Exception {
        String wrong = "definitely-not-the-secret";
        Cli r = Cli.run("repo", "check-storage", "--config", config("denied", wrong).toString());
        assertEquals(23, r.status(), r::toString);
        assertTrue(r.err().contains("store_access_denied"), r::toString);
        assertFalse(r.out().contains(wrong) || r.err().contains(wrong), r::toString);
    }

    @Test
    void aMissingRepositoryUnderAPrefixIsRepositoryNotFound() throws Exception {
        Cli r = Cli.run("object", "ls", "--config", config("nothing-here", s3.secretKey()).toString());
        assertEquals(10, r.status(), r::toString);
    }
}
