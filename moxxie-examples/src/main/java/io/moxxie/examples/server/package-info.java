/**
 * The REST server of the user guide, on a demo cluster or a real Proxmox VE cluster.
 */
package io.moxxie.examples.server;
