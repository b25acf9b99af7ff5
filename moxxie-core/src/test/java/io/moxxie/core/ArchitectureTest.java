package io.moxxie.core;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The core's packages form layers, each depending only on the ones below it:
 *
 * <pre>
 *   rollout                      rolling maintenance of many nodes, over the service
 *   service                      the facade: drain, undrain, maintenance, recovery
 *   execution (+ .internal)      carries a plan out; .internal is not API
 *   spi                          HypervisorClient, MaintenanceStore and their records
 *   plan                         DrainPlanner, DrainRequest, the plan's entries
 *   policy                       the tag policy
 *   model, time                  value types; the scheduler abstraction
 *   io.moxxie.core               the exceptions and argument checks
 * </pre>
 *
 * {@code store} and {@code simulation} implement the SPI and sit beside the service. A failure here names the class
 * and the dependency that goes up.
 */
class ArchitectureTest {
    private static JavaClasses core;

    @BeforeAll
    static void importCore() {
        core = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.moxxie.core");
    }

    @Test
    void packagesDependOnlyOnTheLayersBelowThem() {
        layeredArchitecture()
                .consideringOnlyDependenciesInAnyPackage("io.moxxie.core..")
                .layer("Rollout").definedBy("io.moxxie.core.rollout..")
                .layer("Service").definedBy("io.moxxie.core.service..")
                .layer("Store").definedBy("io.moxxie.core.store..")
                .layer("Simulation").definedBy("io.moxxie.core.simulation..")
                .layer("Execution").definedBy("io.moxxie.core.execution..")
                .layer("Spi").definedBy("io.moxxie.core.spi..")
                .layer("Plan").definedBy("io.moxxie.core.plan..")
                .layer("Policy").definedBy("io.moxxie.core.policy..")
                .layer("Model").definedBy("io.moxxie.core.model..")
                .layer("Time").definedBy("io.moxxie.core.time..")
                .layer("Root").definedBy("io.moxxie.core")
                .whereLayer("Rollout").mayNotBeAccessedByAnyLayer()
                .whereLayer("Service").mayOnlyBeAccessedByLayers("Rollout")
                .whereLayer("Store").mayNotBeAccessedByAnyLayer()
                .whereLayer("Simulation").mayNotBeAccessedByAnyLayer()
                .whereLayer("Execution").mayOnlyBeAccessedByLayers("Service", "Rollout")
                .whereLayer("Spi").mayOnlyBeAccessedByLayers("Execution", "Service", "Rollout", "Store", "Simulation")
                .whereLayer("Plan").mayOnlyBeAccessedByLayers("Spi", "Execution", "Service", "Rollout", "Store", "Simulation")
                .whereLayer("Policy").mayOnlyBeAccessedByLayers("Plan", "Spi", "Execution", "Service", "Rollout", "Store", "Simulation")
                .whereLayer("Model").mayOnlyBeAccessedByLayers("Policy", "Plan", "Spi", "Execution", "Service", "Rollout", "Store",
                        "Simulation")
                .whereLayer("Time").mayOnlyBeAccessedByLayers("Spi", "Execution", "Service", "Rollout", "Store", "Simulation")
                .check(core);
    }

    @Test
    void onlyTheExecutorUsesItsInternals() {
        noClasses().that().resideOutsideOfPackage("io.moxxie.core.execution..")
                .should().dependOnClassesThat().resideInAPackage("..internal..")
                .because("execution.internal is the executor's implementation, not API")
                .check(core);
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("io.moxxie.core.(*)..").should().beFreeOfCycles().check(core);
    }
}
