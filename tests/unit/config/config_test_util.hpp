// Helpers shared by the load_config tests (config_test.cpp, config_sources_test.cpp,
// config_sections_test.cpp): load with given arguments and variables, the three required options,
// an error's message, a TOML file that lives as long as the test.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "xs3/config/config.hpp"

namespace config_test {

using Env = std::map<std::string, std::string>;

inline xs3::Result<xs3::config::Config> load(std::initializer_list<const char*> args,
                                             const Env& env = {}) {
    std::vector<const char*> argv{"xs3lerator"};
    argv.insert(argv.end(), args.begin(), args.end());
    return xs3::config::load_config(
        static_cast<int>(argv.size()), argv.data(), [&](const char* name) {
            auto it = env.find(name);
            return it == env.end() ? static_cast<const char*>(nullptr) : it->second.c_str();
        });
}

// The three required options, so a test only names what it is about.
inline const Env kRequired = {
    {"XS3_BUCKET", "b"}, {"XS3_CACHE_DIR", "/c"}, {"XS3_MAX_CACHE_SIZE", "1GiB"}};

inline Env with(Env env, std::initializer_list<std::pair<const std::string, std::string>> more) {
    for (const auto& [k, v] : more)
        env[k] = v;
    return env;
}

inline std::string error_of(const xs3::Result<xs3::config::Config>& r) {
    REQUIRE_FALSE(r.ok());
    return r.status().message();
}

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& contents) {
        char tmpl[] = "/tmp/xs3-config-test-XXXXXX";
        int fd = mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << contents;
    }
    ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace config_test
