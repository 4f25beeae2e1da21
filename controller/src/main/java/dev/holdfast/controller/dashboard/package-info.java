/**
 * The dashboard ({@code GET /}): three static files, served by the controller's listener, that
 * read the HTTP API with the visitor's own bearer token. The page holds no data of its own and
 * makes no decision the API does not: what a token may not read, the dashboard does not show.
 */
package dev.holdfast.controller.dashboard;
