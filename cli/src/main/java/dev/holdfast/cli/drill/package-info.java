/** {@code holdfast drill}: a restore drill of a PostgreSQL source on this host, measured and reported (docs/drill.md). */
package dev.holdfast.cli.drill;
