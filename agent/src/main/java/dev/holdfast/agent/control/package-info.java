/**
 * The agent's local control socket: HTTP/1.1 over a Unix domain socket
 * ({@link dev.holdfast.agent.control.ControlServer}), the protocol of docs/protocol.md "Local
 * control socket (agent)". The PostgreSQL hooks ({@code bin/holdfast-wal-push},
 * {@code bin/holdfast-wal-fetch}) and local tools talk to the running agent through it.
 */
package dev.holdfast.agent.control;
