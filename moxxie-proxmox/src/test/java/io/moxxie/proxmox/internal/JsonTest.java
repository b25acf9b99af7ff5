package io.moxxie.proxmox.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The forms Proxmox's Perl encoder really writes (booleans as {@code 1}, {@code "1"} or {@code true}, numbers as
 * strings before PVE 8.1, fields left out rather than null) are read as what they mean, and anything else falls back
 * instead of being taken for a value: a guest's {@code template: 0} must never read as a template, a missing
 * {@code maxmem} never as 0 bytes.
 */
class JsonTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static JsonNode json(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void booleansInEveryFormPerlWritesThem() {
        JsonNode n = json("""
                {"a":1,"b":0,"c":true,"d":false,"e":"1","f":"0","g":"true","h":"YES","i":" on ","j":"off","k":null,
                 "l":0.5,"m":"","n":"2"}""");
        assertThat(Json.bool(n, "a")).isTrue();
        assertThat(Json.bool(n, "b")).isFalse();
        assertThat(Json.bool(n, "c")).isTrue();
        assertThat(Json.bool(n, "d")).isFalse();
        assertThat(Json.bool(n, "e")).isTrue();
        assertThat(Json.bool(n, "f")).isFalse();
        assertThat(Json.bool(n, "g")).isTrue();
        assertThat(Json.bool(n, "h")).isTrue();
        assertThat(Json.bool(n, "i")).isTrue();
        assertThat(Json.bool(n, "j")).isFalse();
        assertThat(Json.bool(n, "k")).as("JSON null").isFalse();
        assertThat(Json.bool(n, "l")).as("any non-zero number").isTrue();
        assertThat(Json.bool(n, "m")).isFalse();
        assertThat(Json.bool(n, "n")).as("only 1 is true among digit strings").isFalse();
        assertThat(Json.bool(n, "absent")).isFalse();
        assertThat(Json.bool(null, "a")).isFalse();
    }

    @Test
    void numbersAsNumbersOrAsStringsAndTheFallbackOtherwise() {
        JsonNode n = json("""
                {"vmid":"106","maxmem":4294967296,"cpu":"0.25","frac":"3.9","neg":-2,"bad":"n/a","nul":null,
                 "huge":9999999999,"space":" 42 ","float":1.5}""");
        assertThat(Json.longValue(n, "vmid", -1)).isEqualTo(106);
        assertThat(Json.longValue(n, "maxmem", -1)).isEqualTo(4_294_967_296L);
        assertThat(Json.longValue(n, "frac", -1)).as("a decimal string is truncated, not refused").isEqualTo(3);
        assertThat(Json.longValue(n, "neg", -1)).isEqualTo(-2);
        assertThat(Json.longValue(n, "space", -1)).isEqualTo(42);
        assertThat(Json.longValue(n, "bad", -1)).isEqualTo(-1);
        assertThat(Json.longValue(n, "nul", -1)).isEqualTo(-1);
        assertThat(Json.longValue(n, "absent", -7)).isEqualTo(-7);
        assertThat(Json.longValue(null, "vmid", -7)).isEqualTo(-7);

        assertThat(Json.intValue(n, "vmid", -1)).isEqualTo(106);
        assertThat(Json.intValue(n, "huge", -1)).as("out of int's range: the fallback, not a wrapped number").isEqualTo(-1);
        assertThat(Json.intValue(json("{\"v\":2147483647}"), "v", -1)).isEqualTo(Integer.MAX_VALUE);
        assertThat(Json.intValue(json("{\"v\":2147483648}"), "v", -1)).isEqualTo(-1);
        assertThat(Json.intValue(json("{\"v\":-2147483648}"), "v", -1)).isEqualTo(Integer.MIN_VALUE);
        assertThat(Json.intValue(json("{\"v\":-2147483649}"), "v", -1)).isEqualTo(-1);

        assertThat(Json.doubleValue(n, "cpu", -1)).isEqualTo(0.25);
        assertThat(Json.doubleValue(n, "float", -1)).isEqualTo(1.5);
        assertThat(Json.doubleValue(n, "space", -1)).isEqualTo(42.0);
        assertThat(Json.doubleValue(n, "bad", -1)).isEqualTo(-1.0);
        assertThat(Json.doubleValue(n, "nul", -1)).isEqualTo(-1.0);
        assertThat(Json.doubleValue(n, "absent", -3)).isEqualTo(-3.0);
        assertThat(Json.doubleValue(null, "cpu", -3)).isEqualTo(-3.0);
    }

    @Test
    void textAndPresence() {
        JsonNode n = json("{\"s\":\"hv1\",\"i\":7,\"b\":true,\"o\":{\"x\":1},\"a\":[1,2],\"nul\":null}");
        assertThat(Json.text(n, "s")).isEqualTo("hv1");
        assertThat(Json.text(n, "i")).isEqualTo("7");
        assertThat(Json.text(n, "b")).isEqualTo("true");
        assertThat(Json.text(n, "o")).isEqualTo("{\"x\":1}");
        assertThat(Json.text(n, "a")).isEqualTo("[1,2]");
        assertThat(Json.text(n, "nul")).isNull();
        assertThat(Json.text(n, "absent")).isNull();
        assertThat(Json.text(null, "s")).isNull();

        assertThat(Json.has(n, "s")).isTrue();
        assertThat(Json.has(n, "nul")).isFalse();
        assertThat(Json.has(n, "absent")).isFalse();
        assertThat(Json.has(null, "s")).isFalse();
    }
}
