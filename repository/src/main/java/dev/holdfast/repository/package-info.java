/**
 * The repository as a whole (docs/format.md): its config, opening it with a master key file,
 * key rotation, and the plumbing that seals and opens whole objects. The format library the agent
 * writes with and the controller, verify and restore read with; it knows nothing of Vert.x.
 */
package dev.holdfast.repository;
