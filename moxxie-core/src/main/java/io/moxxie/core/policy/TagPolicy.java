package io.moxxie.core.policy;

import io.moxxie.core.ValidationException;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.MigrationType;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The guide's tag table as code: what a drain does with a guest, given its tags, type, power state
 * and what the hypervisor says can be done with it.
 *
 * <table>
 *   <caption>Tag table</caption>
 *   <tr><th>guest</th><th>soft drain</th><th>hard drain</th></tr>
 *   <tr><td>{@code always-on} (with or without {@code maint-ok})</td><td>live</td><td>live</td></tr>
 *   <tr><td>{@code maint-ok} only, or a template</td><td>skip</td><td>offline</td></tr>
 *   <tr><td>no policy tag</td><td>live</td><td>live</td></tr>
 * </table>
 *
 * <p>On top of the table: a stopped guest moves offline (nothing to keep alive); a running container
 * moves in restart mode (containers cannot live-migrate); a guest that cannot move live moves offline
 * only when offline moves are allowed and it is not {@code always-on}, and is blocked otherwise.
 *
 * <p>Placement tags, in ProxLB's convention (the prefixes are configurable: {@link #withRuleTags}), become
 * {@link PlacementRule}s of origin {@link PlacementRule.Origin#TAG} ({@link #rules}), which only Moxxie enforces:
 * <ul>
 *   <li>{@code plb_anti_affinity_<group>}: the guests with the tag never share a node; at most one of them is in
 *       flight at once during a drain (disruption budget 1);</li>
 *   <li>{@code plb_affinity_<group>}: the guests with the tag share a node;</li>
 *   <li>{@code plb_pin_<node>}: the guest runs only on that node (strict); a guest with several pin tags runs on any
 *       of their nodes, as in ProxLB;</li>
 *   <li>{@code plb_ignore_<anything>}: ProxLB's balancing leaves the guest alone; a drain still moves it (maintenance
 *       needs the node empty), its entry says so.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe. Tag names are matched case-insensitively.
 */
public final class TagPolicy {
    public static final String DEFAULT_ALWAYS_ON_TAG = "always-on";
    public static final String DEFAULT_MAINT_OK_TAG = "maint-ok";

    private static final Pattern SEPARATORS = Pattern.compile("[;,\\s]+");
    private static final Pattern VALID_TAG = Pattern.compile("^[a-z0-9_][a-z0-9_\\-+.]*$", Pattern.CASE_INSENSITIVE);
    /** ProxLB's prefixes (its README, "Affinity & Anti-Affinity Rules", "Pinning", "Ignore"). */
    public static final String DEFAULT_AFFINITY_PREFIX = "plb_affinity_";
    public static final String DEFAULT_ANTI_AFFINITY_PREFIX = "plb_anti_affinity_";
    public static final String DEFAULT_PIN_PREFIX = "plb_pin_";
    public static final String DEFAULT_IGNORE_PREFIX = "plb_ignore_";
    private static final TagPolicy DEFAULTS = new TagPolicy(DEFAULT_ALWAYS_ON_TAG, DEFAULT_MAINT_OK_TAG, DEFAULT_AFFINITY_PREFIX,
            DEFAULT_ANTI_AFFINITY_PREFIX, DEFAULT_PIN_PREFIX, DEFAULT_IGNORE_PREFIX);

    private final String alwaysOnTag;
    private final String maintOkTag;
    private final String affinityPrefix;
    private final String antiAffinityPrefix;
    private final String pinPrefix;
    private final String ignorePrefix;
    /** The four prefixes in {@link #RULE_KINDS}' order: {@link #kindOf} runs for every tag of every guest a plan reads. */
    private final String[] rulePrefixes;

    private TagPolicy(String alwaysOnTag, String maintOkTag, String affinityPrefix, String antiAffinityPrefix, String pinPrefix,
                      String ignorePrefix) {
        this.alwaysOnTag = validTag("alwaysOnTag", alwaysOnTag);
        this.maintOkTag = validTag("maintOkTag", maintOkTag);
        if (this.alwaysOnTag.equals(this.maintOkTag)) {
            throw new ValidationException("maintOkTag", maintOkTag, "alwaysOnTag and maintOkTag must differ, both were '" + alwaysOnTag + "'");
        }
        this.affinityPrefix = validTag("affinityPrefix", affinityPrefix);
        this.antiAffinityPrefix = validTag("antiAffinityPrefix", antiAffinityPrefix);
        this.pinPrefix = validTag("pinPrefix", pinPrefix);
        this.ignorePrefix = validTag("ignorePrefix", ignorePrefix);
        this.rulePrefixes = new String[]{this.affinityPrefix, this.antiAffinityPrefix, this.pinPrefix, this.ignorePrefix};
        Set<String> distinct = new TreeSet<>(List.of(this.affinityPrefix, this.antiAffinityPrefix, this.pinPrefix, this.ignorePrefix));
        if (distinct.size() < 4) {
            throw new ValidationException("affinityPrefix", affinityPrefix, "the affinity, anti-affinity, pin and ignore tag prefixes must differ, were '"
                    + affinityPrefix + "', '" + antiAffinityPrefix + "', '" + pinPrefix + "', '" + ignorePrefix + "'");
        }
    }

    public static TagPolicy defaults() {
        return DEFAULTS;
    }

    /** A policy with other tag names, e.g. {@code of("critical", "disposable")}. */
    public static TagPolicy of(String alwaysOnTag, String maintOkTag) {
        return new TagPolicy(alwaysOnTag, maintOkTag, DEFAULT_AFFINITY_PREFIX, DEFAULT_ANTI_AFFINITY_PREFIX, DEFAULT_PIN_PREFIX,
                DEFAULT_IGNORE_PREFIX);
    }

    /**
     * This policy with other prefixes for the placement tags, e.g. {@code withRuleTags("aff_", "anti_", "pin_", "noplb_")}.
     * Each must be a valid tag, and they must differ; a tag matching two prefixes counts for the longer.
     */
    public TagPolicy withRuleTags(String affinityPrefix, String antiAffinityPrefix, String pinPrefix, String ignorePrefix) {
        return new TagPolicy(alwaysOnTag, maintOkTag, affinityPrefix, antiAffinityPrefix, pinPrefix, ignorePrefix);
    }

    public String affinityPrefix() {
        return affinityPrefix;
    }

    public String antiAffinityPrefix() {
        return antiAffinityPrefix;
    }

    public String pinPrefix() {
        return pinPrefix;
    }

    public String ignorePrefix() {
        return ignorePrefix;
    }

    public String alwaysOnTag() {
        return alwaysOnTag;
    }

    public String maintOkTag() {
        return maintOkTag;
    }

    /**
     * Splits a tag string the way Proxmox does: on {@code ;} (its stored form), {@code ,} (the guide's
     * PUT body) or whitespace, in any mix; trims; drops empties and case-insensitive duplicates, keeping
     * the first spelling and the order. {@code null} gives an empty list.
     */
    public static List<String> parseTags(String raw) {
        if (raw == null || raw.isBlank()) return List.of();
        Set<String> seen = new LinkedHashSet<>();
        List<String> out = new ArrayList<>();
        for (String part : SEPARATORS.split(raw.trim())) {
            String tag = part.trim();
            if (!tag.isEmpty() && seen.add(tag.toLowerCase(Locale.ROOT))) out.add(tag);
        }
        return List.copyOf(out);
    }

    /**
     * Like {@link #parseTags(String)}, and each tag must be one Proxmox accepts (letters, digits,
     * {@code _ - + .}, not starting with {@code - + .}).
     *
     * @throws IllegalArgumentException naming the first invalid tag
     */
    public static List<String> parseValidTags(String raw) {
        List<String> tags = parseTags(raw);
        for (String t : tags) validTag("tags", t);
        return tags;
    }

    /** Proxmox's own stored form: joined with {@code ;}. */
    public static String formatTags(List<String> tags) {
        return String.join(";", tags);
    }

    public boolean hasTag(Guest guest, String tag) {
        for (String t : guest.tags()) {
            if (t.equalsIgnoreCase(tag)) return true;
        }
        return false;
    }

    public boolean isAlwaysOn(Guest guest) {
        return hasTag(guest, alwaysOnTag);
    }

    /** Tagged {@code maint-ok}, or a template (which never runs, so downtime cannot hurt it). */
    public boolean isMaintOk(Guest guest) {
        return guest.template() || hasTag(guest, maintOkTag);
    }

    /** The guest's first tag with the ignore prefix ({@code plb_ignore_…}): balancing leaves it alone, a drain does not. */
    public java.util.Optional<String> ignoreTag(Guest guest) {
        for (String t : guest.tags()) {
            if (kindOf(t) == RuleTag.IGNORE) return java.util.Optional.of(t);
        }
        return java.util.Optional.empty();
    }

    /**
     * The placement rules {@code guests}' tags make (see the class comment), one per anti-affinity or affinity group (its
     * members: every guest of {@code guests} with the tag; the group name is matched case-insensitively) and one per set
     * of pinned nodes. Pass every guest of the cluster: a group's members on other nodes count. Groups of one guest
     * constrain nothing and are left out.
     */
    public List<PlacementRule> rules(Collection<Guest> guests) {
        Map<String, Set<Integer>> anti = new TreeMap<>();
        Map<String, Set<Integer>> together = new TreeMap<>();
        Map<Set<String>, Set<Integer>> pins = new java.util.LinkedHashMap<>();
        Map<String, String> spelling = new TreeMap<>();
        for (Guest g : guests) {
            Set<String> pinned = new TreeSet<>();
            for (String t : g.tags()) {
                RuleTag kind = kindOf(t);
                if (kind == RuleTag.PIN) pinned.add(t);
                if (kind != RuleTag.ANTI_AFFINITY && kind != RuleTag.AFFINITY) continue;
                String key = t.toLowerCase(Locale.ROOT);
                (kind == RuleTag.ANTI_AFFINITY ? anti : together).computeIfAbsent(key, k -> new TreeSet<>()).add(g.vmid());
                spelling.putIfAbsent(key, t);
            }
            if (!pinned.isEmpty()) pins.computeIfAbsent(pinned, k -> new TreeSet<>()).add(g.vmid());
        }
        List<PlacementRule> out = new ArrayList<>();
        anti.forEach((tag, members) -> {
            if (members.size() > 1) out.add(new PlacementRule.GuestAffinity(spelling.get(tag), PlacementRule.Origin.TAG, members, false));
        });
        together.forEach((tag, members) -> {
            if (members.size() > 1) out.add(new PlacementRule.GuestAffinity(spelling.get(tag), PlacementRule.Origin.TAG, members, true));
        });
        pins.forEach((tags, members) -> {
            Map<String, Integer> nodes = new TreeMap<>();
            for (String t : tags) nodes.put(t.substring(pinPrefix.length()), 0);
            out.add(new PlacementRule.NodeAffinity(String.join(",", tags), PlacementRule.Origin.TAG, members, nodes, true));
        });
        return List.copyOf(out);
    }

    /** Whether the guest has a tag that makes a placement rule (pin, affinity, anti-affinity). */
    public boolean hasRuleTag(Guest guest) {
        for (String t : guest.tags()) {
            RuleTag kind = kindOf(t);
            if (kind != RuleTag.NONE && kind != RuleTag.IGNORE) return true;
        }
        return false;
    }

    private enum RuleTag { AFFINITY, ANTI_AFFINITY, PIN, IGNORE, NONE }

    /** The kinds of {@link #rulePrefixes}, index for index. */
    private static final RuleTag[] RULE_KINDS = {RuleTag.AFFINITY, RuleTag.ANTI_AFFINITY, RuleTag.PIN, RuleTag.IGNORE};

    /** Which placement tag {@code tag} is: the longest matching prefix wins (the suffix must not be empty). */
    private RuleTag kindOf(String tag) {
        RuleTag best = RuleTag.NONE;
        int bestLength = -1;
        String[] prefixes = rulePrefixes;
        for (int i = 0; i < prefixes.length; i++) {
            // Planning reads every guest's tags: matched without a lower-cased copy of each.
            if (tag.length() > prefixes[i].length() && tag.regionMatches(true, 0, prefixes[i], 0, prefixes[i].length())
                    && prefixes[i].length() > bestLength) {
                best = RULE_KINDS[i];
                bestLength = prefixes[i].length();
            }
        }
        return best;
    }

    /**
     * What a drain does with {@code guest}.
     *
     * @param offlineAllowed whether offline moves are allowed for guests that cannot move live (always in a hard drain)
     * @param pre            the hypervisor's precondition answer for the guest
     */
    public Decision decide(Guest guest, DrainMode mode, boolean offlineAllowed, MigrationPreconditions pre) {
        boolean alwaysOn = isAlwaysOn(guest);
        boolean maintOk = isMaintOk(guest) && !alwaysOn;
        boolean hard = mode == DrainMode.HARD;

        if (maintOk && !hard) {
            return Decision.skip(guest.template()
                    ? "template (treated as " + maintOkTag + "): stays on the node in a soft drain"
                    : "tagged " + maintOkTag + ": stays on the node in a soft drain", alwaysOn);
        }
        MigrationType wanted = wantedType(guest, alwaysOn, maintOk && hard);
        if (!pre.canMove()) {
            return Decision.block(wanted, "cannot migrate: uses local resources " + String.join(", ", pre.blockers())
                    + " (passthrough devices must be removed or the guest stopped and moved by hand)", alwaysOn);
        }
        if (wanted == MigrationType.ONLINE && !pre.canMoveLive()) {
            String why = "cannot live-migrate: uses " + String.join(", ", pre.liveBlockers());
            if (alwaysOn) return Decision.block(MigrationType.ONLINE, why + "; " + alwaysOnTag + " guests are never moved offline", true);
            if (!offlineAllowed) return Decision.block(MigrationType.ONLINE, why + "; set allowOffline to move it offline", false);
            return Decision.move(MigrationType.OFFLINE, why + "; moved offline (allowOffline)", false);
        }
        String note = switch (wanted) {
            case RESTART -> alwaysOn ? "container: " + alwaysOnTag + " but moved in restart mode (brief downtime)"
                    : "container: moved in restart mode (brief downtime)";
            case OFFLINE -> guest.running() ? "tagged " + maintOkTag + ": shut down, moved offline, started again" : "stopped: moved offline";
            case ONLINE -> null;
        };
        return Decision.move(wanted, note, alwaysOn);
    }

    private static MigrationType wantedType(Guest guest, boolean alwaysOn, boolean maintOkInHardDrain) {
        if (!guest.running()) return MigrationType.OFFLINE;
        if (guest.type() == GuestType.LXC) return MigrationType.RESTART;
        if (alwaysOn) return MigrationType.ONLINE;
        return maintOkInHardDrain ? MigrationType.OFFLINE : MigrationType.ONLINE;
    }

    private static String validTag(String field, String tag) {
        if (tag == null || !VALID_TAG.matcher(tag.trim()).matches()) {
            throw new ValidationException(field, tag, field + " must be a valid Proxmox tag (letters, digits, _ - + .), was '" + tag + "'");
        }
        return tag.trim().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return "TagPolicy[alwaysOn=" + alwaysOnTag + ", maintOk=" + maintOkTag + ", affinity=" + affinityPrefix + ", antiAffinity="
                + antiAffinityPrefix + ", pin=" + pinPrefix + ", ignore=" + ignorePrefix + "]";
    }

    /**
     * One guest's fate under the policy.
     *
     * @param kind          move, skip or block
     * @param migrationType how it moves (for a block: how it would have moved)
     * @param reason        why it is skipped or blocked; for a move an optional note ({@code null} for a plain live move)
     * @param alwaysOn      whether the guest counts as always-on
     */
    public record Decision(Kind kind, MigrationType migrationType, String reason, boolean alwaysOn) {
        public enum Kind { MOVE, SKIP, BLOCK }

        static Decision move(MigrationType type, String note, boolean alwaysOn) {
            return new Decision(Kind.MOVE, type, note, alwaysOn);
        }

        static Decision skip(String reason, boolean alwaysOn) {
            return new Decision(Kind.SKIP, null, reason, alwaysOn);
        }

        static Decision block(MigrationType wanted, String reason, boolean alwaysOn) {
            return new Decision(Kind.BLOCK, wanted, reason, alwaysOn);
        }
    }
}
