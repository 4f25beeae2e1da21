/**
 * The controller: the control plane. It holds the agent link (gRPC over mutual TLS, with its own
 * enrolment CA), the catalog, the scheduler, the HTTP API and the metrics. Data never flows
 * through it: agents write to the repository themselves and keep shipping WAL while it is down.
 * One package per concern: {@code config}, {@code catalog}, {@code pki}, {@code link},
 * {@code schedule}, {@code api}, {@code metrics}.
 */
package dev.holdfast.controller;
