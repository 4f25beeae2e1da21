/** {@code holdfast list}: what can be restored, per source. */
package dev.holdfast.cli.list;
