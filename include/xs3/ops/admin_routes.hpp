// The admin endpoints as a pure function from a parsed request to a response, over callbacks the
// app wires to the rest of the process (the ops layer only sees these callbacks and read-only
// snapshots):
//
//   GET  /healthz                 200 "ok": the process is up
//   GET  /readyz                  200 "ready" or 503 "not ready" (ready())
//   GET  /metrics                 200 Prometheus text (metrics())
//   GET  /cache/usage             200 JSON (usage(), see cache_usage_json)
//   POST /cache/purge?key=K       200 JSON {"purged_objects":N,"purged_bytes":B,"complete":bool}
//   POST /cache/purge?prefix=P    the same for every cached key starting with P
//   POST /cache/warm?key=K&key=L  202 JSON {"accepted":N,"rejected":[{"key":K,"reason":R}]}
//   GET  /fleet[?key=K[&bucket=B][&version=V]]
//                                 200 JSON: peers, their states, and the owner of K (fleet())
//   GET  /debug/downloads         200 JSON: downloads in flight (ops/debug_report.hpp)
//   GET  /debug/connections       200 JSON: client connections by protocol and state
//   POST /debug/trace/reopen      200 JSON {"reopened":"<path>"}: the --debug-trace file is
//                                 opened again (rotation); 404 when tracing is off
//
// GET routes answer HEAD too. Query values are percent-decoded ('+' is a plus sign, as in S3 keys;
// spaces are %20). Request bodies are not read (the HTTP parser discards them), so warm takes its
// keys as repeated query parameters. With a bearer token set, purge and warm answer 401 (with
// WWW-Authenticate: Bearer) to a POST without that token. Errors: 400 bad or missing parameters,
// 404 unknown path (or
// a route whose callback is not wired, e.g. no cache), 405 wrong method (with Allow), 500 when a
// callback fails.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/cache/usage.hpp"
#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"

namespace xs3::ops {

struct PurgeRequest {
    enum class Kind { key, prefix };
    Kind kind = Kind::key;
    std::string value;
};

struct PurgeReply {
    uint64_t objects = 0;
    uint64_t bytes = 0;
    bool complete = true;  // false while the start-up scan runs (see cache::PurgeOutcome)
};

// /fleet's parameters: the object whose owner to show, if any.
struct FleetQuery {
    std::optional<std::string> key;
    std::optional<std::string> bucket;   // default: the one bucket served at /<key>
    std::optional<std::string> version;  // versionId; none: the current version
};

struct WarmReply {
    uint64_t accepted = 0;
    std::vector<std::pair<std::string, std::string>> rejected;  // key, reason
};

// Every callback may be empty (its route then answers 404, except /readyz: ready when empty).
// They run on the admin server's connection threads, several at once.
struct AdminHooks {
    std::function<bool()> ready;
    std::function<std::string()> metrics;
    std::function<cache::CacheUsage()> usage;
    std::function<Result<PurgeReply>(const PurgeRequest&)> purge;
    // Starts fetching each key into the cache (the app sends them down the proxy's miss path)
    // and says which it took; it should not wait for the downloads.
    std::function<WarmReply(const std::vector<std::string>& keys)> warm;
    // The fleet's JSON document (ops/fleet_report.hpp); an invalid_argument status (a bucket
    // not served) is a 400, another error a 500. Empty when no fleet is configured.
    std::function<Result<std::string>(const FleetQuery&)> fleet;
    // JSON documents of live state.
    std::function<std::string()> debug_downloads;
    std::function<std::string()> debug_connections;
    // Reopens the trace file; returns its path. Empty when tracing is off.
    std::function<std::string()> trace_reopen;
    // When set, the mutating routes (POST /cache/purge, /cache/warm, /debug/trace/reopen)
    // answer 401 unless the request carries "Authorization: Bearer <token>"; the read-only
    // routes stay open (probes, scrapers). Compared in constant time.
    std::string bearer_token;
};

struct AdminResponse {
    http::ResponseHead head;
    std::string body;
};

inline constexpr size_t kMaxWarmKeys = 10000;

// The response for `req`: status, Content-Type, Content-Length and the body (Connection is the
// server's business). A HEAD gets the GET's head and an empty body.
AdminResponse route_admin_request(const http::Request& req, const AdminHooks& hooks);

}  // namespace xs3::ops
