// Tests of the admin routes as a pure function: statuses, bodies, methods, parameters, and what
// the callbacks receive.
#include "xs3/ops/admin_routes.hpp"

#include <doctest/doctest.h>

#include "xs3/ops/cache_report.hpp"

using namespace xs3;
using namespace xs3::ops;

namespace {

http::Request request(const char* method, const char* path, const char* query = "") {
    http::Request r;
    r.method_name = method;
    r.method = std::string_view(method) == "GET"    ? http::Method::get
               : std::string_view(method) == "HEAD" ? http::Method::head
                                                    : http::Method::other;
    r.path = path;
    r.query = query;
    return r;
}

std::string header(const AdminResponse& r, const char* name) {
    const std::string* v = r.head.headers.get(name);
    return v ? *v : "";
}

struct Recorder {
    std::vector<PurgeRequest> purges;
    std::vector<std::vector<std::string>> warms;
    bool ready = true;
    AdminHooks hooks() {
        AdminHooks h;
        h.ready = [this] { return ready; };
        h.metrics = [] { return std::string("xs3_up 1\n"); };
        h.usage = [] {
            cache::CacheUsage u;
            u.index.used_bytes = 123;
            u.index.max_bytes = 1000;
            u.scan.state = cache::ScanState::running;
            return u;
        };
        h.purge = [this](const PurgeRequest& p) -> Result<PurgeReply> {
            purges.push_back(p);
            if (p.value == "fail") return Status(Code::io_error, "disk on fire");
            return PurgeReply{2, 8192, false};
        };
        h.warm = [this](const std::vector<std::string>& keys) {
            warms.push_back(keys);
            WarmReply r;
            for (const auto& k : keys) {
                if (k == "bad")
                    r.rejected.emplace_back(k, "not allowed");
                else
                    ++r.accepted;
            }
            return r;
        };
        return h;
    }
};

}  // namespace

TEST_CASE("health, readiness and metrics") {
    Recorder rec;
    AdminHooks hooks = rec.hooks();
    auto r = route_admin_request(request("GET", "/healthz"), hooks);
    CHECK(r.head.status == 200);
    CHECK(r.body == "ok\n");
    CHECK(header(r, "Content-Length") == "3");
    CHECK(header(r, "Content-Type") == "text/plain; charset=utf-8");

    r = route_admin_request(request("HEAD", "/healthz"), hooks);
    CHECK(r.head.status == 200);
    CHECK(r.body.empty());
    CHECK(header(r, "Content-Length") == "3");  // the GET's length

    CHECK(route_admin_request(request("GET", "/readyz"), hooks).head.status == 200);
    rec.ready = false;
    r = route_admin_request(request("GET", "/readyz"), hooks);
    CHECK(r.head.status == 503);
    CHECK(r.body == "not ready\n");
    CHECK(route_admin_request(request("GET", "/readyz"), AdminHooks{}).head.status == 200);

    r = route_admin_request(request("GET", "/metrics"), hooks);
    CHECK(r.head.status == 200);
    CHECK(r.body == "xs3_up 1\n");
    CHECK(header(r, "Content-Type") == "text/plain; version=0.0.4");
}

TEST_CASE("cache usage is the JSON of the snapshot") {
    Recorder rec;
    auto r = route_admin_request(request("GET", "/cache/usage"), rec.hooks());
    CHECK(r.head.status == 200);
    CHECK(header(r, "Content-Type") == "application/json");
    cache::CacheUsage u;
    u.index.used_bytes = 123;
    u.index.max_bytes = 1000;
    u.scan.state = cache::ScanState::running;
    CHECK(r.body == cache_usage_json(u) + "\n");
    CHECK(r.body.find("\"used_bytes\":123,") != std::string::npos);
    CHECK(r.body.find("\"scan\":{\"state\":\"running\",") != std::string::npos);
}

TEST_CASE("purge: one key or one prefix, percent-decoded") {
    Recorder rec;
    AdminHooks hooks = rec.hooks();
    auto r = route_admin_request(request("POST", "/cache/purge", "key=a%20b%2Bc+d"), hooks);
    CHECK(r.head.status == 200);
    CHECK(r.body == "{\"purged_objects\":2,\"purged_bytes\":8192,\"complete\":false}\n");
    REQUIRE(rec.purges.size() == 1);
    CHECK(rec.purges[0].kind == PurgeRequest::Kind::key);
    CHECK(rec.purges[0].value == "a b+c+d");  // '+' stays a plus sign

    r = route_admin_request(request("POST", "/cache/purge", "prefix=logs/"), hooks);
    CHECK(r.head.status == 200);
    REQUIRE(rec.purges.size() == 2);
    CHECK(rec.purges[1].kind == PurgeRequest::Kind::prefix);
    CHECK(rec.purges[1].value == "logs/");

    for (const char* bad :
         {"", "key=", "prefix=", "key=a&prefix=b", "key=a&key=b", "name=a", "key=%zz", "key=%00"}) {
        CAPTURE(bad);
        r = route_admin_request(request("POST", "/cache/purge", bad), hooks);
        CHECK(r.head.status == 400);
        CHECK(r.body.rfind("{\"error\":", 0) == 0);
    }
    CHECK(rec.purges.size() == 2);  // none of those reached the callback

    r = route_admin_request(request("POST", "/cache/purge", "key=fail"), hooks);
    CHECK(r.head.status == 500);
    CHECK(r.body == "{\"error\":\"io_error: disk on fire\"}\n");

    r = route_admin_request(request("GET", "/cache/purge", "key=a"), hooks);
    CHECK(r.head.status == 405);
    CHECK(header(r, "Allow") == "POST");
}

TEST_CASE("warm: repeated key parameters reach the callback in order") {
    Recorder rec;
    AdminHooks hooks = rec.hooks();
    auto r =
        route_admin_request(request("POST", "/cache/warm", "key=a&key=dir%2Fb&key=bad"), hooks);
    CHECK(r.head.status == 202);
    CHECK(r.body ==
          "{\"accepted\":2,\"rejected\":[{\"key\":\"bad\",\"reason\":\"not allowed\"}]}\n");
    REQUIRE(rec.warms.size() == 1);
    CHECK(rec.warms[0] == std::vector<std::string>{"a", "dir/b", "bad"});

    CHECK(route_admin_request(request("POST", "/cache/warm"), hooks).head.status == 400);
    CHECK(route_admin_request(request("POST", "/cache/warm", "key="), hooks).head.status == 400);
    CHECK(route_admin_request(request("POST", "/cache/warm", "prefix=x"), hooks).head.status ==
          400);
    std::string many;
    for (size_t i = 0; i <= kMaxWarmKeys; ++i)
        many += "key=k&";
    CHECK(route_admin_request(request("POST", "/cache/warm", many.c_str()), hooks).head.status ==
          400);
    CHECK(rec.warms.size() == 1);
}

TEST_CASE("unknown paths, wrong methods and unwired callbacks") {
    Recorder rec;
    AdminHooks hooks = rec.hooks();
    CHECK(route_admin_request(request("GET", "/nope"), hooks).head.status == 404);
    CHECK(route_admin_request(request("GET", "/healthz/x"), hooks).head.status == 404);
    auto r = route_admin_request(request("POST", "/metrics"), hooks);
    CHECK(r.head.status == 405);
    CHECK(header(r, "Allow") == "GET, HEAD");
    CHECK(route_admin_request(request("DELETE", "/healthz"), hooks).head.status == 405);
    AdminHooks none;
    CHECK(route_admin_request(request("GET", "/metrics"), none).head.status == 404);
    CHECK(route_admin_request(request("GET", "/cache/usage"), none).head.status == 404);
    CHECK(route_admin_request(request("POST", "/cache/purge", "key=a"), none).head.status == 404);
    CHECK(route_admin_request(request("POST", "/cache/warm", "key=a"), none).head.status == 404);
}

TEST_CASE("fleet: the document, with the owner of a key when asked") {
    std::vector<FleetQuery> asked;
    AdminHooks hooks;
    hooks.fleet = [&asked](const FleetQuery& q) -> Result<std::string> {
        asked.push_back(q);
        if (q.bucket && *q.bucket == "other") return Status(Code::invalid_argument, "not served");
        if (q.key && *q.key == "boom") return Status(Code::internal, "broken");
        return std::string("{\"self\":\"x\"}");
    };
    auto r = route_admin_request(request("GET", "/fleet"), hooks);
    CHECK(r.head.status == 200);
    CHECK(r.body == "{\"self\":\"x\"}\n");
    CHECK(header(r, "Content-Type") == "application/json");
    REQUIRE(asked.size() == 1);
    CHECK_FALSE(asked[0].key);

    r = route_admin_request(request("GET", "/fleet", "key=a%20b/c+d&bucket=bk&version=v1"), hooks);
    CHECK(r.head.status == 200);
    REQUIRE(asked.size() == 2);
    CHECK(*asked[1].key == "a b/c+d");
    CHECK(*asked[1].bucket == "bk");
    CHECK(*asked[1].version == "v1");

    auto status = [&](const char* method, const char* query) {
        return route_admin_request(request(method, "/fleet", query), hooks).head.status;
    };
    CHECK(status("GET", "key=a&bucket=other") == 400);
    CHECK(status("GET", "key=boom") == 500);
    CHECK(status("GET", "peer=x") == 400);
    CHECK(status("GET", "key=a&key=b") == 400);
    CHECK(status("GET", "key=") == 400);
    CHECK(status("GET", "bucket=bk") == 400);
    CHECK(status("GET", "version=v") == 400);
    CHECK(status("HEAD", "") == 200);
    CHECK(status("POST", "") == 405);
    CHECK(asked.size() == 5);  // the two above, the 400 and the 500 from the hook, and HEAD
    AdminHooks none;
    CHECK(route_admin_request(request("GET", "/fleet"), none).head.status == 404);
}

TEST_CASE("debug routes: live state documents, and trace reopen only when tracing") {
    AdminHooks hooks;
    hooks.debug_downloads = [] { return std::string(R"({"downloads":[]})"); };
    hooks.debug_connections = [] { return std::string(R"({"total":0})"); };
    auto r = route_admin_request(request("GET", "/debug/downloads"), hooks);
    CHECK(r.head.status == 200);
    CHECK(header(r, "Content-Type") == "application/json");
    CHECK(r.body == "{\"downloads\":[]}\n");
    CHECK(header(r, "Content-Length") == std::to_string(r.body.size()));
    r = route_admin_request(request("GET", "/debug/connections"), hooks);
    CHECK(r.head.status == 200);
    CHECK(r.body == "{\"total\":0}\n");
    CHECK(route_admin_request(request("POST", "/debug/downloads"), hooks).head.status == 405);

    // Tracing off: the route says how to turn it on.
    r = route_admin_request(request("POST", "/debug/trace/reopen"), hooks);
    CHECK(r.head.status == 404);
    CHECK(r.body.find("--debug-trace") != std::string::npos);
    int reopened = 0;
    hooks.trace_reopen = [&reopened] {
        ++reopened;
        return std::string("/var/log/x \"t\".jsonl");
    };
    r = route_admin_request(request("POST", "/debug/trace/reopen"), hooks);
    CHECK(r.head.status == 200);
    CHECK(r.body == "{\"reopened\":\"/var/log/x \\\"t\\\".jsonl\"}\n");
    CHECK(reopened == 1);
    r = route_admin_request(request("GET", "/debug/trace/reopen"), hooks);
    CHECK(r.head.status == 405);
    CHECK(header(r, "Allow") == "POST");
    CHECK(reopened == 1);
}

TEST_CASE("a bearer token guards purge and warm, and only them") {
    Recorder rec;
    AdminHooks hooks = rec.hooks();
    hooks.bearer_token = "s3cr3t-t0ken-0123456789";
    auto with_auth = [](http::Request r, const char* value) {
        r.headers.add("Authorization", value);
        return r;
    };

    auto none = route_admin_request(request("POST", "/cache/purge", "key=a"), hooks);
    CHECK(none.head.status == 401);
    CHECK(header(none, "WWW-Authenticate") == "Bearer realm=\"xs3lerator-admin\"");
    CHECK(none.body == "{\"error\":\"a bearer token is required\"}\n");
    auto wrong = route_admin_request(
        with_auth(request("POST", "/cache/purge", "key=a"), "Bearer s3cr3t-t0ken-012345678"),
        hooks);
    CHECK(wrong.head.status == 401);
    CHECK(header(wrong, "WWW-Authenticate") ==
          "Bearer realm=\"xs3lerator-admin\", error=\"invalid_token\"");
    auto longer = route_admin_request(
        with_auth(request("POST", "/cache/purge", "key=a"), "Bearer s3cr3t-t0ken-01234567890"),
        hooks);
    CHECK(longer.head.status == 401);
    auto basic = route_admin_request(
        with_auth(request("POST", "/cache/warm", "key=a"), "Basic czNjcjN0LXQwa2Vu"), hooks);
    CHECK(basic.head.status == 401);
    auto warm_none = route_admin_request(request("POST", "/cache/warm", "key=a"), hooks);
    CHECK(warm_none.head.status == 401);
    CHECK(rec.purges.empty());
    CHECK(rec.warms.empty());

    auto ok = route_admin_request(
        with_auth(request("POST", "/cache/purge", "key=a"), "Bearer s3cr3t-t0ken-0123456789"),
        hooks);
    CHECK(ok.head.status == 200);
    REQUIRE(rec.purges.size() == 1);
    CHECK(rec.purges[0].value == "a");
    auto warm_ok = route_admin_request(
        with_auth(request("POST", "/cache/warm", "key=b"), "Bearer  s3cr3t-t0ken-0123456789 "),
        hooks);
    CHECK(warm_ok.head.status == 202);
    REQUIRE(rec.warms.size() == 1);
    // Two Authorization fields are not guessed between.
    auto two = with_auth(
        with_auth(request("POST", "/cache/purge", "key=a"), "Bearer s3cr3t-t0ken-0123456789"),
        "Bearer other");
    CHECK(route_admin_request(two, hooks).head.status == 401);

    // Reads stay open; a wrong method is still 405, token or not.
    CHECK(route_admin_request(request("GET", "/metrics"), hooks).head.status == 200);
    CHECK(route_admin_request(request("GET", "/cache/usage"), hooks).head.status == 200);
    CHECK(route_admin_request(request("GET", "/healthz"), hooks).head.status == 200);
    CHECK(route_admin_request(request("GET", "/cache/purge", "key=a"), hooks).head.status == 405);
    CHECK(rec.purges.size() == 1);
    // Reopening the trace file changes state too.
    int reopened = 0;
    hooks.trace_reopen = [&reopened] {
        ++reopened;
        return std::string("/t.jsonl");
    };
    CHECK(route_admin_request(request("POST", "/debug/trace/reopen"), hooks).head.status == 401);
    CHECK(reopened == 0);
    CHECK(route_admin_request(
              with_auth(request("POST", "/debug/trace/reopen"), "Bearer s3cr3t-t0ken-0123456789"),
              hooks)
              .head.status == 200);
    CHECK(reopened == 1);
}
