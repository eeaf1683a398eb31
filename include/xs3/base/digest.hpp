// SHA-224/SHA-256 digests, HMAC-SHA256 and lowercase hex, backed by OpenSSL's EVP API.
// Used by SigV4 signing (s3) and by whole-object sha224 verification (fetch).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace xs3 {

using Sha256Digest = std::array<uint8_t, 32>;
using Sha224Digest = std::array<uint8_t, 28>;

Sha256Digest sha256(std::string_view data);
Sha224Digest sha224(std::string_view data);

// HMAC-SHA256 with a raw byte key; SigV4 chains these, feeding each digest in as the next key.
Sha256Digest hmac_sha256(std::span<const uint8_t> key, std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// "0a1b..."; two lowercase hex digits per byte.
std::string hex_lower(std::span<const uint8_t> bytes);
inline std::string hex_lower(std::string_view bytes) {
    return hex_lower(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

// hex_lower(sha256(data)): the form SigV4 wants for payload and canonical-request hashes.
std::string sha256_hex(std::string_view data);

// Compares two secrets (tokens, signatures) in time that depends on neither their contents nor
// their lengths: the SHA-256 of each is compared with CRYPTO_memcmp.
bool secret_equal(std::string_view a, std::string_view b);

namespace digest_detail {
// Incremental hashing over one EVP context; the typed hashers below fix the algorithm and size.
class EvpHasher {
  public:
    EvpHasher(const EvpHasher&) = delete;
    EvpHasher& operator=(const EvpHasher&) = delete;
    EvpHasher(EvpHasher&& other) noexcept;
    EvpHasher& operator=(EvpHasher&& other) noexcept;
    ~EvpHasher();

  protected:
    enum class Algorithm { sha224, sha256 };
    explicit EvpHasher(Algorithm algorithm);
    void update_bytes(const void* data, size_t len);
    // Writes the digest to out and resets the context so the hasher can be used again.
    void finish_into(uint8_t* out, size_t len);

  private:
    Algorithm algorithm_;
    evp_md_ctx_st* ctx_;
};
}  // namespace digest_detail

class Sha256Hasher : public digest_detail::EvpHasher {
  public:
    Sha256Hasher() : EvpHasher(Algorithm::sha256) {}
    Sha256Hasher& update(std::string_view data) {
        update_bytes(data.data(), data.size());
        return *this;
    }
    Sha256Hasher& update(std::span<const uint8_t> data) {
        update_bytes(data.data(), data.size());
        return *this;
    }
    // Returns the digest of everything fed since construction or the last finish().
    Sha256Digest finish() {
        Sha256Digest out;
        finish_into(out.data(), out.size());
        return out;
    }
};

class Sha224Hasher : public digest_detail::EvpHasher {
  public:
    Sha224Hasher() : EvpHasher(Algorithm::sha224) {}
    Sha224Hasher& update(std::string_view data) {
        update_bytes(data.data(), data.size());
        return *this;
    }
    Sha224Hasher& update(std::span<const uint8_t> data) {
        update_bytes(data.data(), data.size());
        return *this;
    }
    Sha224Digest finish() {
        Sha224Digest out;
        finish_into(out.data(), out.size());
        return out;
    }
};

}  // namespace xs3
