/** {@code holdfast demo}: the quick start on embedded defaults, reporting what it did. */
package dev.holdfast.cli.demo;
