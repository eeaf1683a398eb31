// Test helper for the botocore verification test (botocore_verify.py): verifies one request per
// input line with xs3's SigV4 verifier, so the script can check that everything botocore signs
// (headers and presigned URLs) is accepted and that altered requests are refused.
//
// Input line: whitespace-separated fields, each "x" + hex of the raw bytes:
//   access_key secret region now method raw_path raw_query header_count {name value}...
// Output line: "OK <presigned 0/1>" or "REFUSED <status> <code> <message hex>".
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "hex_fields.hpp"
#include "xs3/base/digest.hpp"
#include "xs3/s3/sigv4_verify.hpp"

namespace {

std::string handle(const std::string& line) {
    std::vector<std::string> f;
    if (!xs3::test::read_hex_fields(line, f)) return "ERROR bad field encoding";
    if (f.size() < 8) return "ERROR short line";
    const size_t n = std::strtoul(f[7].c_str(), nullptr, 10);
    if (f.size() != 8 + 2 * n) return "ERROR header count";
    std::vector<xs3::s3::FieldView> headers;
    for (size_t i = 0; i < n; ++i)
        headers.emplace_back(f[8 + 2 * i], f[9 + 2 * i]);
    xs3::s3::VerifyOptions o;
    o.regions = {f[2]};
    xs3::s3::SigV4Verifier v({{f[0], f[1], {}}}, o);
    const auto now = static_cast<std::time_t>(std::strtoll(f[3].c_str(), nullptr, 10));
    auto r = v.verify({f[4], f[5], f[6], headers, now});
    if (r.ok()) return std::string("OK ") + (r.presigned ? "1" : "0");
    return "REFUSED " + std::to_string(r.error.status) + " " + r.error.code + " " +
           xs3::hex_lower(std::string_view(r.error.message));
}

}  // namespace

int main() {
    for (std::string line; std::getline(std::cin, line);)
        std::cout << handle(line) << std::endl;
    return 0;
}
