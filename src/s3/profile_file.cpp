// Shared config/credentials file parsing, merging and profile selection.
#include "xs3/s3/profile_file.hpp"

#include <cstring>
#include <vector>

#include "xs3/base/ascii.hpp"
#include "xs3/base/file.hpp"
#include "xs3/s3/strings.hpp"

namespace xs3::s3 {
namespace {

bool is_ws(char c) {
    return c == ' ' || c == '\t';
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool valid_profile_name(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n)
        if (!is_alnum(c) && std::string_view("-/.%@_:+").find(c) == std::string_view::npos)
            return false;
    return true;
}

bool valid_property_name(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n)
        if (!is_alnum(c) && c != '-' && c != '_') return false;
    return true;
}

// The value without a trailing comment: '#' or ';' preceded by whitespace.
std::string_view strip_value_comment(std::string_view v) {
    for (size_t i = 1; i < v.size(); ++i)
        if ((v[i] == '#' || v[i] == ';') && is_ws(v[i - 1])) return trim_space(v.substr(0, i));
    return v;
}

struct Parser {
    Parser(ProfileFileKind k, std::string_view src) : kind(k), source(src) {}

    ProfileFileKind kind;
    std::string_view source;
    ProfileSet profiles;
    ProfileProperties default_plain;  // [default] in a config file
    bool saw_plain_default = false;
    bool saw_prefixed_default = false;

    bool in_profile = false;
    ProfileProperties* current = nullptr;  // null inside an ignored section
    std::string property;                  // the last property (for continuations)
    bool have_property = false;
    bool sub_properties = false;

    Status error(size_t line, std::string_view what) const {
        return Status(Code::invalid_argument, std::string(source) + " line " +
                                                  std::to_string(line) + ": " + std::string(what));
    }

    Status section(size_t n, std::string_view line) {
        const size_t close = line.find(']');
        if (close == std::string_view::npos)
            return error(n, "a profile definition must end with ']'");
        std::string_view rest = trim_space(line.substr(close + 1));
        if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
            return error(n, "unexpected text after a profile definition");
        std::string_view name = trim_space(line.substr(1, close - 1));
        in_profile = true;
        current = nullptr;
        have_property = false;
        if (kind == ProfileFileKind::config) {
            constexpr std::string_view prefix = "profile";
            if (name == "default") {
                saw_plain_default = true;
                current = &default_plain;
                return {};
            }
            if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size() ||
                !is_ws(name[prefix.size()]))
                return {};  // [foo], [sso-session foo], [profilefoo]: not profiles
            name = trim_space(name.substr(prefix.size()));
            if (name == "default") saw_prefixed_default = true;
        }
        if (valid_profile_name(name)) current = &profiles[std::string(name)];
        return {};
    }

    Status property_line(size_t n, std::string_view line) {
        if (!in_profile) return error(n, "expected a profile definition before properties");
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            return error(n, "expected an '=' sign defining a property");
        std::string_view name = trim_space(line.substr(0, eq));
        if (name.empty()) return error(n, "a property has no name");
        std::string_view value = strip_value_comment(trim_space(line.substr(eq + 1)));
        have_property = false;
        if (current == nullptr || !valid_property_name(name)) return {};
        property = ascii_lowercase(name);
        (*current)[property] = std::string(value);
        have_property = true;
        sub_properties = value.empty();
        return {};
    }

    Status continuation(size_t n, std::string_view line) {
        if (!in_profile) return error(n, "expected a profile definition, found a continuation");
        if (current == nullptr) return {};  // inside an ignored section
        if (!have_property) return error(n, "expected a property definition, found a continuation");
        std::string_view value = trim_space(line);
        if (sub_properties) {
            const size_t eq = value.find('=');
            if (eq == std::string_view::npos)
                return error(n, "expected an '=' sign defining a sub-property");
            if (trim_space(value.substr(0, eq)).empty())
                return error(n, "a sub-property has no name");
        }
        std::string& v = (*current)[property];
        v += '\n';
        v += value;
        return {};
    }

    Status parse(std::string_view text) {
        size_t n = 0;
        size_t pos = 0;
        while (pos <= text.size()) {
            size_t eol = text.find('\n', pos);
            if (eol == std::string_view::npos) eol = text.size();
            std::string_view line = text.substr(pos, eol - pos);
            pos = eol + 1;
            ++n;
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (trim_space(line).empty() || line.front() == '#' || line.front() == ';') continue;
            Status st;
            if (line.front() == '[')
                st = section(n, line);
            else if (is_ws(line.front()))
                st = continuation(n, line);
            else
                st = property_line(n, line);
            if (!st.ok()) return st;
        }
        // [profile default] anywhere in a config file hides every plain [default].
        if (saw_plain_default && !saw_prefixed_default)
            profiles["default"] = std::move(default_plain);
        return {};
    }
};

std::string expand_home(std::string_view path, const GetenvFn& getenv_fn) {
    if (path.substr(0, 2) != "~/") return std::string(path);
    const char* home = getenv_fn("HOME");
    if (home == nullptr || *home == '\0') return std::string(path);
    return std::string(home) + std::string(path.substr(1));
}

std::string file_path(const GetenvFn& getenv_fn, const char* var, std::string_view fallback) {
    const char* set = getenv_fn(var);
    if (set != nullptr && *set != '\0') return expand_home(set, getenv_fn);
    const char* home = getenv_fn("HOME");
    if (home == nullptr || *home == '\0') return {};
    return std::string(home) + "/.aws/" + std::string(fallback);
}

}  // namespace

Result<ProfileSet> parse_profile_file(std::string_view text, ProfileFileKind kind,
                                      std::string_view source) {
    Parser p(kind, source);
    Status st = p.parse(text);
    if (!st.ok()) return st;
    return std::move(p.profiles);
}

ProfileSet merge_profile_files(ProfileSet config, const ProfileSet& credentials) {
    for (const auto& [name, props] : credentials) {
        ProfileProperties& into = config[name];
        for (const auto& [k, v] : props)
            into[k] = v;
    }
    return config;
}

Result<std::optional<std::string>> read_small_file(const std::string& path) {
    return read_whole_file(path, 1 << 20);
}

const std::string* AwsProfile::get(std::string_view key) const {
    auto it = properties.find(std::string(key));
    return it == properties.end() ? nullptr : &it->second;
}

std::string AwsProfile::describe() const {
    std::string out = "profile '" + name + "' (";
    out += credentials_path.empty() ? "no credentials file" : credentials_path;
    out += ", ";
    out += config_path.empty() ? "no config file" : config_path;
    out += ")";
    return out;
}

Result<AwsProfile> load_aws_profile(const GetenvFn& getenv_fn, const ReadFileFn& read_file) {
    AwsProfile p;
    if (const char* env = getenv_fn("AWS_PROFILE"); env != nullptr && *env != '\0') {
        p.name = env;
        p.selected = true;
    }
    p.config_path = file_path(getenv_fn, "AWS_CONFIG_FILE", "config");
    p.credentials_path = file_path(getenv_fn, "AWS_SHARED_CREDENTIALS_FILE", "credentials");

    ProfileSet merged;
    for (auto kind : {ProfileFileKind::config, ProfileFileKind::credentials}) {
        const std::string& path =
            kind == ProfileFileKind::config ? p.config_path : p.credentials_path;
        if (path.empty()) continue;
        auto text = read_file(path);
        if (!text.ok()) return text.status();
        if (!text.value()) continue;
        auto parsed = parse_profile_file(**text, kind, path);
        if (!parsed.ok()) return parsed.status();
        merged = kind == ProfileFileKind::config ? std::move(parsed).value()
                                                 : merge_profile_files(std::move(merged), *parsed);
    }
    auto it = merged.find(p.name);
    if (it != merged.end()) {
        p.found = true;
        p.properties = std::move(it->second);
    } else if (p.selected) {
        return Status(Code::not_found,
                      "AWS_PROFILE names " + p.describe() + ", which neither file defines");
    }
    return p;
}

}  // namespace xs3::s3
