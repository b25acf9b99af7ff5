package io.moxxie.examples.bench;

/** A way of carrying out a drain: Moxxie's executor, or one of the baselines it is compared with. */
interface Strategy {
    String name();

    Outcome run(Scenario scenario);
}
