package dev.holdfast.controller.catalog;

import java.util.Optional;

/**
 * A source on a host, from the agent's inventory, with its live state from heartbeats.
 *
 * @param host the agent @param name the source's name @param type postgres | redis | files
 * @param systemId PostgreSQL system identifier ("" when unknown) @param serverVersion "" when unknown
 * @param walMode stream | archive | "" @param live the last reported live state
 */
public record SourceRecord(String host, String name, String type, String systemId, String serverVersion, String walMode,
                           Optional<SourceLiveState> live) {
}
