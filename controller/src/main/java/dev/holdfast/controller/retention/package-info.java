/**
 * Retention in the controller (docs/retention.md): the plan of a policy for the API
 * ({@code GET /api/v1/policies/{name}/plan}), its enforcement on demand
 * ({@code POST /api/v1/policies/{name}/enforce}) and every {@code interval}, with each deletion batch
 * audited and the catalog's backup rows removed; and the Object Lock retain-until a scheduled backup
 * gets from its GFS slot. The planning and deleting themselves are
 * {@link dev.holdfast.repository.retention}'s.
 */
package dev.holdfast.controller.retention;
