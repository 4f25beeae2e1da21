/**
 * Stable error codes and the exception that carries them. One vocabulary for the CLI's exit
 * status, the controller's HTTP error bodies and protocol errors, so a failure reads the same
 * wherever it surfaces.
 */
package dev.holdfast.error;
