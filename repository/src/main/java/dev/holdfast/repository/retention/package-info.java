/**
 * Retention (docs/retention.md): which backups and WAL objects a policy keeps, and the deletion of
 * the rest.
 *
 * <ul>
 *   <li>{@link dev.holdfast.repository.retention.RetentionPlanner}: pure; facts about one cluster's
 *       backups and WAL, the rules and the time in, a {@link dev.holdfast.repository.retention.RetentionPlan}
 *       out, with the reason each backup is kept or dropped and each WAL object deleted;</li>
 *   <li>{@link dev.holdfast.repository.retention.RetentionInventory}: reads those facts from a
 *       repository (blocking);</li>
 *   <li>{@link dev.holdfast.repository.retention.RetentionEnforcer}: applies a plan to the store in
 *       the order docs/format.md section 7 asks (references before data), so that an interrupted run
 *       leaves a repository {@code verify} accepts and a later run completes (blocking).</li>
 * </ul>
 * In the repository module so that the controller and the CLI share one implementation.
 */
package dev.holdfast.repository.retention;
