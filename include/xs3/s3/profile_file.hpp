// The AWS shared config and credentials files (~/.aws/config, ~/.aws/credentials): parsing with
// the SDKs' rules, merging the two, and picking the active profile.
//
// Rules (the SDKs' shared file format):
//  - `[name]` starts a profile. In the config file non-default profiles are `[profile name]`
//    (`[name]` alone is ignored), and `[profile default]` wins over `[default]`; in the
//    credentials file profiles are `[name]` (`[profile name]` is ignored). Names are trimmed and
//    use letters, digits and - / . % @ _ : + ; other names are ignored with their properties.
//  - `key = value`; keys are case-insensitive (lowercased) of letters, digits, - and _ (others
//    are ignored); values are trimmed. The last definition of a key wins; a repeated profile
//    merges.
//  - Lines starting with # or ; are comments; on a property line, # or ; preceded by whitespace
//    starts a comment ("a#b" keeps its '#'). Blank lines are ignored.
//  - A line starting with whitespace continues the previous property's value (joined with "\n",
//    comments kept). After `key =` with no value, continuation lines are sub-properties and each
//    needs its own '='.
//  - Both files merge per profile; on a clash the credentials file wins.
// Syntax errors name the file and line but never quote it: these files hold secrets.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "xs3/base/status.hpp"
#include "xs3/s3/credentials.hpp"

namespace xs3::s3 {

enum class ProfileFileKind { config, credentials };

using ProfileProperties = std::map<std::string, std::string>;
using ProfileSet = std::map<std::string, ProfileProperties>;  // profile name -> properties

// `source` names the file in errors (its path).
Result<ProfileSet> parse_profile_file(std::string_view text, ProfileFileKind kind,
                                      std::string_view source);

// Profiles of both files; per property, the credentials file wins.
ProfileSet merge_profile_files(ProfileSet config, const ProfileSet& credentials);

// Reads a whole small file: nullopt when it does not exist, an error naming the path when it
// cannot be read or is larger than 1 MiB.
using ReadFileFn = std::function<Result<std::optional<std::string>>(const std::string& path)>;
Result<std::optional<std::string>> read_small_file(const std::string& path);

struct AwsProfile {
    std::string name = "default";  // AWS_PROFILE, or "default"
    bool selected = false;         // named by AWS_PROFILE
    bool found = false;            // defined in either file
    std::string config_path;       // "" when neither AWS_CONFIG_FILE nor HOME is set
    std::string credentials_path;  // likewise for AWS_SHARED_CREDENTIALS_FILE
    ProfileProperties properties;

    const std::string* get(std::string_view key) const;
    // "profile 'prod' (~/.aws/credentials, ~/.aws/config)" for messages.
    std::string describe() const;
};

// Locates both files (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and
// ~/.aws/credentials; a leading "~/" expands to $HOME), reads and merges them, and selects
// AWS_PROFILE (default "default"). Missing files are empty. Fails on syntax errors, on unreadable
// files and when AWS_PROFILE names a profile that neither file defines.
Result<AwsProfile> load_aws_profile(const GetenvFn& getenv_fn, const ReadFileFn& read_file);

}  // namespace xs3::s3
