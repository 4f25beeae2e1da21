package dev.holdfast.controller.catalog;

import dev.holdfast.controller.audit.AuditMac;
import java.util.Optional;

/**
 * An audit entry as stored, with its link in the audit chain.
 *
 * @param record the entry
 * @param mac    its chain mac (docs/format.md section 15.1); empty for an entry written before the
 *               catalog had the chain (schema version 1), which no mac protects
 */
public record AuditEntry(AuditRecord record, Optional<AuditMac> mac) {
}
