// s3emu-verify: checks a received file (or a range of an object saved to a file) against the
// emulator's pattern without the original bytes.
//
//   s3emu-verify --name big.bin --seed 7 --size 1GiB [--offset O] [--generation G] FILE
//
// Exit 0 when every byte matches and (with --size and no --offset) the file holds the whole object;
// exit 1 with the first mismatching offset otherwise; exit 2 on usage errors.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "pattern.hpp"
#include "xs3/base/units.hpp"

using xs3::s3emu::Pattern;

namespace {
int usage() {
    std::fprintf(stderr,
                 "usage: s3emu-verify --name K --seed S [--size N] [--offset O] [--generation G] "
                 "FILE\n");
    return 2;
}
bool parse_u64(const char* s, uint64_t& out) {
    auto r = xs3::parse_size(s);
    if (!r) return false;
    out = *r;
    return true;
}
}  // namespace

int main(int argc, char** argv) {
    std::string name, file;
    uint64_t seed = 0, size = 0, offset = 0, gen = 0;
    bool have_name = false, have_size = false, have_offset = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (a == "--name") {
            if (!(v = next())) return usage();
            name = v;
            have_name = true;
        } else if (a == "--seed") {
            if (!(v = next()) || !parse_u64(v, seed)) return usage();
        } else if (a == "--size") {
            if (!(v = next()) || !parse_u64(v, size)) return usage();
            have_size = true;
        } else if (a == "--offset") {
            if (!(v = next()) || !parse_u64(v, offset)) return usage();
            have_offset = true;
        } else if (a == "--generation") {
            if (!(v = next()) || !parse_u64(v, gen)) return usage();
        } else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else if (!a.empty() && a[0] == '-' && a != "-") {
            return usage();
        } else {
            file = std::string(a);
        }
    }
    if (!have_name || file.empty()) return usage();
    if (!name.empty() && name[0] == '/') name.erase(0, 1);
    int fd = file == "-" ? 0 : open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        std::fprintf(stderr, "s3emu-verify: %s: %s\n", file.c_str(), std::strerror(errno));
        return 2;
    }
    Pattern p(name, seed, gen);
    constexpr size_t kBuf = 1 << 20;
    std::unique_ptr<char[]> buf(new char[kBuf]);
    uint64_t pos = offset, total = 0;
    for (;;) {
        ssize_t n = read(fd, buf.get(), kBuf);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::fprintf(stderr, "s3emu-verify: read: %s\n", std::strerror(errno));
            return 2;
        }
        if (n == 0) break;
        size_t len = static_cast<size_t>(n);
        if (have_size && pos + len > size) {
            std::printf("MISMATCH: file runs past the object's end (size %llu) at offset %llu\n",
                        static_cast<unsigned long long>(size),
                        static_cast<unsigned long long>(size));
            return 1;
        }
        size_t bad = p.verify(buf.get(), pos, len);
        if (bad != len) {
            std::printf(
                "MISMATCH at object offset %llu (file offset %llu): got 0x%02x want 0x%02x\n",
                static_cast<unsigned long long>(pos + bad),
                static_cast<unsigned long long>(total + bad), static_cast<unsigned char>(buf[bad]),
                p.byte_at(pos + bad));
            return 1;
        }
        pos += len;
        total += len;
    }
    if (have_size && !have_offset && total != size) {
        std::printf("SHORT: got %llu of %llu bytes (first missing offset %llu)\n",
                    static_cast<unsigned long long>(total), static_cast<unsigned long long>(size),
                    static_cast<unsigned long long>(total));
        return 1;
    }
    std::printf("OK %llu bytes at offset %llu\n", static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(offset));
    return 0;
}
