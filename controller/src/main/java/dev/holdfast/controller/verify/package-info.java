/**
 * Verification of the repository's backups by the controller (docs/controller.md "Verification"):
 * {@link dev.holdfast.controller.verify.VerificationService} runs the repository's
 * {@code BackupVerifier} on a worker and records each backup's outcome in the catalog, the metrics
 * and the audit log; {@link dev.holdfast.controller.verify.VerifySchedule} runs it on the
 * {@code verify.schedule} with a rotating data sample chosen by
 * {@link dev.holdfast.controller.verify.DataSample}, so that every pack is read within
 * {@code verify.read_data_within}.
 */
package dev.holdfast.controller.verify;
