/**
 * The demo cluster the server serves when no Proxmox is configured: the guide's nodes and guests, saved to a file.
 */
package io.moxxie.examples.demo;
