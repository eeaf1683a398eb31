// Object declarations, ETags and the background SHA-224 hasher.
#include "catalog.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include "xs3/base/log.hpp"
#include "xs3/base/units.hpp"

namespace xs3::s3emu {

namespace {
std::string hex(const unsigned char* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    return out;
}

Result<uint64_t> parse_u64(std::string_view s) {
    if (s.empty()) return Status(Code::invalid_argument, "empty number");
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return Status(Code::invalid_argument, "not a number: " + std::string(s));
        if (v > (UINT64_MAX - (c - '0')) / 10)
            return Status(Code::invalid_argument, "number too large: " + std::string(s));
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
}
}  // namespace

Result<bool> parse_bool(std::string_view t) {
    if (t == "yes" || t == "true" || t == "1" || t == "on") return true;
    if (t == "no" || t == "false" || t == "0" || t == "off") return false;
    return Status(Code::invalid_argument, "not a boolean: " + std::string(t));
}

Result<std::vector<ObjectSpec>> parse_object_spec(std::string_view text) {
    ObjectSpec base;
    uint64_t count = 0;
    bool have_size = false;
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (item.empty()) continue;
        size_t eq = item.find('=');
        if (eq == std::string_view::npos)
            return Status(Code::invalid_argument,
                          "object: expected key=value, got " + std::string(item));
        std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
        if (k == "name") {
            base.name = std::string(v);
        } else if (k == "size") {
            auto s = parse_size(v);
            if (!s) return s.status();
            base.size = *s;
            have_size = true;
        } else if (k == "seed") {
            auto s = parse_u64(v);
            if (!s) return s.status();
            base.seed = *s;
        } else if (k == "sha224") {
            auto b = parse_bool(v);
            if (!b) return b.status();
            base.sha224 = *b;
        } else if (k == "content_type" || k == "content-type" || k == "type") {
            base.content_type = std::string(v);
        } else if (k == "count") {
            auto s = parse_u64(v);
            if (!s) return s.status();
            count = *s;
        } else {
            return Status(Code::invalid_argument, "object: unknown key " + std::string(k));
        }
    }
    if (base.name.empty()) return Status(Code::invalid_argument, "object: name= is required");
    if (!have_size) return Status(Code::invalid_argument, "object: size= is required");
    if (base.name.front() == '/') base.name.erase(0, 1);
    std::vector<ObjectSpec> out;
    if (count == 0) {
        out.push_back(base);
        return out;
    }
    std::string tmpl = base.name;
    if (tmpl.find("{i}") == std::string::npos) tmpl += "-{i}";
    for (uint64_t i = 0; i < count; ++i) {
        ObjectSpec s = base;
        s.name = tmpl;
        size_t pos;
        while ((pos = s.name.find("{i}")) != std::string::npos)
            s.name.replace(pos, 3, std::to_string(i));
        s.seed = base.seed + i;
        out.push_back(std::move(s));
    }
    return out;
}

std::string Object::etag(uint64_t gen) const {
    uint64_t k = pattern(gen).key();
    unsigned char b[16];
    uint64_t a = mix64(k ^ spec_.size), c = mix64(a + k);
    for (int i = 0; i < 8; ++i) {
        b[i] = static_cast<unsigned char>(a >> (8 * i));
        b[8 + i] = static_cast<unsigned char>(c >> (8 * i));
    }
    return "\"" + hex(b, 16) + "\"";
}

std::optional<std::string> Object::sha224(uint64_t gen) const {
    std::lock_guard lk(sha_mu_);
    auto it = sha_.find(gen);
    if (it == sha_.end()) return std::nullopt;
    return it->second;
}

void Object::set_sha224(uint64_t gen, std::string hex) {
    std::lock_guard lk(sha_mu_);
    sha_[gen] = std::move(hex);
}

std::string compute_sha224_hex(const Object& obj, uint64_t gen) {
    Pattern p = obj.pattern(gen);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha224(), nullptr);
    constexpr size_t kBuf = 1 << 20;
    std::unique_ptr<char[]> buf(new char[kBuf]);
    for (uint64_t off = 0; off < obj.size(); off += kBuf) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(kBuf, obj.size() - off));
        p.fill(buf.get(), off, n);
        EVP_DigestUpdate(ctx, buf.get(), n);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    return hex(md, len);
}

Catalog::~Catalog() {
    {
        std::lock_guard lk(q_mu_);
        stop_ = true;
    }
    q_cv_.notify_all();
    if (hasher_.joinable()) hasher_.join();
}

Status Catalog::add(ObjectSpec spec) {
    if (by_name_.count(spec.name))
        return Status(Code::invalid_argument, "duplicate object name: " + spec.name);
    auto obj = std::make_unique<Object>(std::move(spec));
    by_name_[obj->name()] = obj.get();
    objects_.push_back(std::move(obj));
    return {};
}

Object* Catalog::find(std::string_view name) noexcept {
    auto it = by_name_.find(std::string(name));
    return it == by_name_.end() ? nullptr : it->second;
}

void Catalog::start_hasher() {
    std::vector<Object*> todo;
    for (auto& o : objects_)
        if (o->spec().sha224) todo.push_back(o.get());
    std::stable_sort(todo.begin(), todo.end(),
                     [](Object* a, Object* b) { return a->size() < b->size(); });
    for (Object* o : todo)
        request_sha224(*o, 0);
    std::lock_guard lk(q_mu_);
    if (!hasher_.joinable()) hasher_ = std::thread([this] { hasher_main(); });
}

void Catalog::request_sha224(Object& obj, uint64_t gen) {
    if (obj.sha224(gen)) return;
    {
        std::lock_guard lk(q_mu_);
        if (queued_.count({&obj, gen})) return;
        queued_[{&obj, gen}] = true;
        queue_.emplace_back(&obj, gen);
    }
    q_cv_.notify_one();
}

void Catalog::wait_hasher_idle() {
    std::unique_lock lk(q_mu_);
    idle_cv_.wait(lk, [this] { return (queue_.empty() && !busy_) || !hasher_.joinable(); });
}

size_t Catalog::sha224_pending() {
    std::lock_guard lk(q_mu_);
    return queue_.size() + (busy_ ? 1 : 0);
}

void Catalog::hasher_main() {
    std::unique_lock lk(q_mu_);
    for (;;) {
        q_cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        auto [obj, gen] = queue_.front();
        queue_.pop_front();
        busy_ = true;
        lk.unlock();
        auto t0 = std::chrono::steady_clock::now();
        std::string digest = compute_sha224_hex(*obj, gen);
        obj->set_sha224(gen, digest);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
        if (obj->size() >= (64u << 20))
            XS3_LOG_INFO("sha224 ready", kv("object", obj->name()), kv("generation", gen),
                         kv("ms", static_cast<int64_t>(ms)));
        lk.lock();
        busy_ = false;
        if (queue_.empty()) idle_cv_.notify_all();
    }
}

}  // namespace xs3::s3emu
