/**
 * Restore drills: the latest backup of a PostgreSQL source restored into a scratch directory,
 * started as a throwaway server that only this host's PostgreSQL user can reach, recovered to the
 * end of the repository's WAL, checked (every database answers; {@code pg_amcheck}), measured (RTO:
 * from the drill's start until the copy accepts writes; RPO: how old the newest recovered
 * transaction is), then stopped and deleted. Run by {@code holdfast drill} and by the agent for the
 * controller's drill jobs.
 */
package dev.holdfast.agent.drill;
