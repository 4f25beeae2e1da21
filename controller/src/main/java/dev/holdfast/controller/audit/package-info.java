/**
 * The audit log's integrity: the HMAC chain over the catalog's audit entries ({@link
 * dev.holdfast.controller.audit.AuditChain}), its key ({@link dev.holdfast.controller.audit.AuditKey}),
 * the JSON-lines export with its authenticated trailer ({@link dev.holdfast.controller.audit.AuditJsonl}),
 * the verifier that names the first broken link ({@link dev.holdfast.controller.audit.AuditVerifier}),
 * and the periodic export into the repository ({@link dev.holdfast.controller.audit.AuditExporter}).
 * The format is specified in docs/format.md section 15 and docs/controller.md "Audit log".
 */
package dev.holdfast.controller.audit;
