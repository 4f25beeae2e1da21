package dev.holdfast.repository.store;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * {@code repo check-storage}: the operations Holdfast relies on, run against a real store under
 * {@code check-storage/<random>/}, step by step, stopping at the first failure and deleting what
 * it wrote. Blocking; for the CLI and the controller's workers.
 */
public final class StorageCheck {
    /** One step's outcome; {@code code} is meaningful when it failed. */
    public record Step(String name, boolean ok, long millis, String detail, ErrorCode code) {
    }

    @FunctionalInterface
    private interface Action {
        String run() throws Exception;
    }

    private final ObjectStore store;
    private final String prefix;
    private final SecureRandom random;

    public StorageCheck(ObjectStore store, SecureRandom random) {
        this.store = store;
        this.random = random;
        byte[] r = new byte[8];
        random.nextBytes(r);
        this.prefix = "check-storage/" + HexFormat.of().formatHex(r) + "/";
    }

    public List<Step> run() {
        List<Step> steps = new ArrayList<>();
        ObjectKey small = ObjectKey.of(prefix + "small");
        ObjectKey large = ObjectKey.of(prefix + "multipart");
        ObjectKey aborted = ObjectKey.of(prefix + "aborted");
        byte[] smallData = bytes(4096);
        int part = (int) Math.max(store.capabilities().minPartSize(), 64 * 1024);
        byte[] largeData = bytes(part * 2 + 4321);
        List<Action> actions = List.of(
                () -> {
                    Futures.await(store.create(small, ByteBuffer.wrap(smallData), PutOptions.DEFAULT));
                    return "4096 bytes";
                },
                () -> {
                    expect(Arrays.equals(smallData, Futures.await(store.get(small))), "read back different bytes");
                    return "identical";
                },
                () -> {
                    byte[] r = Futures.await(store.getRange(small, 1000, 100));
                    expect(Arrays.equals(Arrays.copyOfRange(smallData, 1000, 1100), r), "range read returned the wrong bytes");
                    return "bytes 1000-1099 identical";
                },
                () -> {
                    try {
                        Futures.await(store.create(small, ByteBuffer.wrap(bytes(10)), PutOptions.DEFAULT));
                    } catch (HoldfastException e) {
                        if (e.code() != ErrorCode.OBJECT_EXISTS) {
                            throw e;
                        }
                        expect(Arrays.equals(smallData, Futures.await(store.get(small))), "the refused write changed the object");
                        return store.capabilities().atomicCreate() ? "refused by the store" : "refused (emulated check)";
                    }
                    throw new HoldfastException(ErrorCode.STORE_ERROR, "the store overwrote an existing object");
                },
                () -> {
                    StreamingUpload up = new StreamingUpload(store, large, PutOptions.DEFAULT, part, 2);
                    Futures.await(up.write(ByteBuffer.wrap(largeData)));
                    Futures.await(up.finish());
                    try (InputStream in = Futures.await(store.openStream(large))) {
                        MessageDigest a = MessageDigest.getInstance("SHA-256");
                        expect(Arrays.equals(a.digest(largeData), MessageDigest.getInstance("SHA-256").digest(in.readAllBytes())),
                                "multipart object read back different bytes");
                    }
                    return "3 parts of " + part + " bytes, read back identical";
                },
                () -> {
                    ObjectStore.MultipartUpload up = Futures.await(store.startMultipart(aborted, PutOptions.DEFAULT));
                    Futures.await(up.uploadPart(1, ByteBuffer.wrap(bytes(part))));
                    Futures.await(up.abort());
                    expect(Futures.await(store.head(aborted)).isEmpty(), "an aborted upload became visible");
                    return "nothing visible";
                },
                () -> {
                    List<ObjectInfo> listed = Futures.await(store.listAll(prefix));
                    expect(listed.size() == 2 && listed.get(0).key().equals(large) && listed.get(1).key().equals(small),
                            "listing returned " + listed.stream().map(ObjectInfo::key).toList());
                    ListPage page = Futures.await(store.list(prefix, Optional.empty(), 1));
                    expect(page.objects().size() == 1 && page.next().isPresent(), "pagination did not return a continuation");
                    return "2 objects, in order, paginated";
                },
                () -> {
                    try {
                        Futures.await(store.delete(small));
                    } catch (HoldfastException e) {
                        if (e.code() != ErrorCode.STORE_ACCESS_DENIED) {
                            throw e;
                        }
                        // Agents' credentials may not delete (docs/s3-policy.md): that is how it should be.
                        return "refused (store_access_denied): these credentials cannot delete, as the agent policy of"
                                + " docs/s3-policy.md intends; the 2 scratch objects under " + prefix + " stay (delete them with the"
                                + " controller's credentials)";
                    }
                    Futures.await(store.delete(large));
                    expect(Futures.await(store.listAll(prefix)).isEmpty(), "deleted objects are still listed");
                    return "gone";
                });
        List<String> names = List.of("create", "get", "range get", "create refuses overwrite", "multipart upload",
                "abort multipart", "list with prefix", "delete");
        for (int i = 0; i < actions.size(); i++) {
            long t0 = System.nanoTime();
            try {
                String detail = actions.get(i).run();
                steps.add(new Step(names.get(i), true, (System.nanoTime() - t0) / 1_000_000, detail, null));
            } catch (Exception e) {
                HoldfastException h = HoldfastException.find(e);
                steps.add(new Step(names.get(i), false, (System.nanoTime() - t0) / 1_000_000,
                        h != null ? h.getMessage() : e.toString(), h != null ? h.code() : ErrorCode.STORE_ERROR));
                cleanUp(small, large);
                break;
            }
        }
        return steps;
    }

    private void cleanUp(ObjectKey... keys) {
        for (ObjectKey k : keys) {
            try {
                Futures.await(store.delete(k));
            } catch (RuntimeException ignored) {
                // best effort: the step that failed is what the report is about
            }
        }
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static void expect(boolean condition, String problem) {
        if (!condition) {
            throw new HoldfastException(ErrorCode.STORE_ERROR, problem);
        }
    }
}
