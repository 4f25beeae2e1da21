/**
 * The controller process: {@link ControllerServer} wires the catalog, the CA and TLS, the agent
 * link and enrolment (gRPC), the HTTP API, the scheduler and the metrics onto one Vert.x instance
 * and one HTTPS listener, starts them in order and stops them in reverse.
 */
package dev.holdfast.controller.server;
