/**
 * The benchmark harness: scenarios, Moxxie and baseline strategies, the lower bound, the report.
 */
package io.moxxie.examples.bench;
