/**
 * Carrying a plan out: {@link io.moxxie.core.execution.DrainExecutor} runs migrations within the concurrency limits,
 * follows them, verifies the result (on the target, running when it ran, {@code always-on} restarted), retries and
 * re-plans, and records every state change through the store. Its public types are the configuration, the status a
 * caller polls and the listener it registers; the implementation is in {@code execution.internal}.
 */
package io.moxxie.core.execution;
