/**
 * Reading and validating configuration files: keys declared once with what they expect, unknown
 * keys and wrong types refused with the file and key named.
 */
package dev.holdfast.cli.config;
