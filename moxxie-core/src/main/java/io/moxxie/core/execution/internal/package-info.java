/**
 * The drain executor's parts. <strong>Not public API</strong>: nothing here is meant for users, and any of it may
 * change in any release; use {@link io.moxxie.core.execution.DrainExecutor} (or the service above it) and
 * {@link io.moxxie.core.execution.RunningDrain}.
 *
 * <p>One class per job:
 * <ul>
 *   <li>{@link io.moxxie.core.execution.internal.DrainRun} — one drain carried out: its queue and migration slots,
 *       retries on another target and re-planning, cancel, time limit and abandon;</li>
 *   <li>{@link io.moxxie.core.execution.internal.StartOrder} — which queued guest takes a free slot (the default:
 *       {@link io.moxxie.core.execution.internal.DefaultStartOrder});</li>
 *   <li>{@link io.moxxie.core.execution.internal.GuestMove} — one guest's move, step by step;</li>
 *   <li>{@link io.moxxie.core.execution.internal.MoveWatcher} — follows the moves in flight, on the shared cluster view,
 *       timed by the pure {@link io.moxxie.core.execution.internal.TransferModel};</li>
 *   <li>{@link io.moxxie.core.execution.internal.Outcomes} — the guests' entries, counts and messages;</li>
 *   <li>{@link io.moxxie.core.execution.internal.DrainJournal} — writes state changes to the store (fenced by owner),
 *       tells the listeners, logs with the drain's MDC;</li>
 *   <li>{@link io.moxxie.core.execution.internal.WriteBehindJournal} — the executor's one queue for every store write:
 *       in order, kept and written again while the store is away;</li>
 *   <li>{@link io.moxxie.core.execution.internal.Replanner}, {@link io.moxxie.core.execution.internal.PreconditionCache},
 *       {@link io.moxxie.core.execution.internal.Limit} — re-planning mid-drain, the precondition answers, time limits;</li>
 *   <li>{@link io.moxxie.core.execution.internal.ExecutorParts} — what the runs of one executor share;</li>
 *   <li>{@link io.moxxie.core.execution.internal.Async} — retried hypervisor calls and delays on the scheduler.</li>
 * </ul>
 *
 * <p>Every class states its threading rule. Locks: a run's lock may be held while its watcher's is taken (the watcher
 * never calls back into the run under its own lock); store, hypervisor and listener calls are made under neither. The
 * write-behind journal's lock is never held while it writes or calls back, and it is not called under a run's lock
 * (its callbacks may run a drain's steps in the thread that hands a change over).
 */
package io.moxxie.core.execution.internal;
