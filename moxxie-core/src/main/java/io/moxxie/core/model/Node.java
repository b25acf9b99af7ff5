package io.moxxie.core.model;

import io.moxxie.core.Checks;

import java.math.BigInteger;
import java.util.Comparator;

/**
 * A hypervisor node as seen in one snapshot.
 *
 * @param name        the node's name in the cluster
 * @param online      whether the cluster sees it online
 * @param memoryTotal physical memory, bytes
 * @param memoryUsed  memory in use, bytes
 * @param cpus        logical CPUs
 * @param cpuLoad     CPU usage as a fraction of all CPUs, 0..1
 */
public record Node(String name, boolean online, long memoryTotal, long memoryUsed, int cpus, double cpuLoad) {
    /**
     * hv7, hv8, hv9, hv10: node names compared with their numbers as numbers, as an operator reads them. The order
     * of listings and of messages that name several nodes.
     */
    public static final Comparator<String> NAME_ORDER = (a, b) -> {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            char x = a.charAt(i), y = b.charAt(j);
            if (Character.isDigit(x) && Character.isDigit(y)) {
                int si = i, sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) i++;
                while (j < b.length() && Character.isDigit(b.charAt(j))) j++;
                int c = new BigInteger(a.substring(si, i)).compareTo(new BigInteger(b.substring(sj, j)));
                if (c != 0) return c;
            } else {
                if (x != y) return Character.compare(x, y);
                i++;
                j++;
            }
        }
        return Integer.compare(a.length() - i, b.length() - j);
    };

    public Node {
        Checks.nodeName("name", name);
        Checks.atLeast("memoryTotal", memoryTotal, 0);
        Checks.atLeast("memoryUsed", memoryUsed, 0);
        Checks.atLeast("cpus", cpus, 0);
    }

    public long memoryFree() {
        return Math.max(0, memoryTotal - memoryUsed);
    }
}
