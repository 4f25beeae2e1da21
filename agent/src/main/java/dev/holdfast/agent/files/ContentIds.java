package dev.holdfast.agent.files;

import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.DataKey;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.util.Comparator;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Content ids: HMAC-SHA-256 of a file's bytes under the repository's content-id key, so that blob
 * names (visible to whoever can list the bucket) do not reveal content hashes: without the key, nobody
 * can check whether a known file is stored. The key is {@code purposeKey("files/content-id")} of the
 * repository's <em>first</em> data key (the lowest version), so names stay stable when new data keys
 * are started and an unchanged file is never stored twice (docs/format.md, "Files").
 */
public final class ContentIds {
    public static final String PURPOSE = "files/content-id";
    private final SecretKeySpec key;

    public ContentIds(Repository repository) {
        DataKey first = repository.keyring().all().stream().min(Comparator.comparingInt(DataKey::version))
                .orElseThrow(() -> new IllegalStateException("a repository without data keys"));
        this.key = new SecretKeySpec(first.purposeKey(PURPOSE, repository.config().repositoryId()), "HmacSHA256");
    }

    /** A fresh MAC; feed it the content, then {@link #finish}. */
    public Mac newMac() {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac;
        } catch (InvalidKeyException e) {
            throw new IllegalStateException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    public static String finish(Mac mac) {
        return HexFormat.of().formatHex(mac.doFinal());
    }

    public String of(byte[] content, int off, int len) {
        Mac mac = newMac();
        mac.update(content, off, len);
        return finish(mac);
    }

    /**
     * A tailed file's path id: the first 32 hex digits of the HMAC of {@code "tail-path\0" + path}
     * (UTF-8) under the same key, so that object names do not reveal paths.
     */
    public String pathId(String path) {
        byte[] b = ("tail-path\0" + path).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return of(b, 0, b.length).substring(0, 32);
    }

    @Override
    public String toString() {
        return "ContentIds[...]";
    }
}
