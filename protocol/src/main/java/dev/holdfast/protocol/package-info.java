/**
 * The agent-controller protocol, version 1: gRPC services and messages generated at build time
 * from {@code src/main/proto/holdfast/v1/*.proto} (the contract, explained in docs/protocol.md),
 * plus version negotiation and the mapping of stable error codes onto {@code ErrorReply}.
 */
package dev.holdfast.protocol;
