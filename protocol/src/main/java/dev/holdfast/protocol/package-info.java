/**
 * The agent-controller protocol, version 1: gRPC services and messages generated from the
 * {@code .proto} files that are its contract, specified in docs/protocol.md. Empty until the
 * controller-core issue defines it.
 */
package dev.holdfast.protocol;
