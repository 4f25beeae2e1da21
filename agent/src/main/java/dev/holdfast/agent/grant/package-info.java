/**
 * Restore grants on the agent (docs/protocol.md "Restore grants"): {@link
 * dev.holdfast.agent.grant.GrantVerifier} checks a grant the controller sent (signature against the
 * controller CA, expiry with a bounded clock skew, host, target inside {@code
 * restore.allowed_targets}, single use through the {@link dev.holdfast.agent.grant.GrantJournal})
 * before anything is written, and {@link dev.holdfast.agent.grant.GrantedRestores} runs the restore a
 * verified grant names and reports it as a job result.
 */
package dev.holdfast.agent.grant;
