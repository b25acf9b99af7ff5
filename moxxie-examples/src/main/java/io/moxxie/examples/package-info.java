/**
 * Reference wiring of Moxxie: the command line entry point and an embedding example.
 */
package io.moxxie.examples;
