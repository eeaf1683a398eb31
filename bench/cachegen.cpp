// xs3-cachegen: fills a cache directory with valid xs3lerator cache files for emulator objects, as
// if the proxy had downloaded them, so the harness can time start-up on a big cache. It links the
// project's cache code (encode_header, make_cache_key, object_path) so the format cannot drift
// from what the proxy reads, and the emulator's catalog so keys, ETags and bytes are exactly what
// s3emu serves for the same --object specs.
//
//   xs3-cachegen --cache-dir DIR --object SPEC [--object SPEC]... [--bucket bench] [--level 4]
//
// SPEC is s3emu's object spec (name=pop/{i}.bin,size=4KiB,seed=1000000,count=100000,sha224=yes).
// Prints one JSON line: {"files":N,"bytes":B,"dirs":D,"seconds":S}. Exit 1 on an I/O error,
// 2 on usage errors.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "s3emu/catalog.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/http/date.hpp"

namespace {

using xs3::s3emu::Object;
using xs3::s3emu::ObjectSpec;

int usage() {
    std::fprintf(stderr,
                 "usage: xs3-cachegen --cache-dir DIR --object SPEC [--object SPEC]... "
                 "[--bucket NAME] [--level 1..12]\n");
    return 2;
}

// mkdir -p for the directories between root (which exists) and the file, remembering what is
// known to exist: 100k files share 65536 leaf directories at level 4.
bool make_parents(const std::string& root, const std::string& file,
                  std::unordered_set<std::string>& made, uint64_t& dirs) {
    size_t pos = root.size();
    for (;;) {
        pos = file.find('/', pos + 1);
        if (pos == std::string::npos) return true;
        std::string dir = file.substr(0, pos);
        if (made.count(dir)) continue;
        if (::mkdir(dir.c_str(), 0755) == 0) {
            ++dirs;
        } else if (errno != EEXIST) {
            std::fprintf(stderr, "xs3-cachegen: mkdir %s: %s\n", dir.c_str(), std::strerror(errno));
            return false;
        }
        made.insert(dir);
    }
}

bool write_file(const std::string& path, const std::string& bytes) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::fprintf(stderr, "xs3-cachegen: create %s: %s\n", path.c_str(), std::strerror(errno));
        return false;
    }
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::fprintf(stderr, "xs3-cachegen: write %s: %s\n", path.c_str(),
                         n < 0 ? std::strerror(errno) : "wrote nothing");
            ::close(fd);
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return ::close(fd) == 0;
}

// The metadata the proxy stores after a HEAD of this object (fetch::object_meta): the headers
// s3emu sends for generation 0.
xs3::cache::ObjectMeta meta_for(const Object& obj, const std::string& bucket,
                                const std::string& sha224) {
    xs3::cache::ObjectMeta meta;
    meta.size = obj.size();
    meta.etag = obj.etag(0);
    meta.last_modified = xs3::http::format_http_date(obj.last_modified(0));
    meta.content_type = obj.spec().content_type;
    if (!sha224.empty()) meta.user_meta.emplace_back("sha224", sha224);
    meta.bucket = bucket;
    meta.key = obj.name();
    meta.stored_at_unix = static_cast<int64_t>(std::time(nullptr));
    return meta;
}

}  // namespace

int main(int argc, char** argv) {
    std::string root, bucket = "bench";
    unsigned level = 4;
    std::vector<ObjectSpec> specs;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "-h" || a == "--help") {
            usage();
            return 0;
        }
        if (!v) return usage();
        ++i;
        if (a == "--cache-dir") {
            root = v;
        } else if (a == "--bucket") {
            bucket = v;
        } else if (a == "--level") {
            char* end = nullptr;
            unsigned long l = std::strtoul(v, &end, 10);
            if (*end != '\0' || l < 1 || l > 12) {
                std::fprintf(stderr, "xs3-cachegen: --level must be 1..12, got '%s'\n", v);
                return 2;
            }
            level = static_cast<unsigned>(l);
        } else if (a == "--object") {
            auto r = xs3::s3emu::parse_object_spec(v);
            if (!r) {
                std::fprintf(stderr, "xs3-cachegen: --object %s: %s\n", v,
                             r.status().message().c_str());
                return 2;
            }
            specs.insert(specs.end(), r->begin(), r->end());
        } else {
            return usage();
        }
    }
    if (root.empty() || specs.empty()) return usage();
    while (root.size() > 1 && root.back() == '/')
        root.pop_back();
    if (::mkdir(root.c_str(), 0755) != 0 && errno != EEXIST) {
        std::fprintf(stderr, "xs3-cachegen: mkdir %s: %s\n", root.c_str(), std::strerror(errno));
        return 1;
    }

    auto t0 = std::chrono::steady_clock::now();
    std::unordered_set<std::string> made;
    uint64_t files = 0, bytes = 0, dirs = 0;
    std::string content;
    for (auto& spec : specs) {
        Object obj(spec);
        std::string sha = spec.sha224 ? xs3::s3emu::compute_sha224_hex(obj, 0) : std::string();
        auto choice = xs3::cache::make_cache_key(
            bucket, obj.name(), sha.empty() ? std::nullopt : std::optional<std::string_view>(sha));
        std::string path = xs3::cache::object_path(root, choice.key, level);
        content = xs3::cache::encode_header(meta_for(obj, bucket, sha));
        size_t data_at = content.size();
        content.resize(data_at + obj.size());
        obj.pattern(0).fill(content.data() + data_at, 0, obj.size());
        if (!make_parents(root, path, made, dirs) || !write_file(path, content)) return 1;
        ++files;
        bytes += content.size();
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"files\":%llu,\"bytes\":%llu,\"dirs\":%llu,\"seconds\":%.3f}\n",
                static_cast<unsigned long long>(files), static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(dirs), secs);
    return 0;
}
