/** {@code holdfast restore}: restores a base backup into an allowlisted directory, to a point in time, or a logical dump into a database. */
package dev.holdfast.cli.restore;
