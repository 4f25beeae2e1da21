/**
 * Restore authorization (docs/controller.md "Restore authorization"): restore requests, their
 * approvals under the policy's two-person rule, the signed short-lived grant the controller sends
 * the target agent ({@link dev.holdfast.controller.restore.GrantSigner}), and the request's life
 * from the agent's progress and result ({@link dev.holdfast.controller.restore.RestoreService}).
 */
package dev.holdfast.controller.restore;
