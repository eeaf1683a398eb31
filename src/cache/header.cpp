// Encoding and decoding of the cache file header (layout in header.hpp).
#include "xs3/cache/header.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "xs3/base/ascii.hpp"
#include "xs3/base/digest.hpp"

namespace xs3::cache {
namespace {

constexpr char kMagic[8] = {'X', 'S', '3', 'C', 'A', 'C', 'H', 'E'};
constexpr size_t kFixedLength = 32;
constexpr size_t kChecksummedFixedLength = 20;  // magic, version, header and metadata lengths
constexpr size_t kChecksumOffset = 20;
constexpr size_t kChecksumLength = 8;

void put_u32(std::string& s, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t get_u32(std::string_view s, size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
    return v;
}

Sha224Digest checksum(std::string_view fixed, std::string_view body) {
    std::string input(fixed.substr(0, kChecksummedFixedLength));
    input += body;
    return xs3::sha224(input);
}

void append_record(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ' ';
    out += std::to_string(value.size());
    out += ' ';
    out += value;
    out += '\n';
}

Status corrupt(std::string what) {
    return Status(Code::invalid_argument, "corrupt cache header: " + std::move(what));
}

// Strict unsigned decimal: digits only, no sign, no overflow.
bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

bool parse_i64(std::string_view s, int64_t& out) {
    bool negative = !s.empty() && s[0] == '-';
    uint64_t mag;
    if (!parse_u64(negative ? s.substr(1) : s, mag)) return false;
    if (negative) {
        if (mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) return false;
        out = mag == 0 ? 0 : -static_cast<int64_t>(mag - 1) - 1;
    } else {
        if (mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
        out = static_cast<int64_t>(mag);
    }
    return true;
}

// Reads up to (excluding) the next `stop`; false if there is none within `limit` bytes.
bool take_until(std::string_view& in, char stop, size_t limit, std::string_view& token) {
    size_t at = in.substr(0, limit + 1).find(stop);
    if (at == std::string_view::npos) return false;
    token = in.substr(0, at);
    in.remove_prefix(at + 1);
    return true;
}

Status parse_body(std::string_view in, ObjectMeta& meta) {
    bool have_size = false;
    uint32_t seen = 0;  // bit per scalar field, to reject duplicates
    while (!in.empty()) {
        std::string_view name, len_text;
        if (!take_until(in, ' ', 64, name) || name.empty()) return corrupt("bad record name");
        uint64_t len;
        if (!take_until(in, ' ', 20, len_text) || !parse_u64(len_text, len))
            return corrupt("bad record length");
        if (len >= in.size()) return corrupt("record overruns the metadata");
        std::string_view value = in.substr(0, len);
        if (in[len] != '\n') return corrupt("record not terminated");
        in.remove_prefix(len + 1);

        if (name == "meta") {
            std::string_view rest = value, n_text;
            uint64_t n;
            if (!take_until(rest, ':', 20, n_text) || !parse_u64(n_text, n) || n > rest.size())
                return corrupt("bad user metadata record");
            meta.user_meta.emplace_back(std::string(rest.substr(0, n)),
                                        std::string(rest.substr(n)));
            continue;
        }
        struct Field {
            std::string_view name;
            std::string* target;
        };
        const Field strings[] = {
            {"etag", &meta.etag},
            {"last-modified", &meta.last_modified},
            {"content-type", &meta.content_type},
            {"cache-control", &meta.cache_control},
            {"content-encoding", &meta.content_encoding},
            {"bucket", &meta.bucket},
            {"key", &meta.key},
            {"content-disposition", &meta.content_disposition},
            {"content-language", &meta.content_language},
            {"expires", &meta.expires},
            {"version-id", &meta.version_id},
        };
        uint32_t bit = 0;
        bool known = false;
        if (name == "size") {
            bit = 1u << 0;
            if (!parse_u64(value, meta.size)) return corrupt("bad size");
            have_size = known = true;
        } else if (name == "stored-at") {
            bit = 1u << 1;
            if (!parse_i64(value, meta.stored_at_unix)) return corrupt("bad stored-at");
            known = true;
        } else {
            for (size_t i = 0; i < sizeof strings / sizeof strings[0]; ++i) {
                if (name == strings[i].name) {
                    bit = 1u << (2 + i);
                    *strings[i].target = std::string(value);
                    known = true;
                }
            }
        }
        if (known) {
            if (seen & bit) return corrupt("duplicate field " + std::string(name));
            seen |= bit;
        }
    }
    if (!have_size) return corrupt("no size field");
    return {};
}

}  // namespace

std::string encode_header(const ObjectMeta& meta) {
    std::string body;
    append_record(body, "size", std::to_string(meta.size));
    append_record(body, "etag", meta.etag);
    append_record(body, "last-modified", meta.last_modified);
    append_record(body, "content-type", meta.content_type);
    append_record(body, "cache-control", meta.cache_control);
    append_record(body, "content-encoding", meta.content_encoding);
    append_record(body, "bucket", meta.bucket);
    append_record(body, "key", meta.key);
    append_record(body, "stored-at", std::to_string(meta.stored_at_unix));
    // Newer fields are left out when empty, so a header without them is byte-identical to one
    // written before they existed.
    const std::pair<std::string_view, const std::string*> optional_fields[] = {
        {"content-disposition", &meta.content_disposition},
        {"content-language", &meta.content_language},
        {"expires", &meta.expires},
        {"version-id", &meta.version_id},
    };
    for (const auto& [name, value] : optional_fields)
        if (!value->empty()) append_record(body, name, *value);
    for (const auto& [name, value] : meta.user_meta) {
        std::string n = ascii_lowercase(name);
        append_record(body, "meta", std::to_string(n.size()) + ":" + n + value);
    }

    uint64_t used = kFixedLength + body.size();
    uint64_t length = (used + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
    std::string out(length, '\0');
    std::memcpy(out.data(), kMagic, sizeof kMagic);
    put_u32(out, 8, kHeaderFormatVersion);
    put_u32(out, 12, static_cast<uint32_t>(length));
    put_u32(out, 16, static_cast<uint32_t>(body.size()));
    auto sum = checksum(out, body);
    std::memcpy(out.data() + kChecksumOffset, sum.data(), kChecksumLength);
    std::memcpy(out.data() + kFixedLength, body.data(), body.size());
    return out;
}

Result<DecodedHeader> decode_header(std::string_view in) {
    DecodedHeader out;
    std::string_view magic(kMagic, sizeof kMagic);
    if (in.substr(0, magic.size()) != magic.substr(0, std::min(in.size(), magic.size())))
        return corrupt("bad magic (not a cache file)");
    if (in.size() < kFixedLength) {
        out.incomplete = true;
        out.data_offset = kHeaderAlignment;
        return out;
    }
    uint32_t version = get_u32(in, 8);
    if (version != kHeaderFormatVersion)
        return corrupt("unsupported format version " + std::to_string(version));
    uint64_t length = get_u32(in, 12);
    uint64_t body_length = get_u32(in, 16);
    if (length < kHeaderAlignment || length % kHeaderAlignment != 0 || length > kMaxHeaderLength)
        return corrupt("bad header length " + std::to_string(length));
    if (body_length > length - kFixedLength)
        return corrupt("metadata length " + std::to_string(body_length) +
                       " exceeds the header length " + std::to_string(length));
    if (get_u32(in, 28) != 0) return corrupt("reserved bytes are not zero");
    out.data_offset = length;
    if (in.size() < kFixedLength + body_length) {
        out.incomplete = true;
        return out;
    }
    std::string_view body = in.substr(kFixedLength, body_length);
    auto sum = checksum(in, body);
    if (std::memcmp(sum.data(), in.data() + kChecksumOffset, kChecksumLength) != 0)
        return corrupt("checksum mismatch");
    Status st = parse_body(body, out.meta);
    if (!st) return st;
    return out;
}

}  // namespace xs3::cache
