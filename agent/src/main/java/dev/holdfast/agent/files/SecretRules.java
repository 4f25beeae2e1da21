package dev.holdfast.agent.files;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Which files look like secrets (docs/files.md, "Secrets"). Such files are excluded from snapshots
 * unless a source's {@code include_secrets} glob matches them; they are reported (path and reason,
 * never content) and never uploaded. The defaults, on the file's name (case-insensitive):
 * <ul>
 *   <li>private keys: {@code *.key}, {@code id_rsa*}, {@code id_ecdsa*}, {@code id_ed25519*}, {@code id_dsa*}
 *       (but not their {@code *.pub} public halves), and any {@code *.pem} whose first 64 KiB contain
 *       {@code PRIVATE KEY};</li>
 *   <li>key stores and credentials: {@code *secret*}, {@code *.p12}, {@code *.pfx}, {@code *.keystore},
 *       {@code *.jks}, {@code credentials*};</li>
 *   <li>environment files ({@code .env}, {@code .env.*}, {@code *.env}) holding a credentials-like
 *       assignment: a variable whose name contains {@code PASSWORD}, {@code PASSWD}, {@code SECRET} or
 *       {@code TOKEN}, or ends with {@code _KEY}, assigned a non-empty value.</li>
 * </ul>
 */
public final class SecretRules {
    static final int SNIFF_BYTES = 64 * 1024;
    private static final Pattern ENV_ASSIGNMENT = Pattern.compile(
            "(?m)^\\s*(?:export\\s+)?[A-Za-z_][A-Za-z0-9_]*?(?:PASSWORD|PASSWD|SECRET|TOKEN|_KEY)[A-Za-z0-9_]*\\s*=\\s*\\S",
            Pattern.CASE_INSENSITIVE);
    private final List<PathMatcher> include;

    /** @param includeSecrets globs (absolute paths) of files kept although they look like secrets */
    public SecretRules(List<String> includeSecrets) {
        this.include = includeSecrets.stream().map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
    }

    /**
     * Why the regular file {@code file} looks like a secret, or empty. Reads at most 64 KiB of
     * {@code *.pem} and environment files (never following a symbolic link: callers pass regular files).
     */
    public Optional<String> secretReason(Path file) {
        for (PathMatcher m : include) {
            if (m.matches(file)) {
                return Optional.empty();
            }
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".key")) {
            return Optional.of("private key name (*.key)");
        }
        if (!name.endsWith(".pub") && (name.startsWith("id_rsa") || name.startsWith("id_ed25519") || name.startsWith("id_ecdsa")
                || name.startsWith("id_dsa"))) {
            return Optional.of("SSH private key name (id_*)");
        }
        if (name.contains("secret")) {
            return Optional.of("name contains 'secret'");
        }
        if (name.endsWith(".p12") || name.endsWith(".pfx") || name.endsWith(".keystore") || name.endsWith(".jks")) {
            return Optional.of("key store name (*.p12, *.pfx, *.keystore, *.jks)");
        }
        if (name.startsWith("credentials")) {
            return Optional.of("name starts with 'credentials'");
        }
        if (name.endsWith(".pem") && head(file).contains("PRIVATE KEY")) {
            return Optional.of("PEM file holding a PRIVATE KEY");
        }
        if ((name.equals(".env") || name.startsWith(".env.") || name.endsWith(".env")) && ENV_ASSIGNMENT.matcher(head(file)).find()) {
            return Optional.of("environment file with a credentials-like assignment");
        }
        return Optional.empty();
    }

    private static String head(Path file) {
        try (InputStream in = Files.newInputStream(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return new String(in.readNBytes(SNIFF_BYTES), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return ""; // unreadable: the snapshot reports it when it reads the file
        }
    }
}
