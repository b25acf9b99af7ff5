package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Predicate;

/** A small JSON client of the API for tests. */
public final class Api {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;
    private final String token;

    public Api(URI base) {
        this(base, null);
    }

    public Api(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    public record Result(int status, JsonNode body, HttpResponse<String> raw) {
        public String error() {
            return body.path("error").asText(null);
        }

        public String field() {
            return body.path("field").asText(null);
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    public Result get(String path) {
        return call("GET", path, null);
    }

    public Result post(String path, String body) {
        return call("POST", path, body);
    }

    public Result put(String path, String body) {
        return call("PUT", path, body);
    }

    public Result delete(String path) {
        return call("DELETE", path, null);
    }

    public Result call(String method, String path, String body) {
        return call(method, path, body, token == null ? null : "Bearer " + token);
    }

    public Result call(String method, String path, String body, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        if (authorization != null) b.header("Authorization", authorization);
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json;
            try {
                json = r.body().isBlank() ? JSON.nullNode() : JSON.readTree(r.body());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                json = JSON.getNodeFactory().textNode(r.body()); // not JSON (the dashboard's page): the raw text
            }
            return new Result(r.statusCode(), json, r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(method + " " + path + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Polls {@code path} until {@code done} holds for its body; fails after {@code timeout}. */
    public JsonNode await(String path, Predicate<JsonNode> done, Duration timeout) {
        Instant end = Instant.now().plus(timeout);
        Result last = null;
        while (Instant.now().isBefore(end)) {
            last = get(path);
            if (last.status() == 200 && done.test(last.body())) return last.body();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("timed out after " + timeout + " waiting on " + path + "; last answer: " + last);
    }

    /** Waits until the drain is no longer in progress and returns its final status. */
    public JsonNode awaitFinished(String node, String drainId, Duration timeout) {
        return await("/api/v1/nodes/" + node + "/drain/" + drainId + "/status", s -> !s.path("status").asText().equals("in_progress"), timeout);
    }
}
