/**
 * The Proxmox client's implementation details (JSON parsing, TLS trust): not API, may change in any release.
 */
package io.moxxie.proxmox.internal;
