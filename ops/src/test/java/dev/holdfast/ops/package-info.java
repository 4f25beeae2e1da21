/**
 * Checks of the operator-facing artefacts (bin/package, systemd/, ansible/) with the ecosystem's
 * own tools: dpkg-deb, systemd-analyze, ansible-lint and ansible-playbook run for real.
 */
package dev.holdfast.ops;
