/**
 * The agent link, controller side: one long-lived gRPC stream per agent over mutual TLS
 * ({@code holdfast.v1.AgentLink/Connect}, docs/protocol.md). {@link AgentLinkEndpoint} accepts a
 * stream only with a client certificate of the controller's CA whose subject is the host named in
 * Hello, negotiates the version, records the inventory and resynchronises the jobs;
 * {@link AgentSessions} holds the open streams; {@link Jobs} creates jobs (API and scheduler),
 * dispatches them to the right agent and records progress and results; {@link LiveStates} keeps
 * the heartbeats' live state in memory and writes it to the catalog in batches, so that heartbeat
 * handling never waits for the database.
 */
package dev.holdfast.controller.link;
