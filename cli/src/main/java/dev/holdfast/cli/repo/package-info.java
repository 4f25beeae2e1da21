/** {@code holdfast repo}: creating a repository and validating its object store. */
package dev.holdfast.cli.repo;
