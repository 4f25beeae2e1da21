/**
 * The controller's catalog: an index of agents, sources, backups, WAL ranges and jobs, plus the
 * controller's own state (enrolment tokens, certificates, API tokens, schedule claims, audit).
 * One R2DBC implementation with the same SQL on the embedded H2 store and on PostgreSQL; the
 * backup and WAL tables can always be rebuilt from the repository ({@code reindex}).
 */
package dev.holdfast.controller.catalog;
