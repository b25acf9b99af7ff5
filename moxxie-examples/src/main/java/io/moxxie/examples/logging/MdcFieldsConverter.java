package io.moxxie.examples.logging;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

import java.util.Map;

/**
 * {@code %mdcFields}: the drain's MDC fields core puts on its lines ({@code drainId}, {@code node}, {@code vmid}), as
 * {@code " {drainId=… node=hv7 vmid=8200}"}, or nothing on a line outside a drain. In a fixed order so that
 * {@code grep "vmid=8200"} or {@code grep "drainId=<id>"} pulls one guest's or one drain's story out of the file.
 * Thread-safe (stateless).
 */
public final class MdcFieldsConverter extends ClassicConverter {
    static final String[] KEYS = {"drainId", "node", "vmid"};

    @Override
    public String convert(ILoggingEvent event) {
        Map<String, String> mdc = event.getMDCPropertyMap();
        if (mdc == null || mdc.isEmpty()) return "";
        StringBuilder b = new StringBuilder();
        for (String k : KEYS) {
            String v = mdc.get(k);
            if (v == null) continue;
            b.append(b.length() == 0 ? " {" : " ").append(k).append('=').append(v);
        }
        return b.length() == 0 ? "" : b.append('}').toString();
    }
}
