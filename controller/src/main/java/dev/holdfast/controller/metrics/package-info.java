/**
 * The controller's Prometheus metrics (docs/controller.md "Metrics"): one Micrometer
 * {@link io.micrometer.prometheusmetrics.PrometheusMeterRegistry} with {@code holdfast_} names,
 * fed by events the controller reports (backups and restores finished, verify failures, heartbeats,
 * link state) and by a periodic, non-blocking refresh from the catalog (snapshot count, stored
 * bytes, last-seen times). Scraping never waits for the catalog.
 */
package dev.holdfast.controller.metrics;
