// The TOML config file (--config): option keys through the option table, and the [[buckets]]
// list. Every message names the file, the key and the line.
#include "xs3/config/toml_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "xs3/base/file.hpp"
#include "xs3/base/units.hpp"
#include "xs3/config/option_table.hpp"
#include "xs3/config/values.hpp"

namespace xs3::config {
namespace {

Status bad(std::string message) {
    return Status(Code::invalid_argument, std::move(message));
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

const char* toml_type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::string:
            return "string";
        case toml::node_type::integer:
            return "integer";
        case toml::node_type::floating_point:
            return "float";
        case toml::node_type::boolean:
            return "boolean";
        case toml::node_type::date:
            return "date";
        case toml::node_type::time:
            return "time";
        case toml::node_type::date_time:
            return "date-time";
        case toml::node_type::array:
            return "array";
        case toml::node_type::table:
            return "table";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

const char* toml_expectation(ValueKind k) {
    switch (k) {
        case ValueKind::string:
        case ValueKind::ip:
        case ValueKind::log_level:
            return "a string";
        case ValueKind::uint:
            return "an integer";
        case ValueKind::size:
            return "a size (integer bytes or a string like \"1GiB\")";
        case ValueKind::duration:
            return "a duration (integer seconds or a string like \"30s\")";
        case ValueKind::boolean:
            return "a boolean";
    }
    return "a value";
}

// The TOML value as the text the setter takes, or nullopt when its type does not fit the option.
std::optional<std::string> toml_value_text(ValueKind kind, const toml::node& node) {
    bool string_ok = kind == ValueKind::string || kind == ValueKind::ip ||
                     kind == ValueKind::log_level || kind == ValueKind::size ||
                     kind == ValueKind::duration;
    bool int_ok = kind == ValueKind::uint || kind == ValueKind::size || kind == ValueKind::duration;
    if (auto s = node.as_string(); s && string_ok) return s->get();
    if (auto i = node.as_integer(); i && int_ok) return std::to_string(i->get());
    if (auto b = node.as_boolean(); b && kind == ValueKind::boolean)
        return b->get() ? "true" : "false";
    return std::nullopt;
}

// [[buckets]]: an array of tables, each a BucketConfig. Every problem names the field and line.
Status apply_buckets(const toml::node& node, const std::string& prefix, int line, Config& c) {
    const toml::array* list = node.as_array();
    if (list == nullptr)
        return bad(prefix + "'buckets' must be an array of tables ([[buckets]]) at line " +
                   std::to_string(line));
    for (const auto& item : *list) {
        const toml::table* t = item.as_table();
        int at = static_cast<int>(item.source().begin.line);
        std::string where = " in [[buckets]] at line " + std::to_string(at);
        if (t == nullptr) return bad(prefix + "each bucket must be a table" + where);
        BucketConfig b;
        b.line = at;
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
        for (auto&& kv : *t) {
            const auto& k = kv.first;
            auto& v = kv.second;
            std::string key(k.str());
            auto text = [&](bool secret) -> Result<std::string> {
                auto s = v.as_string();
                if (!s) return bad(prefix + "'" + key + "' must be a string" + where);
                if (s->get().empty()) return bad(prefix + "'" + key + "' is empty" + where);
                if (secret)
                    for (char ch : s->get())
                        if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
                            return bad(prefix + "'" + key +
                                       "' contains whitespace or control characters" + where);
                return s->get();
            };
            auto flag_value = [&]() -> Result<bool> {
                auto f = v.as_boolean();
                if (!f) return bad(prefix + "'" + key + "' must be true or false" + where);
                return f->get();
            };
            if (key == "name") {
                auto n = text(false);
                if (!n) return n.status();
                b.name = *n;
            } else if (key == "endpoint") {
                auto n = text(false);
                if (!n) return n.status();
                if (!parse_url(*n).ok())
                    return bad(prefix + "'endpoint' " + quoted(*n) +
                               " is not an http:// or https:// URL" + where);
                b.endpoint = *n;
            } else if (key == "region") {
                auto n = text(false);
                if (!n) return n.status();
                b.region = *n;
            } else if (key == "path_style" || key == "anonymous" || key == "immutable") {
                auto f = flag_value();
                if (!f) return f.status();
                if (key == "path_style") b.path_style = *f;
                if (key == "anonymous") b.anonymous = *f;
                if (key == "immutable") b.immutable = *f;
            } else if (key == "access_key_id" || key == "secret_access_key" ||
                       key == "session_token") {
                auto n = text(true);
                if (!n) return n.status();
                (key == "access_key_id"       ? b.access_key_id
                 : key == "secret_access_key" ? b.secret_access_key
                                              : b.session_token) = *n;
            } else {
                return bad(prefix + "unknown key " + quoted(key) + where +
                           " (use name, endpoint, region, path_style, access_key_id, "
                           "secret_access_key, session_token, anonymous, immutable)");
            }
        }
        if (b.name.empty()) return bad(prefix + "a bucket needs a 'name'" + where);
        if (b.access_key_id.has_value() != b.secret_access_key.has_value())
            return bad(prefix + "bucket '" + b.name +
                       "' needs both access_key_id and secret_access_key" + where);
        if (b.anonymous && b.access_key_id)
            return bad(prefix + "bucket '" + b.name + "' has keys and anonymous = true" + where);
        for (const auto& other : c.buckets)
            if (other.name == b.name)
                return bad(prefix + "bucket '" + b.name + "' is listed twice" + where);
        c.buckets.push_back(std::move(b));
    }
    return {};
}

// [[clients]]: an array of tables, each a ClientConfig. Messages name fields and lines, never a
// secret (nor a whole key id: it is half of a credential).
Status apply_clients(const toml::node& node, const std::string& prefix, int line, Config& c) {
    const toml::array* list = node.as_array();
    if (list == nullptr)
        return bad(prefix + "'clients' must be an array of tables ([[clients]]) at line " +
                   std::to_string(line));
    for (const auto& item : *list) {
        const toml::table* t = item.as_table();
        int at = static_cast<int>(item.source().begin.line);
        std::string where = " in [[clients]] at line " + std::to_string(at);
        if (t == nullptr) return bad(prefix + "each client must be a table" + where);
        ClientConfig client;
        client.line = at;
        bool have_id = false, have_secret = false;
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
        for (auto&& kv : *t) {
            const auto& k = kv.first;
            auto& v = kv.second;
            std::string key(k.str());
            if (key == "access_key_id" || key == "secret_access_key") {
                auto s = v.as_string();
                if (!s) return bad(prefix + "'" + key + "' must be a string" + where);
                auto text = parse_secret(s->get());
                if (!text) return bad(prefix + "'" + key + "': " + text.status().message() + where);
                if (key == "access_key_id") {
                    // The id is the first field of a SigV4 credential scope: no '/' in it.
                    if (text->find('/') != std::string::npos || text->size() > 128)
                        return bad(prefix +
                                   "'access_key_id' must not contain '/' and is at most 128 "
                                   "characters" +
                                   where);
                    client.access_key_id = std::move(text).value();
                    have_id = true;
                } else {
                    client.secret_access_key = std::move(text).value();
                    have_secret = true;
                }
            } else if (key == "buckets") {
                const toml::array* names = v.as_array();
                if (names == nullptr)
                    return bad(prefix + "'buckets' must be an array of bucket names" + where);
                for (const auto& n : *names) {
                    auto s = n.as_string();
                    if (!s || s->get().empty())
                        return bad(prefix + "'buckets' must hold non-empty strings" + where);
                    client.buckets.push_back(s->get());
                }
                if (client.buckets.empty())
                    return bad(prefix +
                               "'buckets' is empty (leave it out to allow every served bucket)" +
                               where);
            } else {
                return bad(prefix + "unknown key " + quoted(key) + where +
                           " (use access_key_id, secret_access_key, buckets)");
            }
        }
        if (!have_id || !have_secret)
            return bad(prefix + "a client needs both access_key_id and secret_access_key" + where);
        for (const auto& other : c.clients)
            if (other.access_key_id == client.access_key_id)
                return bad(prefix + "the access_key_id" + where +
                           " is already given to the client at line " + std::to_string(other.line));
        c.clients.push_back(std::move(client));
    }
    return {};
}

// allow_clients = ["10.0.0.0/8", "::1"]: the list form of the comma-separated text; nullopt when
// the array holds anything but strings.
std::optional<std::string> joined_strings(const toml::node& node) {
    const toml::array* list = node.as_array();
    if (list == nullptr) return std::nullopt;
    std::string joined;
    for (const auto& item : *list) {
        auto s = item.as_string();
        if (!s) return std::nullopt;
        if (!joined.empty()) joined += ',';
        joined += s->get();
    }
    return joined;
}

}  // namespace

Status apply_toml_file(const std::string& path, Config& c, std::vector<bool>& provided) {
    std::string prefix = "config file " + path + ": ";
    auto read = read_whole_file(path, 16 * MiB);
    if (!read) return bad(prefix + "cannot read it (" + read.status().message() + ")");
    if (!read->has_value()) return bad(prefix + "cannot open: " + std::strerror(ENOENT));
    return apply_toml_text(**read, path, c, provided);
}

Status apply_toml_text(std::string_view text, const std::string& path, Config& c,
                       std::vector<bool>& provided) {
    std::string prefix = "config file " + path + ": ";
    toml::table table;
    try {
        table = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return bad(prefix + std::string(e.description()) + " at line " +
                   std::to_string(where.line) + ", column " + std::to_string(where.column));
    }
    // Keys are applied in file order so the first bad line is the one reported.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [k, v] : table)
        entries.emplace_back(&k, &v);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return a.first->source().begin.line < b.first->source().begin.line;
    });
    for (const auto& [key, node] : entries) {
        std::string line = std::to_string(key->source().begin.line);
        if (key->str() == "buckets") {
            Status st = apply_buckets(*node, prefix, static_cast<int>(key->source().begin.line), c);
            if (!st) return st;
            continue;
        }
        if (key->str() == "clients") {
            Status st = apply_clients(*node, prefix, static_cast<int>(key->source().begin.line), c);
            if (!st) return st;
            continue;
        }
        const OptionDescriptor* o = find_option_by_toml_key(key->str());
        if (!o) return bad(prefix + "unknown key " + quoted(key->str()) + " at line " + line);
        auto value = toml_value_text(o->kind, *node);
        if (!value && o->name == "allow-clients") value = joined_strings(*node);
        if (!value)
            return bad(prefix + option_flag(*o) + " expects " + toml_expectation(o->kind) +
                       ", got " + toml_type_name(node->type()) + " at line " + line);
        Status st = o->set(c, *value);
        if (!st)
            return bad(prefix + "invalid value for " + option_flag(*o) + " at line " + line + ": " +
                       st.message());
        provided[option_index(*o)] = true;
    }
    return {};
}

}  // namespace xs3::config
