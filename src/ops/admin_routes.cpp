// route_admin_request.
#include "xs3/ops/admin_routes.hpp"

#include "xs3/base/digest.hpp"
#include "xs3/base/json_writer.hpp"
#include "xs3/http/headers.hpp"
#include "xs3/ops/cache_report.hpp"
#include "xs3/ops/prometheus.hpp"

namespace xs3::ops {
namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";

AdminResponse answer(int status, std::string_view content_type, std::string body) {
    AdminResponse r;
    r.head.status = status;
    r.head.headers.add("Content-Type", std::string(content_type));
    r.body = std::move(body);
    return r;
}

AdminResponse error(int status, std::string_view message) {
    JsonWriter w;
    w.begin_object().field("error", message).end_object();
    return answer(status, kJson, w.text() + "\n");
}

AdminResponse wrong_method(std::string_view allow) {
    AdminResponse r = error(405, "method not allowed");
    r.head.headers.add("Allow", std::string(allow));
    return r;
}

// A mutating route's gate: nullopt when the request may go on, else the 401 (RFC 6750).
std::optional<AdminResponse> refuse_without_token(const http::Request& req,
                                                  const AdminHooks& hooks) {
    if (hooks.bearer_token.empty()) return std::nullopt;
    const std::string* auth = req.headers.get("authorization");
    std::string_view given;
    bool has_bearer = auth != nullptr && auth->size() > 7 && http::istarts_with(*auth, "Bearer ");
    if (has_bearer) given = http::trim_ows(std::string_view(*auth).substr(7));
    if (has_bearer && req.headers.count("authorization") == 1 &&
        secret_equal(given, hooks.bearer_token))
        return std::nullopt;
    AdminResponse r =
        error(401, has_bearer ? "invalid bearer token" : "a bearer token is required");
    r.head.headers.add("WWW-Authenticate",
                       has_bearer ? "Bearer realm=\"xs3lerator-admin\", error=\"invalid_token\""
                                  : "Bearer realm=\"xs3lerator-admin\"");
    return r;
}

AdminResponse purge(const http::Request& req, const AdminHooks& hooks) {
    auto params = http::parse_query(req.query);
    if (!params) return error(400, params.status().message());
    std::optional<PurgeRequest> what;
    for (const auto& [name, value] : *params) {
        PurgeRequest::Kind kind;
        if (name == "key")
            kind = PurgeRequest::Kind::key;
        else if (name == "prefix")
            kind = PurgeRequest::Kind::prefix;
        else
            return error(400, "unknown parameter '" + name + "' (use key or prefix)");
        if (what) return error(400, "give exactly one key or prefix");
        if (value.empty()) return error(400, "empty " + name);
        what = PurgeRequest{kind, value};
    }
    if (!what) return error(400, "give key=<object key> or prefix=<key prefix>");
    auto done = hooks.purge(*what);
    if (!done) return error(500, done.status().to_string());
    JsonWriter w;
    w.begin_object()
        .field("purged_objects", done->objects)
        .field("purged_bytes", done->bytes)
        .field("complete", done->complete)
        .end_object();
    return answer(200, kJson, w.text() + "\n");
}

AdminResponse warm(const http::Request& req, const AdminHooks& hooks) {
    auto params = http::parse_query(req.query);
    if (!params) return error(400, params.status().message());
    std::vector<std::string> keys;
    for (auto& [name, value] : *params) {
        if (name != "key") return error(400, "unknown parameter '" + name + "' (use key)");
        if (value.empty()) return error(400, "empty key");
        keys.push_back(std::move(value));
    }
    if (keys.empty()) return error(400, "give one or more key=<object key>");
    if (keys.size() > kMaxWarmKeys)
        return error(400, "at most " + std::to_string(kMaxWarmKeys) + " keys per request");
    WarmReply reply = hooks.warm(keys);
    JsonWriter w;
    w.begin_object().field("accepted", reply.accepted).key("rejected").begin_array();
    for (const auto& [key, reason] : reply.rejected)
        w.begin_object().field("key", key).field("reason", reason).end_object();
    w.end_array().end_object();
    return answer(202, kJson, w.text() + "\n");
}

AdminResponse fleet(const http::Request& req, const AdminHooks& hooks) {
    auto params = http::parse_query(req.query);
    if (!params) return error(400, params.status().message());
    FleetQuery q;
    for (auto& [name, value] : *params) {
        std::optional<std::string>* slot = name == "key"       ? &q.key
                                           : name == "bucket"  ? &q.bucket
                                           : name == "version" ? &q.version
                                                               : nullptr;
        if (slot == nullptr)
            return error(400, "unknown parameter '" + name + "' (use key, bucket, version)");
        if (slot->has_value()) return error(400, "'" + name + "' given twice");
        if (value.empty() && name != "version") return error(400, "empty " + name);
        *slot = std::move(value);
    }
    if (!q.key && (q.bucket || q.version)) return error(400, "bucket and version need a key");
    auto doc = hooks.fleet(q);
    if (!doc)
        return error(doc.status().code() == Code::invalid_argument ? 400 : 500,
                     doc.status().message());
    return answer(200, kJson, *doc + "\n");
}

}  // namespace

AdminResponse route_admin_request(const http::Request& req, const AdminHooks& hooks) {
    bool get = req.method == http::Method::get || req.method == http::Method::head;
    bool post = req.method_name == "POST";
    const std::string& path = req.path;
    AdminResponse r;
    if (path == "/healthz") {
        r = get ? answer(200, kText, "ok\n") : wrong_method("GET, HEAD");
    } else if (path == "/readyz") {
        if (!get) {
            r = wrong_method("GET, HEAD");
        } else {
            bool ready = !hooks.ready || hooks.ready();
            r = ready ? answer(200, kText, "ready\n") : answer(503, kText, "not ready\n");
        }
    } else if (path == "/metrics" && hooks.metrics) {
        r = get ? answer(200, kPrometheusContentType, hooks.metrics()) : wrong_method("GET, HEAD");
    } else if (path == "/cache/usage" && hooks.usage) {
        r = get ? answer(200, kJson, cache_usage_json(hooks.usage()) + "\n")
                : wrong_method("GET, HEAD");
    } else if (path == "/cache/purge" && hooks.purge) {
        auto refused = post ? refuse_without_token(req, hooks) : std::nullopt;
        r = !post ? wrong_method("POST") : refused ? std::move(*refused) : purge(req, hooks);
    } else if (path == "/cache/warm" && hooks.warm) {
        auto refused = post ? refuse_without_token(req, hooks) : std::nullopt;
        r = !post ? wrong_method("POST") : refused ? std::move(*refused) : warm(req, hooks);
    } else if (path == "/fleet" && hooks.fleet) {
        r = get ? fleet(req, hooks) : wrong_method("GET, HEAD");
    } else if (path == "/debug/downloads" && hooks.debug_downloads) {
        r = get ? answer(200, kJson, hooks.debug_downloads() + "\n") : wrong_method("GET, HEAD");
    } else if (path == "/debug/connections" && hooks.debug_connections) {
        r = get ? answer(200, kJson, hooks.debug_connections() + "\n") : wrong_method("GET, HEAD");
    } else if (path == "/debug/trace/reopen") {
        if (!post) {
            r = wrong_method("POST");
        } else if (auto refused = refuse_without_token(req, hooks)) {
            r = std::move(*refused);
        } else if (!hooks.trace_reopen) {
            r = error(404, "tracing is off: start xs3lerator with --debug-trace <PATH>");
        } else {
            JsonWriter w;
            w.begin_object().field("reopened", hooks.trace_reopen()).end_object();
            r = answer(200, kJson, w.text() + "\n");
        }
    } else {
        r = error(404, "no such endpoint");
    }
    r.head.headers.add("Content-Length", std::to_string(r.body.size()));
    if (req.method == http::Method::head) r.body.clear();
    return r;
}

}  // namespace xs3::ops
