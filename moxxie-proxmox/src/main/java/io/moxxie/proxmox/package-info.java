/**
 * {@link io.moxxie.proxmox.ProxmoxClient}: the {@link io.moxxie.core.spi.HypervisorClient} for Proxmox VE 7.4 to 9
 * over its REST API (API token or ticket, TLS by pinned fingerprint, CA or the JVM trust store, the HA path, retries
 * that never repeat a migration).
 */
package io.moxxie.proxmox;
