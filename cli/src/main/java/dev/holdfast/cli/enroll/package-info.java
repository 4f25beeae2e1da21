/**
 * {@code holdfast enroll}: the operator's side of agent enrolment (the agent's identity and the
 * pinned TLS live in {@code dev.holdfast.agent.link}).
 */
package dev.holdfast.cli.enroll;
