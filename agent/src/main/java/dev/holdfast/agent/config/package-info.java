/**
 * The agent's YAML configuration (INTERFACE.md "Agent configuration") as typed records, parsed
 * once at start-up: {@link dev.holdfast.agent.config.AgentConfig#load} reads the file, refuses
 * unknown keys, wrong types and impossible values with {@code CONFIG_INVALID} and a message of the
 * form {@code <file>: <key path>: expected ..., found ...}, and fills in the documented defaults.
 * Nothing here opens a connection, a socket or the repository; records never print secrets
 * ({@link dev.holdfast.agent.config.Redact}).
 */
package dev.holdfast.agent.config;
