/**
 * {@code holdfast controller}: the controller's commands. {@code reindex} rebuilds the catalog's
 * backup and WAL tables from the repository alone.
 */
package dev.holdfast.cli.controller;
