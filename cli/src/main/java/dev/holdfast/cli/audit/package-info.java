/**
 * {@code holdfast audit}: verify the controller's HMAC-chained audit log (an exported JSON-lines
 * file, the catalog, the repository's exports) and export it for an auditor
 * (docs/controller.md "Audit log").
 */
package dev.holdfast.cli.audit;
