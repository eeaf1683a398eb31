// Applies a TOML config file to a Config.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "xs3/config/config.hpp"

namespace xs3::config {

// Applies the file's keys (in file order, so the first bad line is the one reported) and its
// [[buckets]] and [[clients]] lists. provided[option_index(o)] is set for every option the file
// gives.
Status apply_toml_file(const std::string& path, Config& c, std::vector<bool>& provided);
// The same for a document already in memory; `path` names it in messages.
Status apply_toml_text(std::string_view text, const std::string& path, Config& c,
                       std::vector<bool>& provided);

}  // namespace xs3::config
