/** {@code holdfast agent ...}: running the agent daemon in the foreground. */
package dev.holdfast.cli.agent;
