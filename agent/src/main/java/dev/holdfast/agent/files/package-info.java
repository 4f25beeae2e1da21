/**
 * The files source (docs/files.md, docs/format.md section "Files"): content-addressed snapshots of
 * file sets ({@link dev.holdfast.agent.files.FilesSnapshot}), their restore
 * ({@link dev.holdfast.agent.files.FilesRestore}), secret detection
 * ({@link dev.holdfast.agent.files.SecretRules}) and the running source that snapshots on start and
 * on change ({@link dev.holdfast.agent.files.FilesSource}).
 */
package dev.holdfast.agent.files;
