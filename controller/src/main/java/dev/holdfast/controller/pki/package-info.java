/**
 * The controller's PKI: its own certificate authority ({@link dev.holdfast.controller.pki.ControllerCa}),
 * enrolment tokens, enrolment, renewal and revocation of agents
 * ({@link dev.holdfast.controller.pki.EnrolmentService}) and their gRPC endpoint
 * ({@link dev.holdfast.controller.pki.EnrolmentEndpoint}), the handshake-time check of agents'
 * client certificates ({@link dev.holdfast.controller.pki.AgentTrustManager}) and the TLS options
 * of the HTTPS listener ({@link dev.holdfast.controller.pki.ControllerTls}). Trust decisions are
 * made at the TLS handshake: a certificate of another CA, an expired or a revoked one never
 * reaches a handler. docs/controller.md, "Enrolment and trust", is the user-facing account.
 */
package dev.holdfast.controller.pki;
