package io.moxxie.core.policy;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.MigrationType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static io.moxxie.core.policy.TagPolicy.Decision.Kind.BLOCK;
import static io.moxxie.core.policy.TagPolicy.Decision.Kind.MOVE;
import static io.moxxie.core.policy.TagPolicy.Decision.Kind.SKIP;
import static io.moxxie.core.testing.TestClusters.lxc;
import static io.moxxie.core.testing.TestClusters.qemu;
import static io.moxxie.core.testing.TestClusters.stoppedQemu;
import static io.moxxie.core.testing.TestClusters.template;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TagPolicyTest {
    private final TagPolicy policy = TagPolicy.defaults();

    private TagPolicy.Decision decide(Guest g, DrainMode mode) {
        return policy.decide(g, mode, mode == DrainMode.HARD, MigrationPreconditions.unrestricted(g.vmid()));
    }

    /** The guide's "Tag Priority" table, every row in both modes, for a running qemu guest. */
    @ParameterizedTest(name = "tags [{0}] in a {1} drain: {2} {3}")
    @CsvSource({
            "always-on,          SOFT, MOVE, ONLINE",
            "always-on,          HARD, MOVE, ONLINE",
            "maint-ok,           SOFT, SKIP, ",
            "maint-ok,           HARD, MOVE, OFFLINE",
            "always-on;maint-ok, SOFT, MOVE, ONLINE",
            "always-on;maint-ok, HARD, MOVE, ONLINE",
            "'',                 SOFT, MOVE, ONLINE",
            "'',                 HARD, MOVE, ONLINE",
            "env-prod,           SOFT, MOVE, ONLINE",
            "env-prod,           HARD, MOVE, ONLINE",
    })
    void guideTagTable(String tags, DrainMode mode, TagPolicy.Decision.Kind kind, MigrationType type) {
        TagPolicy.Decision d = decide(qemu(100, "vm", "hv7", 4, tags), mode);
        assertThat(d.kind()).isEqualTo(kind);
        assertThat(d.migrationType()).isEqualTo(type);
    }

    @Test
    void alwaysOnWinsOverMaintOkAndIsReportedAsAlwaysOn() {
        TagPolicy.Decision d = decide(qemu(100, "vm", "hv7", 4, "maint-ok,always-on"), DrainMode.SOFT);
        assertThat(d.alwaysOn()).isTrue();
        assertThat(d.kind()).isEqualTo(MOVE);
    }

    @Test
    void softDrainSkipReasonNamesTheTag() {
        assertThat(decide(qemu(100, "vm", "hv7", 4, "maint-ok"), DrainMode.SOFT).reason()).contains("maint-ok");
    }

    @Test
    void stoppedGuestsMoveOfflineInBothModes() {
        for (DrainMode mode : DrainMode.values()) {
            TagPolicy.Decision d = decide(stoppedQemu(100, "vm", "hv7", 4, ""), mode);
            assertThat(d.kind()).isEqualTo(MOVE);
            assertThat(d.migrationType()).isEqualTo(MigrationType.OFFLINE);
        }
    }

    @Test
    void stoppedMaintOkGuestStaysInSoftDrain() {
        assertThat(decide(stoppedQemu(100, "vm", "hv7", 4, "maint-ok"), DrainMode.SOFT).kind()).isEqualTo(SKIP);
    }

    @Test
    void templatesBehaveLikeMaintOk() {
        TagPolicy.Decision soft = decide(template(100, "tpl", "hv7", 4), DrainMode.SOFT);
        assertThat(soft.kind()).isEqualTo(SKIP);
        assertThat(soft.reason()).contains("template");
        TagPolicy.Decision hard = decide(template(100, "tpl", "hv7", 4), DrainMode.HARD);
        assertThat(hard.kind()).isEqualTo(MOVE);
        assertThat(hard.migrationType()).isEqualTo(MigrationType.OFFLINE);
    }

    @Test
    void runningContainersMoveInRestartModeEvenWhenAlwaysOn() {
        for (DrainMode mode : DrainMode.values()) {
            TagPolicy.Decision plain = decide(lxc(100, "ct", "hv7", 2, ""), mode);
            assertThat(plain.migrationType()).isEqualTo(MigrationType.RESTART);
            TagPolicy.Decision alwaysOn = decide(lxc(101, "ct", "hv7", 2, "always-on"), mode);
            assertThat(alwaysOn.migrationType()).isEqualTo(MigrationType.RESTART);
            assertThat(alwaysOn.reason()).contains("restart mode").contains("always-on");
        }
    }

    @Test
    void maintOkContainerIsSkippedInSoftAndMovedInHardDrain() {
        assertThat(decide(lxc(100, "ct", "hv7", 2, "maint-ok"), DrainMode.SOFT).kind()).isEqualTo(SKIP);
        assertThat(decide(lxc(100, "ct", "hv7", 2, "maint-ok"), DrainMode.HARD).migrationType()).isEqualTo(MigrationType.RESTART);
    }

    @Test
    void tagsAreMatchedCaseInsensitively() {
        assertThat(decide(qemu(100, "vm", "hv7", 4, "MAINT-OK"), DrainMode.SOFT).kind()).isEqualTo(SKIP);
        assertThat(decide(qemu(100, "vm", "hv7", 4, "Always-On"), DrainMode.SOFT).alwaysOn()).isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "always-on;env-prod;client-acme",
            "always-on,env-prod,client-acme",
            "always-on env-prod  client-acme",
            " always-on ; env-prod,client-acme ",
            "always-on;;env-prod,,client-acme;always-on",
    })
    void parsesSemicolonCommaAndSpaceSeparatedTags(String raw) {
        assertThat(TagPolicy.parseTags(raw)).containsExactly("always-on", "env-prod", "client-acme");
    }

    @Test
    void parseKeepsFirstSpellingAndDropsCaseInsensitiveDuplicates() {
        assertThat(TagPolicy.parseTags("Prod;prod;PROD;web")).containsExactly("Prod", "web");
        assertThat(TagPolicy.parseTags(null)).isEmpty();
        assertThat(TagPolicy.parseTags("  ")).isEmpty();
        assertThat(TagPolicy.formatTags(List.of("a", "b"))).isEqualTo("a;b");
    }

    @Test
    void invalidTagsAreRejectedNamingTheTag() {
        assertThatThrownBy(() -> TagPolicy.parseValidTags("ok,-bad"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'-bad'");
        assertThatThrownBy(() -> TagPolicy.parseValidTags("a/b"))
                .hasMessageContaining("'a/b'");
    }

    @Test
    void tagNamesAreConfigurable() {
        TagPolicy custom = TagPolicy.of("critical", "disposable");
        Guest critical = qemu(100, "vm", "hv7", 4, "CRITICAL");
        Guest disposable = qemu(101, "vm", "hv7", 4, "disposable");
        Guest oldStyle = qemu(102, "vm", "hv7", 4, "maint-ok");
        MigrationPreconditions any = MigrationPreconditions.unrestricted(1);
        assertThat(custom.decide(critical, DrainMode.SOFT, false, any).alwaysOn()).isTrue();
        assertThat(custom.decide(disposable, DrainMode.SOFT, false, any).kind()).isEqualTo(SKIP);
        assertThat(custom.decide(oldStyle, DrainMode.SOFT, false, any).kind()).isEqualTo(MOVE);
        assertThatThrownBy(() -> TagPolicy.of("same", "SAME")).hasMessageContaining("must differ");
        assertThatThrownBy(() -> TagPolicy.of("", "x")).hasMessageContaining("alwaysOnTag");
    }

    @Test
    void passthroughBlocksEveryMoveButASoftDrainStillSkipsMaintOk() {
        MigrationPreconditions pci = new MigrationPreconditions(100, Map.of(), List.of(), List.of("hostpci0"), false);
        Guest gpu = qemu(100, "gpu", "hv10", 16, "maint-ok");
        assertThat(policy.decide(gpu, DrainMode.SOFT, false, pci).kind()).isEqualTo(SKIP);
        TagPolicy.Decision hard = policy.decide(gpu, DrainMode.HARD, true, pci);
        assertThat(hard.kind()).isEqualTo(BLOCK);
        assertThat(hard.reason()).contains("hostpci0");
    }

    @Test
    void guestThatCannotMoveLiveMovesOfflineOnlyWhenAllowedAndNeverWhenAlwaysOn() {
        MigrationPreconditions usb = new MigrationPreconditions(100, Map.of(), List.of("usb0"), List.of(), false);
        Guest plain = qemu(100, "vm", "hv7", 4, "");
        Guest critical = qemu(100, "vm", "hv7", 4, "always-on");
        assertThat(policy.decide(plain, DrainMode.SOFT, false, usb).kind()).isEqualTo(BLOCK);
        assertThat(policy.decide(plain, DrainMode.SOFT, false, usb).reason()).contains("allowOffline");
        TagPolicy.Decision allowed = policy.decide(plain, DrainMode.SOFT, true, usb);
        assertThat(allowed.kind()).isEqualTo(MOVE);
        assertThat(allowed.migrationType()).isEqualTo(MigrationType.OFFLINE);
        TagPolicy.Decision never = policy.decide(critical, DrainMode.HARD, true, usb);
        assertThat(never.kind()).isEqualTo(BLOCK);
        assertThat(never.reason()).contains("never moved offline");
    }

    @Test
    void placementTagsBecomeRulesOfOriginTag() {
        List<io.moxxie.core.model.PlacementRule> rules = policy.rules(List.of(qemu(1, "a", "hv1", 4, "plb_anti_affinity_Web"),
                qemu(2, "b", "hv2", 4, "PLB_ANTI_AFFINITY_web"), qemu(3, "c", "hv1", 4, "plb_affinity_solo"),
                qemu(4, "d", "hv1", 4, "plb_pin_hv3;plb_pin_hv4"), qemu(5, "e", "hv1", 4, "plb_pin_hv4;plb_pin_hv3"),
                qemu(6, "f", "hv1", 4, "plb_ignore_x;plb_pin_")));
        assertThat(rules).containsExactly(
                new io.moxxie.core.model.PlacementRule.GuestAffinity("plb_anti_affinity_Web", io.moxxie.core.model.PlacementRule.Origin.TAG,
                        java.util.Set.of(1, 2), false),
                new io.moxxie.core.model.PlacementRule.NodeAffinity("plb_pin_hv3,plb_pin_hv4", io.moxxie.core.model.PlacementRule.Origin.TAG,
                        java.util.Set.of(4, 5), Map.of("hv3", 0, "hv4", 0), true));
        assertThat(rules.get(0).describe()).as("a group of one (solo) binds nothing; a bare prefix is no tag rule")
                .isEqualTo("tag plb_anti_affinity_Web (negative resource-affinity)");
        assertThat(policy.ignoreTag(qemu(6, "f", "hv1", 4, "plb_ignore_x"))).contains("plb_ignore_x");
    }
}
