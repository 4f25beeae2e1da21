/**
 * {@code holdfast demo}: the quick start (docs/demo.md). Throwaway PostgreSQL and Redis servers
 * ({@code DemoPostgres}, {@code DemoRedis}), the controller and the agent as child JVMs, the
 * controller's API ({@code ControllerApi}) and the agent's control socket ({@code AgentSocket}),
 * every child stopped on every exit path ({@code Children}), the programs found before anything
 * starts ({@code Tools}), and the demo directory that is recreated on each run ({@code DemoDirectory}).
 */
package dev.holdfast.cli.demo;
