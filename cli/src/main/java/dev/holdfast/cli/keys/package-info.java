/** {@code holdfast keys}: master key files, rotation, retirement and the paper escrow copy. */
package dev.holdfast.cli.keys;
