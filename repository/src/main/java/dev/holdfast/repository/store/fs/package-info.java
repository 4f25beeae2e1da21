/**
 * The filesystem object store ({@code file://} repositories): temp file, fsync, hard link to the
 * final name, fsync of the directory. Atomic create-if-absent without a server.
 */
package dev.holdfast.repository.store.fs;
