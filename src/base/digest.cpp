// OpenSSL EVP-backed digests. OpenSSL failures here can only mean allocation failure or a broken
// library (SHA-2 is always available), so they abort instead of threading a Status through every
// hash call.
#include "xs3/base/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace xs3 {
namespace {

[[noreturn]] void openssl_fatal(const char* what) {
    std::fprintf(stderr, "xs3: OpenSSL %s failed\n", what);
    std::abort();
}

const EVP_MD* md_for(bool sha224) {
    return sha224 ? EVP_sha224() : EVP_sha256();
}

template <size_t N>
std::array<uint8_t, N> one_shot(const EVP_MD* md, std::string_view data) {
    std::array<uint8_t, N> out;
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N)
        openssl_fatal("EVP_Digest");
    return out;
}

}  // namespace

Sha256Digest sha256(std::string_view data) {
    return one_shot<32>(EVP_sha256(), data);
}
Sha224Digest sha224(std::string_view data) {
    return one_shot<28>(EVP_sha224(), data);
}

Sha256Digest hmac_sha256(std::span<const uint8_t> key, std::string_view data) {
    Sha256Digest out;
    unsigned int len = 0;
    // HMAC() wants a non-null key pointer even for an empty key.
    static const uint8_t empty_key = 0;
    const uint8_t* key_ptr = key.empty() ? &empty_key : key.data();
    if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
             &len) == nullptr ||
        len != out.size())
        openssl_fatal("HMAC");
    return out;
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
    return hmac_sha256(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()), data);
}

std::string hex_lower(std::span<const uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    return hex_lower(sha256(data));
}

namespace digest_detail {

EvpHasher::EvpHasher(Algorithm algorithm) : algorithm_(algorithm), ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr) openssl_fatal("EVP_MD_CTX_new");
    if (EVP_DigestInit_ex(ctx_, md_for(algorithm_ == Algorithm::sha224), nullptr) != 1)
        openssl_fatal("EVP_DigestInit_ex");
}

EvpHasher::EvpHasher(EvpHasher&& other) noexcept
    : algorithm_(other.algorithm_), ctx_(std::exchange(other.ctx_, nullptr)) {}

EvpHasher& EvpHasher::operator=(EvpHasher&& other) noexcept {
    if (this != &other) {
        EVP_MD_CTX_free(ctx_);
        algorithm_ = other.algorithm_;
        ctx_ = std::exchange(other.ctx_, nullptr);
    }
    return *this;
}

EvpHasher::~EvpHasher() {
    EVP_MD_CTX_free(ctx_);
}

void EvpHasher::update_bytes(const void* data, size_t len) {
    if (len == 0) return;
    if (EVP_DigestUpdate(ctx_, data, len) != 1) openssl_fatal("EVP_DigestUpdate");
}

void EvpHasher::finish_into(uint8_t* out, size_t len) {
    unsigned int got = 0;
    if (EVP_DigestFinal_ex(ctx_, out, &got) != 1 || got != len) openssl_fatal("EVP_DigestFinal_ex");
    if (EVP_DigestInit_ex(ctx_, md_for(algorithm_ == Algorithm::sha224), nullptr) != 1)
        openssl_fatal("EVP_DigestInit_ex");
}

}  // namespace digest_detail
bool secret_equal(std::string_view a, std::string_view b) {
    const Sha256Digest da = sha256(a), db = sha256(b);
    return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

}  // namespace xs3
