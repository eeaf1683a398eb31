// Cache key derivation and the directory layout.
#include "xs3/cache/key.hpp"

#include "xs3/base/digest.hpp"

namespace xs3::cache {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string_view without_trailing_slashes(std::string_view root) {
    // "/" becomes "", so paths below it do not start with "//".
    while (!root.empty() && root.back() == '/')
        root.remove_suffix(1);
    return root;
}

}  // namespace

CacheKeyChoice make_cache_key(std::string_view bucket, std::string_view key,
                              std::optional<std::string_view> x_amz_meta_sha224) {
    CacheKeyChoice out;
    if (x_amz_meta_sha224) {
        std::string_view v = *x_amz_meta_sha224;
        if (v.size() != kCacheKeyHexLength) {
            out.ignored_sha224 = "x-amz-meta-sha224 has " + std::to_string(v.size()) +
                                 " characters, expected 56 hex digits";
        } else {
            std::string hex(v);
            for (auto& c : hex) {
                int d = hex_value(c);
                if (d < 0) {
                    out.ignored_sha224 = "x-amz-meta-sha224 is not hexadecimal";
                    break;
                }
                c = "0123456789abcdef"[d];
            }
            if (!out.ignored_sha224) {
                out.key = CacheKey{std::move(hex), true};
                return out;
            }
        }
    }
    std::string input = "xs3-name";
    input += '\0';
    input += bucket;
    input += '\0';
    input += key;
    auto digest = xs3::sha224(input);
    out.key = CacheKey{hex_lower(std::span<const uint8_t>(digest)), false};
    return out;
}

std::string cache_file_name(const CacheKey& key) {
    return key.content_addressed ? key.hex : key.hex + ".n";
}

std::string object_path(std::string_view root, const CacheKey& key, unsigned level) {
    std::string path(without_trailing_slashes(root));
    for (unsigned i = 0; i < level && i < key.hex.size(); ++i) {
        path += '/';
        path += key.hex[i];
    }
    path += '/';
    path += cache_file_name(key);
    return path;
}

std::string temp_dir(std::string_view root) {
    return std::string(without_trailing_slashes(root)) + "/.tmp";
}

}  // namespace xs3::cache
