package dev.holdfast.controller.catalog;

import dev.holdfast.controller.audit.AuditMac;
import java.util.Optional;

/**
 * The state of the audit chain, kept in one catalog row that every append updates in the same
 * transaction as it inserts its entry.
 *
 * @param seq         the last entry's sequence number (the head); {@code baseSeq} when none is chained yet
 * @param mac         the last entry's mac; {@link AuditMac#GENESIS} when none is chained yet
 * @param baseSeq     entries up to this one predate the chain (written by schema version 1, no mac);
 *                    the chain's first entry is {@code baseSeq + 1}, chained to the genesis value
 * @param exportedSeq the last entry exported into the repository ({@code baseSeq}: none yet)
 * @param exportedMac its mac ({@link AuditMac#GENESIS}: none yet)
 * @param keyId       the id of the key the chain is made with; empty until the first chained append
 */
public record AuditHead(long seq, AuditMac mac, long baseSeq, long exportedSeq, AuditMac exportedMac, Optional<String> keyId) {
}
