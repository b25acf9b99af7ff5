/**
 * Time as the rest of the core sees it: a {@link io.moxxie.core.time.Scheduler} with a real-time implementation and a
 * {@link io.moxxie.core.time.VirtualScheduler} that runs a whole drain in virtual time (tests, benchmarks).
 */
package io.moxxie.core.time;
