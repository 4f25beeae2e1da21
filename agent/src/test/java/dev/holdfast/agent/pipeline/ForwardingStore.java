package dev.holdfast.agent.pipeline;

import dev.holdfast.repository.store.ForwardingObjectStore;
import dev.holdfast.repository.store.ObjectStore;

/**
 * The tests' store decorator for fault injection and observation: forwards everything; tests
 * override {@link #uploadPart} (and anything else) to delay, count or fail.
 */
class ForwardingStore extends ForwardingObjectStore {
    ForwardingStore(ObjectStore store) {
        super(store);
    }
}
