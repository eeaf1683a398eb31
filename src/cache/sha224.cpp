// SHA-224 through OpenSSL's EVP interface.
#include "sha224.hpp"

#include <openssl/evp.h>

#include <cstdlib>

namespace xs3::cache::detail {

Sha224Digest sha224(std::string_view data) {
    Sha224Digest out{};
    unsigned int len = 0;
    // EVP_Digest only fails on allocation failure or a missing algorithm; neither is recoverable
    // and a wrong digest would silently alias cache entries.
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha224(), nullptr) != 1 ||
        len != out.size())
        std::abort();
    return out;
}

std::string to_hex(const uint8_t* bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s(n * 2, '0');
    for (size_t i = 0; i < n; ++i) {
        s[2 * i] = digits[bytes[i] >> 4];
        s[2 * i + 1] = digits[bytes[i] & 15];
    }
    return s;
}

}  // namespace xs3::cache::detail
