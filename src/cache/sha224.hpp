// SHA-224 for cache keys and header checksums (OpenSSL EVP). Private to the cache layer until base
// grows a shared digest helper.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace xs3::cache::detail {

using Sha224Digest = std::array<uint8_t, 28>;

Sha224Digest sha224(std::string_view data);
std::string to_hex(const uint8_t* bytes, size_t n);

}  // namespace xs3::cache::detail
