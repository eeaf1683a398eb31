// Which AWS region to use, in the SDKs' order: --region (the configuration), AWS_REGION,
// AWS_DEFAULT_REGION, the profile's `region`, then EC2 instance metadata, then us-east-1.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/profile_file.hpp"

namespace xs3::s3 {

struct RegionChoice {
    std::string region;
    std::string source;  // "--region", "AWS_REGION", "profile 'x' (...)", "IMDS", "default"
};

// The configured, environment or profile region; nullopt when none names one. An invalid name
// (not a host name label: see is_valid_region) is an error naming where it came from.
Result<std::optional<RegionChoice>> configured_region(const std::optional<std::string>& configured,
                                                      const GetenvFn& getenv_fn,
                                                      const ReadFileFn& read_file);

// The last steps: the region IMDS reports (when `imds_region` is set and answers with a valid
// name), else us-east-1. What went wrong with IMDS is appended to `notes`.
RegionChoice fallback_region(const std::function<Result<std::string>()>& imds_region,
                             std::vector<std::string>& notes);

}  // namespace xs3::s3
