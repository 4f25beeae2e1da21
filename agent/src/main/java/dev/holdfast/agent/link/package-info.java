/**
 * The agent's side of its link to the controller. This package holds the identity (key,
 * certificate, pinned CA: {@link dev.holdfast.agent.link.AgentIdentity}), the TLS options of
 * every agent-to-controller connection ({@link dev.holdfast.agent.link.LinkTls}), the enrolment
 * token format ({@link dev.holdfast.agent.link.EnrolmentToken}), enrolment
 * ({@link dev.holdfast.agent.link.Enroller}), the {@code Enrolment} calls and their error mapping
 * ({@link dev.holdfast.agent.link.EnrolmentCalls}), certificate renewal
 * ({@link dev.holdfast.agent.link.Renewal}) and PEM/fingerprint helpers shared with the
 * controller's CA ({@link dev.holdfast.agent.link.Pem}); the link client itself lives here too. Trust is pinned: the agent
 * trusts only the controller CA named by its enrolment token, and the private key never leaves
 * the host.
 */
package dev.holdfast.agent.link;
