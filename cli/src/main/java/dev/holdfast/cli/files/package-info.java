/** The CLI side of files sources: {@code backup} and {@code restore} of a {@code type: files} source (docs/files.md). */
package dev.holdfast.cli.files;
