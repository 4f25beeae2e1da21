/**
 * Schedules: when a backup is due and who gets to start it. {@link
 * dev.holdfast.controller.schedule.CronExpression} reads classic 5-field cron in a time zone,
 * with defined behaviour across daylight-saving changes; {@link
 * dev.holdfast.controller.schedule.Scheduler} turns due slots into queued jobs. The catalog's
 * scheduled-run claim (a unique key) is the only guard against a double run, so any number of
 * scheduler instances, before and after a restart or sharing one PostgreSQL catalog, start each
 * slot at most once.
 */
package dev.holdfast.controller.schedule;
