// Pattern generation and checking; the hot loops work a word at a time.
#include "pattern.hpp"

#include <algorithm>
#include <cstring>

namespace xs3::s3emu {

namespace {
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

constexpr uint64_t kTableWords = 4096;

struct Table {
    uint64_t w[kTableWords];
    Table() {
        uint64_t x = 0x5DEECE66DULL;
        for (auto& v : w)
            v = mix64(x += kGolden);
    }
};
const Table& table() {
    static const Table t;
    return t;
}

inline void store_le(char* p, uint64_t v) noexcept {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pattern words are little-endian");
    std::memcpy(p, &v, 8);
}
}  // namespace

uint64_t hash_name(std::string_view name) noexcept {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : name) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t mix64(uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

Pattern::Pattern(std::string_view name, uint64_t seed, uint64_t generation) noexcept
    : key_(mix64(hash_name(name) ^ mix64(seed + kGolden) ^
                 mix64(generation * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL))) {}

uint64_t Pattern::block(uint64_t block) const noexcept {
    return table().w[block % kTableWords] ^ mix64(key_ + (block / kTableWords + 1) * kGolden);
}

uint8_t Pattern::byte_at(uint64_t offset) const noexcept {
    return static_cast<uint8_t>(block(offset / 8) >> (8 * (offset % 8)));
}

void Pattern::fill(char* buf, uint64_t offset, size_t len) const noexcept {
    size_t i = 0;
    // Leading partial block.
    while (i < len && (offset + i) % 8 != 0) {
        buf[i] = static_cast<char>(byte_at(offset + i));
        ++i;
    }
    const uint64_t* t = table().w;
    uint64_t b = (offset + i) / 8;
    while (i + 8 <= len) {
        // One segment of up to kTableWords words shares its mix.
        uint64_t seg = mix64(key_ + (b / kTableWords + 1) * kGolden);
        size_t first = b % kTableWords;
        size_t words = std::min<size_t>(kTableWords - first, (len - i) / 8);
        char* out = buf + i;
        for (size_t k = 0; k < words; ++k)
            store_le(out + 8 * k, t[first + k] ^ seg);
        i += 8 * words;
        b += words;
    }
    for (; i < len; ++i)
        buf[i] = static_cast<char>(byte_at(offset + i));
}

size_t Pattern::verify(const char* buf, uint64_t offset, size_t len) const noexcept {
    size_t i = 0;
    while (i < len && (offset + i) % 8 != 0) {
        if (static_cast<uint8_t>(buf[i]) != byte_at(offset + i)) return i;
        ++i;
    }
    const uint64_t* t = table().w;
    uint64_t b = (offset + i) / 8;
    while (i + 8 <= len) {
        uint64_t seg = mix64(key_ + (b / kTableWords + 1) * kGolden);
        size_t first = b % kTableWords;
        size_t words = std::min<size_t>(kTableWords - first, (len - i) / 8);
        const char* in = buf + i;
        // Branch-free accumulate, then locate the byte only when something differs.
        uint64_t diff = 0;
        for (size_t k = 0; k < words; ++k) {
            uint64_t got;
            std::memcpy(&got, in + 8 * k, 8);
            diff |= got ^ (t[first + k] ^ seg);
        }
        if (diff != 0) {
            for (size_t k = 0; k < 8 * words; ++k)
                if (static_cast<uint8_t>(in[k]) != byte_at(offset + i + k)) return i + k;
        }
        i += 8 * words;
        b += words;
    }
    for (; i < len; ++i)
        if (static_cast<uint8_t>(buf[i]) != byte_at(offset + i)) return i;
    return len;
}

}  // namespace xs3::s3emu
