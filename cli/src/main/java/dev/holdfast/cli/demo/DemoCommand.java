package dev.holdfast.cli.demo;

import dev.holdfast.repository.store.Futures;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Version;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code holdfast demo}: the quick start, on embedded defaults and nothing else. At this stage of
 * the product: create a master key and a local repository, seal a sample directory into it, list
 * it, restore it into a scratch directory, verify every byte against the originals, show that a
 * tampered object fails closed, and say what it did and where things are.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = {
        "Quick start on embedded defaults: create a key and a local repository, seal a sample directory into it,",
        "list it, restore it, verify it, and report. Leaves the demo directory for you to explore."})
public final class DemoCommand implements Callable<Integer> {
    static final String MARKER = ".holdfast-demo";

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".holdfast-demo",
            description = "Working directory (default: ${DEFAULT-VALUE} in the current directory); recreated on each run.")
    Path dir;

    @Option(names = "--no-wait", description = "Exit right after the report (nothing stays running either way at this stage).")
    boolean noWait;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        Path root = prepare(dir.toAbsolutePath().normalize());
        Path sample = root.resolve("sample");
        Path restored = root.resolve("restored");
        Path repoDir = root.resolve("repository");
        Path keyPath = root.resolve("master.key");
        Files.createDirectories(restored);

        w.println("Holdfast " + Version.version() + " demo in " + root);
        List<Path> files = SampleTree.write(sample, new Random(20261124));
        long sampleBytes = 0;
        for (Path f : files) {
            sampleBytes += Files.size(f);
        }
        w.printf("1. wrote a sample directory: %d files, %s (config, logs, CSV, random bytes, an empty file)%n", files.size(), human(sampleBytes));

        KeyFile keys = KeyFile.create(keyPath, Ambient.clock(), Ambient.random());
        w.println("2. created master key " + keys.current().id() + " in " + keyPath + " (mode 0600)");

        try (Repository repo = Repository.init(FsObjectStore.open(repoDir, Ambient.clock()), keys, RepositoryConfig.DEFAULT_SEGMENT_SIZE,
                RepositoryConfig.DEFAULT_LEVEL, "holdfast " + Version.version() + " demo", Ambient.clock(), Ambient.random())) {
            w.println("3. created repository " + repo.config().repositoryIdHex() + " at " + repo.store().describe());

            long tPut = System.nanoTime();
            List<ObjectKey> names = new ArrayList<>();
            for (Path f : files) {
                ObjectKey name = ObjectKey.of("files/" + sample.relativize(f).toString().replace('\\', '/'));
                try (InputStream in = Files.newInputStream(f)) {
                    repo.put(name, in, true);
                }
                names.add(name);
            }
            double putSecs = (System.nanoTime() - tPut) / 1e9;
            List<ObjectInfo> listed = Futures.await(repo.store().listAll("files/"));
            long stored = listed.stream().mapToLong(ObjectInfo::size).sum();
            w.printf("4. sealed every file (zstd + AES-256-GCM, per-object keys) in %.2f s: %s -> %s stored (%.0f%%)%n",
                    putSecs, human(sampleBytes), human(stored), 100.0 * stored / Math.max(1, sampleBytes));
            w.println("5. listed the repository:");
            for (ObjectInfo o : listed) {
                w.printf("     %10d  %s%n", o.size(), o.key());
            }

            long tGet = System.nanoTime();
            int verified = 0;
            for (int i = 0; i < files.size(); i++) {
                Path out = restored.resolve(sample.relativize(files.get(i)));
                Files.createDirectories(out.getParent());
                Footer footer;
                try (OpeningInputStream in = repo.open(names.get(i)); OutputStream o = Files.newOutputStream(out)) {
                    in.transferTo(o);
                    footer = in.footer();
                }
                String original = sha256(files.get(i));
                if (!original.equals(sha256(out)) || !original.equals(footer.sha256Hex().orElse(""))) {
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "restored " + out + " differs from " + files.get(i));
                }
                verified++;
            }
            w.printf("6. restored everything into %s and verified it: %d of %d files byte-identical (SHA-256), %.2f s%n",
                    restored, verified, files.size(), (System.nanoTime() - tGet) / 1e9);

            w.println("7. tamper check: " + tamperCheck(repo, repoDir, names.get(0)));
        }
        w.printf("Done in %.1f s. Try it yourself:%n", (System.nanoTime() - t0) / 1e9);
        String opts = "--repo " + repoDir.toUri() + " --key-file " + keyPath;
        w.println("  bin/holdfast object ls " + opts);
        w.println("  bin/holdfast object inspect " + opts + " files/etc/app.yaml");
        w.println("  bin/holdfast object put " + opts + " README.md files/readme");
        w.println("  bin/holdfast object get " + opts + " files/readme /tmp/readme.copy");
        w.println("  bin/holdfast keys export --format paper --key-file " + keyPath);
        if (!noWait) {
            w.println("(The agent and controller are not part of this build yet, so nothing is left running.)");
        }
        w.flush();
        return 0;
    }

    /** Seals a copy of one object under another name with a flipped byte, and shows that reading it fails closed. */
    private static String tamperCheck(Repository repo, Path repoDir, ObjectKey victim) throws IOException {
        Path original = repoDir.resolve(victim.value());
        byte[] bytes = Files.readAllBytes(original);
        bytes[bytes.length / 2] ^= 0x01;
        ObjectKey copy = ObjectKey.of("tampered/" + victim.fileName());
        Futures.await(repo.store().create(copy, java.nio.ByteBuffer.wrap(Files.readAllBytes(original)), dev.holdfast.repository.store.PutOptions.DEFAULT));
        try {
            Files.write(repoDir.resolve(copy.value()), bytes);
            try (OpeningInputStream in = repo.open(copy)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
            throw new HoldfastException(ErrorCode.INTERNAL, "a tampered object was accepted");
        } catch (HoldfastException e) {
            if (e.code() != ErrorCode.INTEGRITY_FAILURE) {
                throw e;
            }
            return "an object copied under a new name with one flipped bit was refused: " + e.getMessage();
        } finally {
            Futures.await(repo.store().delete(copy));
        }
    }

    private static Path prepare(Path root) throws IOException {
        if (Files.exists(root)) {
            if (!Files.exists(root.resolve(MARKER))) {
                throw new HoldfastException(ErrorCode.OUTPUT_EXISTS, root + " exists and is not a Holdfast demo directory; choose another --dir");
            }
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(root);
        Files.writeString(root.resolve(MARKER), "created by holdfast demo; deleted and recreated by the next run\n");
        return root;
    }

    static String sha256(Path f) throws IOException {
        try (InputStream in = Files.newInputStream(f)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String human(long bytes) {
        if (bytes < 10 * 1024) {
            return bytes + " B";
        }
        if (bytes < 1024L * 1024) {
            return String.format("%.1f KiB", bytes / 1024.0);
        }
        return String.format("%.1f MiB", bytes / 1024.0 / 1024.0);
    }

    /** The sample directory: a little of what a database host holds. */
    static final class SampleTree {
        private SampleTree() {
        }

        static List<Path> write(Path root, Random r) throws IOException {
            List<Path> out = new ArrayList<>();
            out.add(text(root.resolve("etc/app.yaml"), "listen: 0.0.0.0:8080\ndatabase:\n  url: postgres://app@db1/app\n  pool: 20\nredis: redis://cache1:6379\n"));
            out.add(text(root.resolve("etc/nginx.conf"), "server {\n  listen 443 ssl;\n  location / { proxy_pass http://127.0.0.1:8080; }\n}\n"));
            StringBuilder log = new StringBuilder();
            for (int i = 0; log.length() < 3_000_000; i++) {
                log.append(String.format("2026-11-24T01:%02d:%02d.%03dZ INFO request id=%08x path=/api/v1/items/%d status=%d ms=%d%n",
                        (i / 6000) % 60, (i / 100) % 60, i % 1000, r.nextInt(), r.nextInt(5000), r.nextInt(10) == 0 ? 404 : 200, r.nextInt(250)));
            }
            out.add(text(root.resolve("logs/app.log"), log.toString()));
            StringBuilder csv = new StringBuilder("id,account,balance,updated_at\n");
            for (int i = 1; csv.length() < 2_500_000; i++) {
                csv.append(i).append(',').append(r.nextInt(100_000)).append(',').append(r.nextInt(2_000_000) - 1_000_000)
                        .append(",2026-11-").append(10 + r.nextInt(14)).append('\n');
            }
            out.add(text(root.resolve("data/accounts.csv"), csv.toString()));
            byte[] random = new byte[1536 * 1024];
            r.nextBytes(random);
            Path bin = root.resolve("data/random.bin");
            Files.createDirectories(bin.getParent());
            Files.write(bin, random);
            out.add(bin);
            out.add(text(root.resolve("data/empty"), ""));
            return out;
        }

        private static Path text(Path p, String content) throws IOException {
            Files.createDirectories(p.getParent());
            Files.writeString(p, content, StandardCharsets.UTF_8);
            return p;
        }
    }
}
