/**
 * A PostgreSQL physical streaming-replication client speaking the frontend/backend protocol v3
 * directly over a Vert.x (Netty) {@code NetSocket}: startup with {@code replication=true},
 * trust / cleartext / md5 / SCRAM-SHA-256 authentication (the server's SCRAM signature verified,
 * failing closed), simple queries, {@code IDENTIFY_SYSTEM}, {@code READ_REPLICATION_SLOT},
 * {@code CREATE_REPLICATION_SLOT}, {@code TIMELINE_HISTORY} and the CopyBoth stream of
 * {@code START_REPLICATION} (XLogData, keepalives, standby status updates, end of timeline).
 * {@link dev.holdfast.agent.postgres.replication.ReplicationClient} is the API, configured by a
 * libpq-style {@link dev.holdfast.agent.postgres.replication.ConnInfo}; it exists because
 * r2dbc-postgresql's replication support reports a wrong receive LSN and status-update clock and
 * hides the XLogData header and the timeline commands (DESIGN.md section 7).
 *
 * <p>Unix domain sockets ({@code host=/dir}) work with Vert.x 5.0.7's default NIO transport on JDK
 * 16+ (JDK 17 here): Netty 4.2's NIO channels support {@code UnixDomainSocketAddress}, so neither
 * the native epoll transport nor {@code setPreferNativeTransport} is needed (verified by the tests
 * against a real server's socket).
 */
package dev.holdfast.agent.postgres.replication;
