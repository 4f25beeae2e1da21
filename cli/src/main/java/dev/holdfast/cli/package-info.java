/**
 * The {@code holdfast} command line (INTERFACE.md): one subcommand per file in the sibling
 * packages, errors mapped to the stable exit statuses of {@link dev.holdfast.error.ErrorCode}, and
 * the options that locate a repository ({@link dev.holdfast.cli.RepositoryOptions}).
 */
package dev.holdfast.cli;
