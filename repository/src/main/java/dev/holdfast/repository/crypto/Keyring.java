package dev.holdfast.repository.crypto;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The data keys of an open repository, by version, unwrapped with one master key. The highest
 * version is the one new objects are sealed with. {@link #toString()} prints versions only.
 */
public final class Keyring {
    private final String masterKeyId;
    private final TreeMap<Integer, DataKey> keys;

    public Keyring(String masterKeyId, Map<Integer, DataKey> keys) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("a keyring holds at least one data key");
        }
        this.masterKeyId = masterKeyId;
        this.keys = new TreeMap<>(keys);
    }

    /** The master key that unwrapped these data keys. */
    public String masterKeyId() {
        return masterKeyId;
    }

    /** The data key new objects are sealed with. */
    public DataKey current() {
        return keys.lastEntry().getValue();
    }

    /** The data key of {@code version}, or {@code KEY_MISMATCH} naming what is missing. */
    public DataKey get(int version, String what) {
        DataKey k = keys.get(version);
        if (k == null) {
            throw new HoldfastException(ErrorCode.KEY_MISMATCH, what + " is sealed with data key version " + version
                    + ", which master key " + masterKeyId + " does not wrap (it wraps versions " + keys.keySet()
                    + "); use a key file holding the master key that wraps it, or re-run keys rotate");
        }
        return k;
    }

    public java.util.Collection<DataKey> all() {
        return keys.values();
    }

    @Override
    public String toString() {
        return "Keyring[" + masterKeyId + ", versions " + keys.keySet() + "]";
    }
}
