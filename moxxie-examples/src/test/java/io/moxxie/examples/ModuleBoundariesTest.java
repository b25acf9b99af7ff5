package io.moxxie.examples;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * Modules use each other through public API only: no module reaches into another module's {@code internal} package.
 * This module depends on all the others, so its test class path holds every Moxxie class.
 */
class ModuleBoundariesTest {
    private final JavaClasses moxxie = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.moxxie");

    @Test
    void everyModuleIsOnTheClassPath() {
        // The rules below would hold vacuously over an empty import.
        assertThat(moxxie.contain("io.moxxie.core.execution.internal.DrainRun")).isTrue();
        assertThat(moxxie.contain("io.moxxie.proxmox.ProxmoxClient")).isTrue();
        assertThat(moxxie.contain("io.moxxie.store.jdbc.JdbcMaintenanceStore")).isTrue();
        assertThat(moxxie.contain("io.moxxie.examples.server.MoxxieServer")).isTrue();
    }

    @Test
    void noModuleUsesTheCoresInternals() {
        noClasses().that().resideOutsideOfPackage("io.moxxie.core..")
                .should().dependOnClassesThat().resideInAPackage("io.moxxie.core..internal..")
                .check(moxxie);
    }

    @Test
    void noModuleUsesTheProxmoxClientsInternals() {
        noClasses().that().resideOutsideOfPackage("io.moxxie.proxmox..")
                .should().dependOnClassesThat().resideInAPackage("io.moxxie.proxmox.internal..")
                .check(moxxie);
    }

    @Test
    void noModuleUsesTheJdbcStoresInternals() {
        noClasses().that().resideOutsideOfPackage("io.moxxie.store.jdbc..")
                .should().dependOnClassesThat().resideInAPackage("io.moxxie.store.jdbc.internal..")
                .check(moxxie);
    }

    @Test
    void theCoreImportsNoOtherModule() {
        noClasses().that().resideInAPackage("io.moxxie.core..")
                .should().dependOnClassesThat().resideInAnyPackage("io.moxxie.proxmox..", "io.moxxie.store..",
                        "io.moxxie.examples..")
                .check(moxxie);
    }
}
