/**
 * Real servers and fault injection for tests, shared with other modules through the repository
 * test-jar: {@link dev.holdfast.testkit.S3TestServer} runs S3Proxy on loopback (in this JVM or as a
 * separate process that a test can SIGKILL), and {@link dev.holdfast.testkit.FaultProxy} sits in
 * front of any HTTP/1.1 server to answer chosen requests with errors, reset connections mid-body,
 * lose answers or play a server that is down. Everything binds to 127.0.0.1 on free ports, and
 * every thread and process ends by itself or on close.
 */
package dev.holdfast.testkit;
