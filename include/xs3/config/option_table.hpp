// The option table's row type and look-ups (the rows themselves are in option_table.cpp).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "xs3/config/config.hpp"

namespace xs3::config {

// How a row's text reaches its Config member: made by bind<&Config::member, ValueType>().
struct Binding {
    ValueKind kind;
    Status (*assign)(Config& config, std::string_view text);
};

enum OptionFlags : unsigned {
    kRequired = 1,   // must be given (the loader says which flag and variable)
    kFileOnly = 2,   // secrets: only in the config file, no flag, no environment variable
    kNotInFile = 4,  // --config itself: a file cannot name another file
};

struct OptionRow {
    std::string_view name;  // the flag without "--": also gives XS3_<NAME> and the TOML key
    Binding binding;
    std::string_view value_name;  // "<SIZE>" in --help ("" for a flag)
    const char* default_value;    // nullptr: none
    std::string_view help;
    unsigned flags = 0;
};

// By flag name (file-only options have none), by TOML key.
const OptionDescriptor* find_option(std::string_view name);
const OptionDescriptor* find_option_by_toml_key(std::string_view key);
// The option's position in option_table().
size_t option_index(const OptionDescriptor& o);
// How messages name the option: "--port", or the TOML key of a file-only one.
std::string option_flag(const OptionDescriptor& o);

}  // namespace xs3::config
