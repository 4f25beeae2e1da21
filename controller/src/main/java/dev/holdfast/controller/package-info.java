/**
 * The controller: HTTP API and dashboard, the agent link, catalog, scheduler, retention, restore
 * authorization, audit and metrics (DESIGN.md section 5). Empty until the controller-core issue;
 * the module exists so the build's shape already tells the architecture.
 */
package dev.holdfast.controller;
