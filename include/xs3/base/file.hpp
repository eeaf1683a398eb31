// Reading a whole small file (config files, credential files, tokens) with a size limit.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "xs3/base/status.hpp"

namespace xs3 {

// The file's bytes; nullopt when it does not exist. Errors name the path and the failing call
// ("open /x: Permission denied", "read /: Is a directory"), or say it is larger than `limit`.
Result<std::optional<std::string>> read_whole_file(const std::string& path, size_t limit);

}  // namespace xs3
