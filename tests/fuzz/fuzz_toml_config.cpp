// The TOML configuration file (config::load_config_text: toml++ underneath, then the option
// table's setters, [[buckets]], [[clients]] and the cross-option checks), followed by what main
// does with an accepted file: bucket names, regions and endpoint URLs. Checks: an accepted
// configuration holds the invariants validate() promises.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/config/config.hpp"
#include "xs3/net/cidr.hpp"
#include "xs3/s3/url.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto c = config::load_config_text(fuzz::as_text(data, size), "fuzz.toml");
    if (!c.ok()) return 0;
    XS3_FUZZ_CHECK(c->min_chunk_size <= c->chunk_size && c->chunk_size <= c->max_chunk_size);
    XS3_FUZZ_CHECK(c->gc_target_percent < c->gc_watermark_percent);
    XS3_FUZZ_CHECK(c->splice_size <= c->pipe_size);
    XS3_FUZZ_CHECK(c->workers > 0);
    if (c->allow_clients) XS3_FUZZ_CHECK(net::CidrSet::parse(*c->allow_clients).ok());
    for (const auto& client : c->clients)
        XS3_FUZZ_CHECK(!client.access_key_id.empty() && !client.secret_access_key.empty());
    (void)s3::is_valid_bucket_name(c->bucket);
    for (const auto& b : c->buckets) {
        (void)s3::is_valid_bucket_name(b.name);
        if (b.region) (void)s3::is_valid_region(*b.region);
        if (b.endpoint) (void)s3::parse_endpoint_url(*b.endpoint);
    }
    if (c->s3_endpoint_url) (void)s3::parse_endpoint_url(*c->s3_endpoint_url);
    if (c->region) (void)s3::is_valid_region(*c->region);
    return 0;
}
