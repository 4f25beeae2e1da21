package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * An enrolled agent. @param host its id @param agentVersion what it reported in Hello
 * @param capabilities from Hello @param enrolledAt first enrolment @param lastSeen last message
 * @param connected whether a link is open now @param certSerial its current certificate's serial (hex)
 * @param certNotAfter that certificate's expiry
 */
public record AgentRecord(String host, String agentVersion, List<String> capabilities, Instant enrolledAt,
                          Optional<Instant> lastSeen, boolean connected, String certSerial, Instant certNotAfter) {
    public AgentRecord {
        capabilities = List.copyOf(capabilities);
    }
}
