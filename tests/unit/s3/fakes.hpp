// Stand-ins for the outside world the credential providers touch: the environment, files, HTTP
// and name resolution. Nothing here reaches the network or the file system.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "xs3/s3/container_credentials.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/http_fetch.hpp"
#include "xs3/s3/profile_file.hpp"

namespace xs3::s3::testing {

using Vars = std::map<std::string, std::string>;

inline GetenvFn fake_env(Vars vars) {
    auto shared = std::make_shared<Vars>(std::move(vars));
    return [shared](const char* name) -> const char* {
        auto it = shared->find(name);
        return it == shared->end() ? nullptr : it->second.c_str();
    };
}

// Files by path; the map may change between reads (a rotated token file). Every read is logged.
struct FakeFiles {
    std::shared_ptr<std::map<std::string, std::string>> files =
        std::make_shared<std::map<std::string, std::string>>();
    std::shared_ptr<std::vector<std::string>> reads = std::make_shared<std::vector<std::string>>();

    FakeFiles() = default;
    FakeFiles(std::initializer_list<std::pair<const std::string, std::string>> f)
        : files(std::make_shared<std::map<std::string, std::string>>(f)) {}
    void set(const std::string& path, const std::string& text) { (*files)[path] = text; }

    ReadFileFn fn() const {
        auto f = files;
        auto r = reads;
        return [f, r](const std::string& path) -> Result<std::optional<std::string>> {
            r->push_back(path);
            auto it = f->find(path);
            if (it == f->end()) return std::optional<std::string>();
            return std::optional<std::string>(it->second);
        };
    }
};

inline ReadFileFn fake_files(
    std::initializer_list<std::pair<const std::string, std::string>> files) {
    return FakeFiles(files).fn();
}

// An HttpFetcher answering from a handler and recording every request it was given.
struct FakeHttp {
    using Handler = std::function<Result<FetchResponse>(const FetchRequest&)>;
    struct State {
        std::mutex mu;
        Handler handler;
        std::vector<FetchRequest> requests;
    };
    std::shared_ptr<State> state = std::make_shared<State>();

    FakeHttp() {
        state->handler = [](const FetchRequest& r) -> Result<FetchResponse> {
            return Status(Code::unavailable, r.method + " " + r.url + ": connection refused");
        };
    }
    explicit FakeHttp(Handler h) { state->handler = std::move(h); }

    HttpFetcher fn() const {
        auto s = state;
        return [s](const FetchRequest& r) {
            Handler h;
            {
                std::lock_guard lk(s->mu);
                s->requests.push_back(r);
                h = s->handler;
            }
            return h(r);
        };
    }
    std::vector<FetchRequest> requests() const {
        std::lock_guard lk(state->mu);
        return state->requests;
    }
    size_t count() const { return requests().size(); }
};

inline FetchResponse answer(long status, std::string body) {
    FetchResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

inline const std::string* request_header(const FetchRequest& r, std::string_view name) {
    for (const auto& [n, v] : r.headers) {
        if (n.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < n.size() && same; ++i)
            same = std::tolower(static_cast<unsigned char>(n[i])) ==
                   std::tolower(static_cast<unsigned char>(name[i]));
        if (same) return &v;
    }
    return nullptr;
}

// A resolver for host-name checks: fixed answers, errors for unknown names.
inline ResolveFn fake_resolver(std::map<std::string, std::vector<std::string>> names) {
    auto shared =
        std::make_shared<std::map<std::string, std::vector<std::string>>>(std::move(names));
    return [shared](const std::string& host) -> Result<std::vector<std::string>> {
        auto it = shared->find(host);
        if (it == shared->end()) return Status(Code::unavailable, "cannot resolve " + host);
        return it->second;
    };
}

}  // namespace xs3::s3::testing
