// OpenSSL EVP-backed digests. OpenSSL failures here can only mean allocation failure or a broken
// library (SHA-2 is always available), so they abort instead of threading a Status through every
// hash call.
#include "xs3/base/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace xs3 {
namespace {

[[noreturn]] void openssl_fatal(const char* what) {
    std::fprintf(stderr, "xs3: OpenSSL %s failed\n", what);
    std::abort();
}

// OpenSSL 3 resolves the legacy handles (EVP_sha256()) and the one-shot HMAC() by name on every
// call: a locked method-store lookup, and for HMAC() an EVP_MAC context built and freed each
// time. SigV4 chains five HMACs and two hashes per signed request (every origin GET, every
// client request checked against [[clients]], every fleet hop), so the two digests are fetched
// once, here, and HMAC is done over them directly (RFC 2104). Fetched handles live for the
// whole process.
const EVP_MD* md_for(bool sha224) {
    static const EVP_MD* const md256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    static const EVP_MD* const md224 = EVP_MD_fetch(nullptr, "SHA2-224", nullptr);
    const EVP_MD* md = sha224 ? md224 : md256;
    if (md == nullptr) openssl_fatal("EVP_MD_fetch");
    return md;
}

// One EVP context for the length of a call.
class DigestCtx {
  public:
    DigestCtx() : ctx_(EVP_MD_CTX_new()) {
        if (ctx_ == nullptr) openssl_fatal("EVP_MD_CTX_new");
    }
    DigestCtx(const DigestCtx&) = delete;
    DigestCtx& operator=(const DigestCtx&) = delete;
    ~DigestCtx() { EVP_MD_CTX_free(ctx_); }

    void begin(const EVP_MD* md) {
        if (EVP_DigestInit_ex(ctx_, md, nullptr) != 1) openssl_fatal("EVP_DigestInit_ex");
    }
    void add(const void* data, size_t len) {
        if (len > 0 && EVP_DigestUpdate(ctx_, data, len) != 1) openssl_fatal("EVP_DigestUpdate");
    }
    template <size_t N>
    void end(std::array<uint8_t, N>& out) {
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != N)
            openssl_fatal("EVP_DigestFinal_ex");
    }

  private:
    EVP_MD_CTX* ctx_;
};

template <size_t N>
std::array<uint8_t, N> one_shot(bool sha224, std::string_view data) {
    std::array<uint8_t, N> out;
    DigestCtx c;
    c.begin(md_for(sha224));
    c.add(data.data(), data.size());
    c.end(out);
    return out;
}

}  // namespace

Sha256Digest sha256(std::string_view data) {
    return one_shot<32>(false, data);
}
Sha224Digest sha224(std::string_view data) {
    return one_shot<28>(true, data);
}

Sha256Digest hmac_sha256(std::span<const uint8_t> key, std::string_view data) {
    // RFC 2104 over SHA-256 (64-byte blocks): a key longer than a block is hashed first; the
    // block-sized key is XORed with the inner and outer pads.
    constexpr size_t kBlockSize = 64;
    std::array<uint8_t, kBlockSize> k{};
    if (key.size() > kBlockSize) {
        const Sha256Digest hashed =
            sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
        std::memcpy(k.data(), hashed.data(), hashed.size());
    } else if (!key.empty()) {
        std::memcpy(k.data(), key.data(), key.size());
    }
    std::array<uint8_t, kBlockSize> pad;
    const EVP_MD* md = md_for(false);
    DigestCtx c;
    Sha256Digest inner;
    for (size_t i = 0; i < kBlockSize; ++i)
        pad[i] = k[i] ^ 0x36;
    c.begin(md);
    c.add(pad.data(), pad.size());
    c.add(data.data(), data.size());
    c.end(inner);
    for (size_t i = 0; i < kBlockSize; ++i)
        pad[i] = k[i] ^ 0x5c;
    Sha256Digest out;
    c.begin(md);
    c.add(pad.data(), pad.size());
    c.add(inner.data(), inner.size());
    c.end(out);
    // The key material (a secret, or a step of SigV4's key chain) is not left on the stack.
    OPENSSL_cleanse(k.data(), k.size());
    OPENSSL_cleanse(pad.data(), pad.size());
    OPENSSL_cleanse(inner.data(), inner.size());
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
