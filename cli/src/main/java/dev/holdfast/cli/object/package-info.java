/** {@code holdfast object}: plumbing on single sealed objects (put, get, ls, inspect). */
package dev.holdfast.cli.object;
