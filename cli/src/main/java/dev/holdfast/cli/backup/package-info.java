/** {@code holdfast backup}: takes a base backup (full or incremental) or a logical dump of a configured PostgreSQL source. */
package dev.holdfast.cli.backup;
