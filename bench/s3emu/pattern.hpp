// Pattern: the deterministic bytes of an emulated object. Byte i of object (name, seed, generation)
// is byte i % 8 (little-endian) of word b = i / 8, where
//   word(b) = table[b % 4096] ^ mix64(key + (b / 4096 + 1) * golden)
// with `table` 4096 fixed pseudo-random words and key derived from (name, seed, generation). Any
// range of a multi-GiB object is generated or checked in O(length) without storing anything, and
// at memory speed: one mix64 per 32 KiB and a XOR per word. A shifted range fails (the table words
// differ), so does a range of another object or generation (the mix differs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xs3::s3emu {

// 64-bit FNV-1a; stable across runs and platforms so keys (and so bytes) never change.
uint64_t hash_name(std::string_view name) noexcept;
// The splitmix64 finaliser: a bijective 64-bit mixer.
uint64_t mix64(uint64_t x) noexcept;

class Pattern {
  public:
    Pattern() = default;
    // `generation` changes the bytes when the object is "overwritten" (the ETag-change fault).
    Pattern(std::string_view name, uint64_t seed, uint64_t generation = 0) noexcept;

    uint64_t key() const noexcept { return key_; }
    // The 8 bytes of block `block` as a little-endian word.
    uint64_t block(uint64_t block) const noexcept;
    uint8_t byte_at(uint64_t offset) const noexcept;
    // Writes the object's bytes [offset, offset + len) to buf.
    void fill(char* buf, uint64_t offset, size_t len) const noexcept;
    // Index (relative to buf) of the first byte that differs from the pattern, or len if none.
    size_t verify(const char* buf, uint64_t offset, size_t len) const noexcept;

  private:
    uint64_t key_ = 0;
};

}  // namespace xs3::s3emu
