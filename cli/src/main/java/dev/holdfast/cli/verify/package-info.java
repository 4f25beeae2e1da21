/** {@code holdfast verify}: check that the base backups can be restored, and print what is wrong where. */
package dev.holdfast.cli.verify;
