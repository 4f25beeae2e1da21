/**
 * {@code holdfast retention plan}: the retention planner (docs/retention.md) run from a host with
 * the repository's credentials, read-only. Deleting is the controller's alone (docs/s3-policy.md).
 */
package dev.holdfast.cli.retention;
