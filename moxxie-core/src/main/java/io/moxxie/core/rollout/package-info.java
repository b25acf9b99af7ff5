/**
 * Rolling maintenance of a whole cluster: {@link io.moxxie.core.rollout.RolloutService} takes nodes out of service one
 * at a time behind safety {@link io.moxxie.core.rollout.Gate gates} (nodes down, quorum, Ceph, HA, capacity), runs a
 * {@link io.moxxie.core.rollout.MaintenanceAction maintenance action} on each empty node, waits for it to come back and
 * brings its guests back. The layer above {@code service}: it drives drains and undrains through the {@link
 * io.moxxie.core.service.MaintenanceService}.
 */
package io.moxxie.core.rollout;
