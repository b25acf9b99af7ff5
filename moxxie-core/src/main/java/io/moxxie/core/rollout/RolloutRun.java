package io.moxxie.core.rollout;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.MoxxieException;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.Operation;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.service.DrainHandle;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.service.MaintenanceView;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.spi.RolloutStore;
import io.moxxie.core.spi.StoreException;
import io.moxxie.core.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One rollout run by this process: a state machine over its steps, advanced by a tick on the scheduler. Every
 * transition is written to the {@link RolloutStore} before the next is attempted, and every phase can be entered again
 * from its record alone, so that an instance taking the rollout over after a crash goes on where it stood: a drain or
 * undrain started but not recorded is found in the node's history (started since the phase began) and followed, not
 * started again; an action's run, which lives only in the process that started it, is the one thing it cannot resume,
 * so it waits for an operator's {@code continue} instead.
 *
 * <p>Threading: {@link #tick()} runs on the scheduler, one at a time per rollout ({@code synchronized}); the service's
 * calls ({@link #stop()}) take the same lock. Store and hypervisor calls are made under it: a rollout does one thing
 * at a time, and nothing else waits for its lock.
 */
final class RolloutRun {
    private static final Logger log = LoggerFactory.getLogger(RolloutRun.class);
    static final String NOOUT = "noout";
    /** The pseudo-verdict that records, in the step, that this rollout set Ceph's noout flag for the node. */
    static final String NOOUT_GATE = "ceph-noout";
    /**
     * How the {@link #NOOUT_GATE} verdict's reason begins while noout is set by this rollout and not cleared yet; the
     * step keeps no other trace of it (its other reasons: set already by someone else, or cleared), so the words that
     * write it and {@link #flagsWeSet} that reads it share this one constant.
     */
    private static final String NOOUT_SET_BY_US = "noout set by this rollout";
    private static final int MAX_LISTED = 5;
    /** The longest message a step or rollout keeps; the SQL stores' columns hold 4,000 characters. */
    static final int MAX_MESSAGE = 4000;
    private static final java.util.regex.Pattern CONTROL = java.util.regex.Pattern.compile("[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]");

    private final RolloutService owner;
    private final MaintenanceService service;
    private final HypervisorClient client;
    private final RolloutStore store;
    private final Scheduler scheduler;
    private final String ownerId;
    private final String rolloutId;
    private final Map<RolloutPhase, MaintenanceAction.Run> actionRuns = new EnumMap<>(RolloutPhase.class);
    private RolloutRecord record;
    private Scheduler.Cancellable next;
    private boolean stopped;

    RolloutRun(RolloutService owner, RolloutRecord record) {
        this.owner = owner;
        this.service = owner.service();
        this.client = owner.client();
        this.store = owner.store();
        this.scheduler = service.scheduler();
        this.ownerId = owner.ownerId();
        this.rolloutId = record.rolloutId();
        this.record = record;
    }

    String rolloutId() {
        return rolloutId;
    }

    synchronized void schedule(Duration delay) {
        if (stopped) return;
        next = scheduler.schedule(delay, this::tick);
    }

    /** Stops working on the rollout here (closed, or ownership lost); actions under way are left running. */
    synchronized void stop() {
        stopped = true;
        if (next != null) next.cancel();
    }

    synchronized boolean stopped() {
        return stopped;
    }

    void tick() {
        Duration delay;
        synchronized (this) {
            if (stopped) return;
            try {
                delay = advance();
            } catch (LostOwnership e) {
                log.warn("Rollout {}: another instance owns it now; stopping here", rolloutId);
                stopped = true;
                delay = null;
            } catch (StoreException e) {
                log.warn("Rollout {}: the store failed ({}); trying again at the next tick", rolloutId, e.getMessage());
                delay = owner.tick();
            } catch (RuntimeException e) {
                log.error("Rollout {}: unexpected failure in a tick; trying again at the next one", rolloutId, e);
                delay = owner.tick();
            }
        }
        if (delay != null) schedule(delay);
        else owner.ended(this);
    }

    /** One step of the state machine; the delay until the next tick, or {@code null} when the rollout ended here. */
    private Duration advance() {
        Optional<RolloutRecord> read = store.rollout(rolloutId);
        if (read.isEmpty() || !ownerId.equals(read.get().owner())) {
            log.warn("Rollout {} is no longer owned by {} ({}); stopping here", rolloutId, ownerId,
                    read.map(r -> "owner " + r.owner()).orElse("gone"));
            stopped = true;
            return null;
        }
        record = read.get();
        if (record.ended()) {
            stopped = true;
            return null;
        }
        List<RolloutStep> steps = store.steps(rolloutId);
        if (record.cancelRequested()) {
            cancel(steps);
            return null;
        }
        Optional<RolloutStep> current = steps.stream().filter(s -> !s.state().ended()).findFirst();
        if (current.isEmpty()) {
            finish(steps);
            return null;
        }
        RolloutStep step = current.get();
        if (step.phase() == RolloutPhase.PENDING) {
            if (record.pauseRequested()) {
                setRollout(RolloutState.PAUSED, "Paused before " + step.node() + " (" + (step.index() + 1) + " of " + steps.size()
                        + "): POST resume to go on");
                return owner.tick();
            }
            step = write(step.enter(RolloutPhase.GATES, now(), "checking the gates before taking " + step.node() + " out"));
            setRollout(RolloutState.RUNNING, step.node() + " (" + (step.index() + 1) + " of " + steps.size() + "): checking the gates");
        }
        boolean goOn = switch (step.phase()) {
            case PENDING -> throw new IllegalStateException("entered above");
            case GATES -> gatesBeforeNode(step);
            case BEFORE_DRAIN, ACTION, AFTER_UNDRAIN -> action(step);
            case DRAINING -> draining(step);
            case EMPTY_CHECK -> emptyCheck(step);
            case WAIT_BACK -> waitBack(step);
            case GATES_BACK -> gatesBeforeReturn(step);
            case UNDRAINING -> undraining(step);
            case DONE -> done(step);
        };
        // A transition goes on at once (the next phase starts in the next tick, without waiting); a wait waits a tick.
        return goOn ? Duration.ZERO : owner.tick();
    }

    // ------------------------------------------------------------------ phases; each answers whether it moved on

    private boolean gatesBeforeNode(RolloutStep step) {
        // A node that stepped back (see draining) is here again with the noout it set still set and recorded: its own
        // flag does not count against its ceph gate, and its record is kept, so that the flag is still cleared after.
        Set<String> ours = flagsWeSet(step);
        List<GateVerdict> verdicts = new ArrayList<>(owner.check(step.node(), record, ours, true));
        Optional<GateVerdict> blocking = verdicts.stream().filter(v -> !v.pass()).findFirst();
        List<GateVerdict> nooutRecord = step.gates().stream().filter(v -> v.gate().equals(NOOUT_GATE)).toList();
        if (blocking.isPresent()) {
            verdicts.addAll(nooutRecord);
            return blocked(step.withGates(verdicts), blocking.get());
        }
        List<GateVerdict> recorded = verdicts;
        Optional<CephHealth> ceph = record.request().cephNoout() && !ours.contains(NOOUT) ? client.ceph() : Optional.empty();
        if (ours.contains(NOOUT)) {
            recorded.addAll(nooutRecord);
        } else if (ceph.isPresent()) {
            if (ceph.get().flags().contains(NOOUT)) {
                recorded.add(GateVerdict.pass(NOOUT_GATE, "noout was set already; this rollout leaves it as it is"));
            } else {
                client.setCephFlag(NOOUT, true);
                recorded.add(GateVerdict.pass(NOOUT_GATE, NOOUT_SET_BY_US + " while " + step.node()
                        + " is out; cleared once its OSDs are back up"));
                log.info("Rollout {}: Ceph noout set for {}", rolloutId, step.node());
            }
        }
        RolloutRequest r = record.request();
        RolloutPhase nextPhase = r.beforeDrainAction().isPresent() ? RolloutPhase.BEFORE_DRAIN : RolloutPhase.DRAINING;
        step = write(step.withGates(recorded).enter(nextPhase, now(), nextPhase == RolloutPhase.DRAINING
                ? "taking " + step.node() + " out: maintenance on, drain" : "running the beforeDrain action " + r.beforeDrain()));
        if (nextPhase == RolloutPhase.BEFORE_DRAIN) startAction(step, r.beforeDrain());
        return true;
    }

    private boolean gatesBeforeReturn(RolloutStep step) {
        List<GateVerdict> verdicts = new ArrayList<>(owner.check(step.node(), record, flagsWeSet(step), false));
        Optional<GateVerdict> blocking = verdicts.stream().filter(v -> !v.pass()).findFirst();
        step.gates().stream().filter(v -> v.gate().equals(NOOUT_GATE)).forEach(verdicts::add);
        if (blocking.isPresent()) return blocked(step.withGates(verdicts), blocking.get());
        write(step.withGates(verdicts).enter(RolloutPhase.UNDRAINING, now(), "bringing the guests back to " + step.node()));
        return true;
    }

    /** Waits on a blocking gate, or fails the step once the gate timeout passed. */
    private boolean blocked(RolloutStep step, GateVerdict verdict) {
        Duration waited = Duration.between(step.phaseStartedAt(), now());
        Duration limit = record.request().gateTimeout();
        if (waited.compareTo(limit) >= 0) {
            fail(step, "gate " + verdict.gate() + " blocked for " + human(waited) + " (gateTimeout " + human(limit) + "): "
                    + verdict.reason());
        } else {
            write(step.with(RolloutState.WAITING, "waiting for gate " + verdict.gate() + ": " + verdict.reason()));
            setRollout(RolloutState.WAITING, step.node() + ": waiting for gate " + verdict.gate() + ": " + verdict.reason());
        }
        return false;
    }

    private boolean draining(RolloutStep step) {
        String node = step.node();
        if (step.drainId() == null) {
            Optional<DrainStatus> adopted = startedDuringPhase(step, Operation.DRAIN);
            String drainId;
            if (adopted.isPresent()) {
                drainId = adopted.get().drainId();
                log.info("Rollout {}: following drain {} of {}, started before a takeover", rolloutId, drainId, node);
            } else {
                service.enableMaintenance(node, "rollout " + rolloutId, false);
                Optional<String> earlier = earlierNodeOut(node);
                if (earlier.isPresent()) {
                    // Another rollout or drain took a node out at the same time: the later one steps back.
                    service.disableMaintenance(node, false);
                    write(step.enter(RolloutPhase.GATES, step.phaseStartedAt(), "another node went out of service at the same time ("
                            + earlier.get() + "); checking the gates again"));
                    return false;
                }
                try {
                    DrainHandle h = service.drain(record.request().drainRequest(node));
                    drainId = h.drainId();
                } catch (DrainConflictException e) {
                    drainId = e.activeDrainId();
                    log.info("Rollout {}: {} already has drain {} running; following it", rolloutId, node, drainId);
                } catch (PreflightException e) {
                    fail(step, "the drain of " + node + " was refused: " + e.getMessage());
                    return false;
                }
            }
            step = write(step.withDrain(drainId).with(RolloutState.RUNNING, "draining " + node + " (drain " + drainId + ")"));
            setRollout(RolloutState.RUNNING, node + ": draining (drain " + drainId + ")");
            return false;
        }
        DrainStatus s = service.status(node, step.drainId());
        if (s.status() == DrainState.IN_PROGRESS) {
            String msg = "draining " + node + ": " + s.message();
            if (!msg.equals(step.message())) write(step.with(RolloutState.RUNNING, msg));
            setRollout(RolloutState.RUNNING, node + ": " + s.message());
            return false;
        }
        if (s.status() != DrainState.COMPLETED) {
            fail(step, "the drain of " + node + " ended " + s.status().wireName() + ": " + s.message());
            return false;
        }
        write(step.enter(RolloutPhase.EMPTY_CHECK, now(), "checking that " + node + " holds only what may stay"));
        return true;
    }

    private boolean emptyCheck(RolloutStep step) {
        String node = step.node();
        DrainStatus drain = service.status(node, step.drainId());
        Set<Integer> mayStay = drain.vmStatus().stream().filter(v -> v.status() == GuestState.SKIPPED).map(VmStatus::vmid)
                .collect(Collectors.toSet());
        ClusterSnapshot snapshot = client.snapshot();
        List<Guest> left = snapshot.guestsOn(node).stream().filter(g -> !mayStay.contains(g.vmid())).toList();
        if (!left.isEmpty()) {
            fail(step, node + " still holds " + left.size() + " guest(s) its drain should have moved: "
                    + left.stream().limit(MAX_LISTED).map(g -> g.vmid() + (g.name().isEmpty() ? "" : " (" + g.name() + ")"))
                    .collect(Collectors.joining(", ")) + (left.size() > MAX_LISTED ? ", …" : ""));
            return false;
        }
        int staying = snapshot.guestsOn(node).size();
        step = write(step.enter(RolloutPhase.ACTION, now(), (staying == 0 ? node + " is empty" : node + " holds only the "
                + staying + " guest(s) the drain left by policy") + "; running the action " + record.request().action()));
        startAction(step, record.request().action());
        return true;
    }

    private boolean action(RolloutStep step) {
        String name = actionName(step.phase());
        MaintenanceAction.Run run = actionRuns.get(step.phase());
        if (run == null) {
            if (RolloutRequest.CONTINUE_ACTION.equals(name)) {
                run = startAction(step, name);
            } else {
                // Started by a process that is gone: how it ended is unknown. An operator decides.
                if (step.node().equals(record.continueNode())) return actionDone(step, MaintenanceAction.Result.ok(
                        "an operator said continue after the action " + name + " was interrupted"));
                return waitOrTimeOut(step, "the action " + name + " was running in a process that stopped; Moxxie cannot know how it "
                        + "ended. Check " + step.node() + ", then POST continue to go on, or cancel");
            }
        }
        Optional<MaintenanceAction.Result> result;
        try {
            result = run.poll();
        } catch (RuntimeException e) {
            result = Optional.of(MaintenanceAction.Result.failed("the action " + name + " failed: " + e.getMessage()));
        }
        if (result.isPresent()) {
            actionRuns.remove(step.phase());
            return actionDone(step, result.get());
        }
        return waitOrTimeOut(step, RolloutRequest.CONTINUE_ACTION.equals(name)
                ? "waiting for an operator: do the maintenance of " + step.node() + ", then POST continue"
                : "running the action " + name + " on " + step.node());
    }

    private boolean waitOrTimeOut(RolloutStep step, String message) {
        Duration ran = Duration.between(step.phaseStartedAt(), now());
        Duration limit = record.request().actionTimeout();
        if (ran.compareTo(limit) >= 0) {
            MaintenanceAction.Run run = actionRuns.remove(step.phase());
            if (run != null) run.cancel();
            fail(step, "the action " + actionName(step.phase()) + " did not end within " + human(limit) + " (actionTimeout)");
            return false;
        }
        RolloutState state = RolloutRequest.CONTINUE_ACTION.equals(actionName(step.phase())) || actionRuns.get(step.phase()) == null
                ? RolloutState.WAITING : RolloutState.RUNNING;
        if (!message.equals(step.message()) || step.state() != state) write(step.with(state, message));
        setRollout(state, step.node() + ": " + message);
        return false;
    }

    private boolean actionDone(RolloutStep step, MaintenanceAction.Result result) {
        step = step.withAction(result.exitStatus(), tail(result.output()));
        String name = actionName(step.phase());
        if (!result.success()) {
            fail(step, "the action " + name + " failed" + (result.exitStatus() == null ? "" : " (exit status " + result.exitStatus() + ")")
                    + (result.message().isBlank() ? "" : ": " + result.message()));
            return false;
        }
        switch (step.phase()) {
            case BEFORE_DRAIN -> write(step.enter(RolloutPhase.DRAINING, now(), "taking " + step.node() + " out: maintenance on, drain"));
            case ACTION -> write(step.enter(RolloutPhase.WAIT_BACK, now(), "waiting for " + step.node() + " to be back"));
            case AFTER_UNDRAIN -> write(step.enter(RolloutPhase.DONE, now(), step.node() + " is back in service"));
            default -> throw new IllegalStateException("not an action phase: " + step.phase());
        }
        return true;
    }

    private boolean waitBack(RolloutStep step) {
        String node = step.node();
        List<String> missing = new ArrayList<>();
        ClusterSnapshot snapshot = client.snapshot();
        if (!snapshot.node(node).map(Node::online).orElse(false)) missing.add("offline");
        Quorum q = client.quorum();
        if (!q.quorate()) missing.add("the cluster has no quorum");
        else if (!q.onlineNodes().contains(node)) missing.add("not an online member of the quorum");
        List<CephOsd> down = client.cephOsds(node).stream().filter(o -> !o.up()).toList();
        if (!down.isEmpty()) {
            missing.add(down.size() + " Ceph OSD(s) down: " + down.stream().map(o -> "osd." + o.id()).collect(Collectors.joining(", ")));
        }
        Optional<HaManagerStatus> ha = client.haManagerStatus();
        if (ha.isPresent()) {
            String s = ha.get().nodeStatus().get(node);
            if (s != null && !s.equals("online") && !s.equals("maintenance")) missing.add("the HA manager sees it " + s);
        }
        Instant now = now();
        if (!missing.isEmpty()) {
            Duration waited = Duration.between(step.phaseStartedAt(), now);
            Duration limit = record.request().nodeBackTimeout();
            if (waited.compareTo(limit) >= 0) {
                fail(step.withBackSince(null), node + " did not come back within " + human(limit) + " (nodeBackTimeout): "
                        + String.join("; ", missing));
                return false;
            }
            String msg = "waiting for " + node + " to be back: " + String.join("; ", missing);
            if (step.backSince() != null || !msg.equals(step.message())) write(step.withBackSince(null).with(RolloutState.WAITING, msg));
            setRollout(RolloutState.WAITING, node + ": " + msg.substring(msg.indexOf(':') + 2));
            return false;
        }
        if (step.backSince() == null) step = write(step.withBackSince(now));
        Duration up = Duration.between(step.backSince(), now);
        Duration settle = record.request().settleTime();
        if (up.compareTo(settle) < 0) {
            String msg = node + " is back; settling (" + human(up) + " of " + human(settle) + ")";
            write(step.with(RolloutState.WAITING, msg));
            setRollout(RolloutState.WAITING, msg);
            return false;
        }
        List<GateVerdict> gates = step.gates();
        if (flagsWeSet(step).contains(NOOUT)) {
            client.setCephFlag(NOOUT, false);
            log.info("Rollout {}: Ceph noout cleared, {}'s OSDs are up", rolloutId, node);
            gates = new ArrayList<>(gates.stream().filter(v -> !v.gate().equals(NOOUT_GATE)).toList());
            gates.add(GateVerdict.pass(NOOUT_GATE, "noout was set by this rollout while " + node + " was out; cleared once its OSDs were up"));
        }
        write(step.withGates(gates)
                .enter(RolloutPhase.GATES_BACK, now, "checking the gates before the guests return to " + node));
        return true;
    }

    private boolean undraining(RolloutStep step) {
        String node = step.node();
        if (step.undrainId() == null) {
            Optional<DrainStatus> adopted = startedDuringPhase(step, Operation.UNDRAIN);
            String undrainId;
            if (adopted.isPresent()) {
                undrainId = adopted.get().drainId();
            } else {
                service.disableMaintenance(node, false);
                try {
                    undrainId = service.undrain(node).drainId();
                } catch (DrainConflictException e) {
                    undrainId = e.activeDrainId();
                } catch (PreflightException e) {
                    fail(step, "the undrain of " + node + " was refused: " + e.getMessage());
                    return false;
                }
            }
            write(step.withUndrain(undrainId).with(RolloutState.RUNNING, "undraining " + node + " (undrain " + undrainId + ")"));
            setRollout(RolloutState.RUNNING, node + ": undraining (undrain " + undrainId + ")");
            return false;
        }
        DrainStatus s = service.status(node, step.undrainId());
        if (s.status() == DrainState.IN_PROGRESS) {
            setRollout(RolloutState.RUNNING, node + ": " + s.message());
            return false;
        }
        if (s.status() != DrainState.COMPLETED) {
            fail(step, "the undrain of " + node + " ended " + s.status().wireName() + ": " + s.message()
                    + " (" + node + " is out of maintenance; the guests not returned are where the drain put them)");
            return false;
        }
        RolloutRequest r = record.request();
        if (r.afterUndrainAction().isPresent()) {
            step = write(step.enter(RolloutPhase.AFTER_UNDRAIN, now(), "running the afterUndrain action " + r.afterUndrain()));
            startAction(step, r.afterUndrain());
        } else {
            write(step.enter(RolloutPhase.DONE, now(), node + " is back in service"));
        }
        return true;
    }

    private boolean done(RolloutStep step) {
        Instant now = now();
        write(step.ended(RolloutState.SUCCEEDED, now, step.node() + " done in " + human(Duration.between(step.startedAt(), now))));
        log.info("Rollout {}: {} done", rolloutId, step.node());
        return true;
    }

    // ------------------------------------------------------------------ endings

    /**
     * Fails the step, leaving the node as it is (in maintenance with its guests where they are, when it went that far),
     * and ends the rollout unless it goes on after failures.
     */
    private void fail(RolloutStep step, String why) {
        String node = step.node();
        String safe = safeState(step);
        Instant now = now();
        write(step.ended(RolloutState.FAILED, now, why + ". " + safe));
        log.warn("Rollout {}: {} failed at {}: {}", rolloutId, node, step.phase().wireName(), why);
        if (record.request().continueOnFailure()) {
            setRollout(RolloutState.RUNNING, node + " failed (" + why + "); going on with the next node (continueOnFailure)");
            return;
        }
        List<RolloutStep> steps = store.steps(rolloutId);
        List<String> notStarted = skipRest(steps, "not started: the rollout stopped when " + node + " failed");
        setEnded(RolloutState.FAILED, node + " failed at " + step.phase().wireName() + ": " + why + ". " + safe
                + (notStarted.isEmpty() ? "" : " Not started: " + String.join(", ", notStarted) + ".")
                + " To go on: fix the cause, bring " + node + " back (DELETE /api/v1/nodes/" + node + "/maintenance?undrain=true) "
                + "and start a rollout of the nodes left.");
    }

    /** What the cluster is left like for the step's node, in an operator's words; clears noout when it is safe to. */
    private String safeState(RolloutStep step) {
        String node = step.node();
        StringBuilder sb = new StringBuilder();
        switch (step.phase()) {
            case PENDING, GATES, BEFORE_DRAIN -> sb.append(node).append(" was not taken out: nothing changed on it.");
            case DRAINING, EMPTY_CHECK, ACTION, WAIT_BACK, GATES_BACK -> sb.append(node)
                    .append(" stays in maintenance with its guests where they are.");
            case UNDRAINING, AFTER_UNDRAIN, DONE -> sb.append(node).append(" is out of maintenance.");
        }
        if (flagsWeSet(step).contains(NOOUT)) {
            boolean osdsUp;
            try {
                osdsUp = client.cephOsds(node).stream().allMatch(CephOsd::up);
            } catch (MoxxieException e) {
                osdsUp = false;
            }
            if (osdsUp) {
                client.setCephFlag(NOOUT, false);
                sb.append(" Ceph noout cleared (its OSDs are up).");
            } else {
                sb.append(" Ceph noout stays set (OSDs of ").append(node).append(" are down): clear it with "
                        + "'ceph osd unset noout' once they are up.");
            }
        }
        return sb.toString();
    }

    private void cancel(List<RolloutStep> steps) {
        Optional<RolloutStep> current = steps.stream().filter(s -> !s.state().ended() && s.phase() != RolloutPhase.PENDING).findFirst();
        String where = "";
        if (current.isPresent()) {
            RolloutStep step = current.get();
            stopWork(step);
            String safe = safeState(step);
            write(step.ended(RolloutState.CANCELLED, now(), "cancelled at " + step.phase().wireName() + ". " + safe));
            where = " at " + step.node() + " (" + step.phase().wireName() + "). " + safe;
        }
        skipRest(steps, "not started: the rollout was cancelled"); // it skips pending steps only: none was written above
        setEnded(RolloutState.CANCELLED, "Cancelled" + where);
    }

    /** Cancels the step's drain or undrain under way, and its action. */
    private void stopWork(RolloutStep step) {
        for (MaintenanceAction.Run run : actionRuns.values()) run.cancel();
        actionRuns.clear();
        String id = step.phase() == RolloutPhase.DRAINING ? step.drainId() : step.phase() == RolloutPhase.UNDRAINING ? step.undrainId() : null;
        if (id != null) {
            try {
                service.cancel(step.node(), id);
            } catch (MoxxieException e) {
                log.warn("Rollout {}: could not cancel {} of {}: {}", rolloutId, id, step.node(), e.getMessage());
            }
        }
    }

    private void finish(List<RolloutStep> steps) {
        long failed = steps.stream().filter(s -> s.state() == RolloutState.FAILED).count();
        Duration took = Duration.between(record.createdAt(), now());
        if (failed == 0) {
            setEnded(RolloutState.SUCCEEDED, steps.size() + " node(s) done in " + human(took));
        } else {
            setEnded(RolloutState.FAILED, failed + " of " + steps.size() + " node(s) failed: " + steps.stream()
                    .filter(s -> s.state() == RolloutState.FAILED).map(RolloutStep::node).collect(Collectors.joining(", "))
                    + " (each stays as its step says); the others are done");
        }
    }

    private List<String> skipRest(List<RolloutStep> steps, String why) {
        List<String> skipped = new ArrayList<>();
        Instant now = now();
        for (RolloutStep s : steps) {
            if (s.state().ended() || s.phase() != RolloutPhase.PENDING) continue;
            write(s.ended(RolloutState.SKIPPED, now, why));
            skipped.add(s.node());
        }
        return skipped;
    }

    // ------------------------------------------------------------------ helpers

    private MaintenanceAction.Run startAction(RolloutStep step, String name) {
        MaintenanceAction action = owner.action(name);
        MaintenanceAction.Context context = new MaintenanceAction.Context(rolloutId, step.node(), step.phase(), now(),
                () -> continueRequested(step));
        MaintenanceAction.Run run = action.start(context);
        actionRuns.put(step.phase(), run);
        return run;
    }

    /**
     * Whether an operator said continue for this step's node; read from the store, where any instance writes it. For
     * an action, which asks between ticks; a tick itself uses the {@link #record} it read when it began.
     */
    private boolean continueRequested(RolloutStep step) {
        return store.rollout(rolloutId).map(r -> step.node().equals(r.continueNode())).orElse(false);
    }

    private String actionName(RolloutPhase phase) {
        RolloutRequest r = record.request();
        return switch (phase) {
            case BEFORE_DRAIN -> r.beforeDrain();
            case ACTION -> r.action();
            case AFTER_UNDRAIN -> r.afterUndrain();
            default -> throw new IllegalStateException("not an action phase: " + phase);
        };
    }

    /** The Ceph flags this rollout set for the step's node (recorded in the step, so a takeover knows them too). */
    static Set<String> flagsWeSet(RolloutStep step) {
        return step.gates().stream().anyMatch(v -> v.gate().equals(NOOUT_GATE) && v.reason().startsWith(NOOUT_SET_BY_US))
                ? Set.of(NOOUT) : Set.of();
    }

    /** The node's latest drain or undrain, if it started since the step's phase began (by this rollout, before a crash). */
    private Optional<DrainStatus> startedDuringPhase(RolloutStep step, Operation operation) {
        return service.drains(step.node(), 1).stream()
                .filter(d -> d.operation() == operation && !d.startedAt().isBefore(step.phaseStartedAt()))
                .findFirst();
    }

    /**
     * Another node that went out of service before this one (or at the same instant with a smaller name, or at the same
     * instant and already being drained), when that leaves more nodes out than {@code maxNodesDown} allows: of two
     * rollouts that passed their gates at the same time, the later steps back. A node whose drain has started went past
     * this check already, whatever its name: it does not step back any more, so this one must.
     */
    private Optional<String> earlierNodeOut(String node) {
        Map<String, String> out = service.nodesOutOfService(client.snapshot());
        out.remove(node);
        if (out.size() < record.request().maxNodesDown()) return Optional.empty();
        Instant mine = service.maintenance(node).maintenanceStarted();
        for (Map.Entry<String, String> e : out.entrySet()) {
            if (!e.getValue().startsWith("in maintenance")) return Optional.of(e.getKey() + " " + e.getValue());
            MaintenanceView other = service.maintenance(e.getKey());
            Instant theirs = other.maintenanceStarted();
            if (theirs == null || mine == null || theirs.isBefore(mine) || (theirs.equals(mine)
                    && (e.getKey().compareTo(node) < 0 || other.drainStatus() == DrainState.IN_PROGRESS))) {
                return Optional.of(e.getKey() + " " + e.getValue());
            }
        }
        return Optional.empty();
    }

    private RolloutStep write(RolloutStep step) {
        if (step.message().length() > MAX_MESSAGE) step = step.with(step.state(), capped(step.message()));
        if (!store.updateStep(step, ownerId)) throw new LostOwnership();
        return step;
    }

    /** A message within what every store keeps (4,000 characters in SQL), cut in the middle where the least is lost. */
    static String capped(String message) {
        message = printable(message);
        if (message.length() <= MAX_MESSAGE) return message;
        int half = (MAX_MESSAGE - 3) / 2;
        return message.substring(0, half) + " … " + message.substring(message.length() - half);
    }

    private void setRollout(RolloutState state, String message) {
        message = capped(message);
        if (record.state() == state && record.message().equals(message)) return;
        RolloutRecord next = record.withState(state, message, null);
        if (!store.updateRollout(next)) throw new LostOwnership();
        record = next;
    }

    private void setEnded(RolloutState state, String message) {
        RolloutRecord next = record.withState(state, capped(message), now());
        if (!store.updateRollout(next)) throw new LostOwnership();
        record = next;
        stopped = true;
        log.info("Rollout {} ended {}: {}", rolloutId, state.wireName(), message);
    }

    private Instant now() {
        return scheduler.now();
    }

    /**
     * The tail of an action's output as a step keeps it: at most {@link RolloutService#MAX_ACTION_OUTPUT} characters,
     * without NUL and other control characters but line breaks and tabs (PostgreSQL cannot store a NUL).
     */
    static String tail(String output) {
        String clean = printable(output);
        int max = RolloutService.MAX_ACTION_OUTPUT;
        return clean.length() <= max ? clean : "…" + clean.substring(clean.length() - max);
    }

    /** The text without NUL and the other control characters but line breaks and tabs. */
    static String printable(String text) {
        return CONTROL.matcher(text).replaceAll("");
    }

    static String human(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 60) return s + " s";
        if (s < 3600) return (s / 60) + " min" + (s % 60 == 0 ? "" : " " + (s % 60) + " s");
        return (s / 3600) + " h" + ((s % 3600) / 60 == 0 ? "" : " " + (s % 3600) / 60 + " min");
    }

    /** Another instance owns the rollout now: this one stops. */
    static final class LostOwnership extends RuntimeException {
        LostOwnership() {
            super("the rollout is owned by another instance now", null, false, false);
        }
    }
}
