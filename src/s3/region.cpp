// Region resolution.
#include "xs3/s3/region.hpp"

#include "xs3/s3/url.hpp"

namespace xs3::s3 {

Result<std::optional<RegionChoice>> configured_region(const std::optional<std::string>& configured,
                                                      const GetenvFn& getenv_fn,
                                                      const ReadFileFn& read_file) {
    std::optional<RegionChoice> choice;
    if (configured) {
        choice = RegionChoice{*configured, "--region"};
    } else {
        for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
            const char* v = getenv_fn(var);
            if (v != nullptr && *v != '\0') {
                choice = RegionChoice{v, var};
                break;
            }
        }
    }
    if (!choice) {
        auto profile = load_aws_profile(getenv_fn, read_file);
        if (!profile.ok()) return profile.status();
        if (const std::string* r = profile->get("region"); r != nullptr && !r->empty())
            choice = RegionChoice{*r, profile->describe()};
    }
    if (choice && !is_valid_region(choice->region))
        return Status(Code::invalid_argument, "invalid region '" + choice->region.substr(0, 64) +
                                                  "' from " + choice->source +
                                                  " (want lowercase letters, digits and '-', like "
                                                  "eu-west-1)");
    return choice;
}

RegionChoice fallback_region(const std::function<Result<std::string>()>& imds_region,
                             std::vector<std::string>& notes) {
    if (imds_region) {
        auto r = imds_region();
        if (r.ok() && is_valid_region(*r)) return RegionChoice{*r, "IMDS"};
        notes.push_back(r.ok() ? "IMDS reported an invalid region" : r.status().message());
    }
    return RegionChoice{"us-east-1", "default"};
}

}  // namespace xs3::s3
