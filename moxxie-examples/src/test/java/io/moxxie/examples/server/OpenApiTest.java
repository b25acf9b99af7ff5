package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** The OpenAPI document in the repository describes exactly the endpoints the server has, and is what it serves. */
class OpenApiTest extends ServerTestBase {
    @Test
    void everyEndpointIsDocumentedWithItsQueryParametersAndNothingElseIs() {
        Map<String, TreeSet<String>> routes = new TreeMap<>();
        for (HttpApi.Route r : new ApiRoutes(server.service(), server.rollouts(), HttpApi.mapper()).routes()) {
            routes.put(r.method() + " " + r.template(), new TreeSet<>(r.queryParams()));
        }
        JsonNode doc = ApiRoutes.loadOpenApi(HttpApi.mapper());
        Map<String, TreeSet<String>> documented = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> p = paths.next();
            for (Iterator<Map.Entry<String, JsonNode>> ops = p.getValue().fields(); ops.hasNext(); ) {
                Map.Entry<String, JsonNode> op = ops.next();
                if (op.getKey().equals("parameters")) continue;
                TreeSet<String> query = new TreeSet<>();
                for (JsonNode param : op.getValue().path("parameters")) {
                    if (param.get("in").asText().equals("query")) query.add(param.get("name").asText());
                }
                documented.put(op.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey(), query);
            }
        }
        assertThat(documented).isEqualTo(routes);
        assertThat(doc.get("openapi").asText()).startsWith("3.");
    }

    @Test
    void theServerServesTheDocumentOfTheRepository() {
        Api.Result r = new Api(server.uri()).get("/api/v1/openapi.json");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(ApiRoutes.loadOpenApi(HttpApi.mapper()));
    }
}
