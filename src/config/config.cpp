// The loader: the table's defaults, then the TOML file, the environment and the command line, in
// that order; then the checks of options against each other. And --help, from the same table.
#include "xs3/config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "xs3/base/units.hpp"
#include "xs3/config/option_table.hpp"
#include "xs3/config/toml_file.hpp"
#include "xs3_build_config.h"

namespace xs3::config {
namespace {

Status bad(std::string message) {
    return Status(Code::invalid_argument, std::move(message));
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

std::string invalid_value(const OptionDescriptor& o, const Status& st) {
    return "invalid value for " + option_flag(o) + " (" + o.env + "): " + st.message();
}

unsigned online_cpus() {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1;
}

Status validate(Config& c, const std::vector<bool>& provided) {
    // Whether an option was set (flag, environment or file), not left at its default.
    auto given = [&](std::string_view name) {
        for (const auto& o : option_table())
            if (o.name == name) return static_cast<bool>(provided[option_index(o)]);
        return false;
    };
    for (const auto& o : option_table()) {
        // With a bucket list the bucket comes with each request (/<bucket>/<key>).
        if (o.name == "bucket" && !c.buckets.empty()) continue;
        if (o.required && !provided[option_index(o)])
            return bad(option_flag(o) + " is required (or set " + o.env + ")" +
                       (o.name == "bucket" ? ", unless the --config file lists [[buckets]]" : ""));
    }
    if (c.min_chunk_size > c.max_chunk_size)
        return bad("--min-chunk-size (" + format_size(c.min_chunk_size) +
                   ") must not exceed --max-chunk-size (" + format_size(c.max_chunk_size) + ")");
    if (c.gc_target_percent >= c.gc_watermark_percent)
        return bad("--gc-target-percent (" + std::to_string(c.gc_target_percent) +
                   ") must be below --gc-watermark-percent (" +
                   std::to_string(c.gc_watermark_percent) + ")");
    if (c.splice_size > c.pipe_size) {
        // The default splice (1MiB) fills a default pipe; with a smaller --pipe-size alone it
        // takes the pipe's size rather than refusing a value nobody gave.
        if (given("splice-size"))
            return bad("--splice-size (" + format_size(c.splice_size) +
                       ") must not exceed --pipe-size (" + format_size(c.pipe_size) + ")");
        c.splice_size = c.pipe_size;
    }
    if (c.h2_rapid_reset_limit >= c.h2_rapid_reset_window)
        return bad("--h2-rapid-reset-limit (" + std::to_string(c.h2_rapid_reset_limit) +
                   ") must be below --h2-rapid-reset-window (" +
                   std::to_string(c.h2_rapid_reset_window) + ")");
    // Client access control.
    for (const auto& client : c.clients)
        for (const auto& b : client.buckets) {
            bool served = b == c.bucket;
            for (const auto& sb : c.buckets)
                served = served || sb.name == b;
            if (!served)
                return bad("[[clients]] at line " + std::to_string(client.line) + ": bucket '" + b +
                           "' is not served (neither --bucket nor in [[buckets]])");
        }
    if (c.admin_token && c.admin_token_file)
        return bad("admin_token and --admin-token-file are both set; give one");
    if (c.admin_port != 0 && c.admin_port == c.port)
        return bad("--admin-port (" + std::to_string(c.admin_port) + ") must differ from --port");
    c.chunk_size = std::clamp(c.chunk_size, c.min_chunk_size, c.max_chunk_size);
    if (c.workers == 0) c.workers = online_cpus();
    // S3 credentials. Messages name keys, never their values.
    if (c.access_key_id.has_value() != c.secret_access_key.has_value())
        return bad(std::string(c.access_key_id ? "access_key_id" : "secret_access_key") +
                   " is set in the config file but " +
                   (c.access_key_id ? "secret_access_key" : "access_key_id") + " is not");
    if (c.session_token && !c.access_key_id)
        return bad(
            "session_token is set in the config file without access_key_id and "
            "secret_access_key");
    if (c.anonymous && c.access_key_id)
        return bad("--anonymous cannot be combined with access_key_id/secret_access_key");
    if ((c.s3_fips || c.s3_dualstack) && c.s3_endpoint_url)
        return bad(std::string(c.s3_fips ? "--s3-fips" : "--s3-dualstack") +
                   " selects an AWS endpoint and cannot be combined with --s3-endpoint-url");
    if (c.retry_base_delay > c.retry_max_delay)
        return bad("--retry-base-delay (" + std::to_string(c.retry_base_delay.count()) +
                   "ms) must not exceed --retry-max-delay (" +
                   std::to_string(c.retry_max_delay.count()) + "ms)");
    // Fleet: peer fill across cache nodes.
    if (c.peers && c.peers_dns) return bad("--peers and --peers-dns cannot both be set");
    if (c.fleet_token && c.fleet_token_file)
        return bad("fleet_token and --fleet-token-file cannot both be set");
    if (!c.peers && !c.peers_dns) {
        for (std::string_view n :
             {"peer-self", "peers-dns-interval", "peer-probe-interval", "peer-backoff",
              "peer-timeout", "peer-probe-timeout", "fleet-token", "fleet-token-file"})
            if (given(n))
                return bad(
                    (n == "fleet-token" ? std::string("fleet_token") : "--" + std::string(n)) +
                    " is set but no fleet is configured (--peers or --peers-dns)");
    } else if (c.port == 0) {
        return bad("a fleet (--peers/--peers-dns) needs a fixed --port, not 0");
    }
    if (c.peers_dns && !c.peer_self)
        return bad(
            "--peers-dns needs --peer-self (this node's address as the other members know it, "
            "e.g. the pod IP from the downward API)");
    if (given("peers-dns-interval") && !c.peers_dns)
        return bad("--peers-dns-interval is set but --peers-dns is not");
    if (c.max_upstream_connections_total != 0 && c.max_upstream_connections_total < c.workers)
        return bad("--max-upstream-connections-total (" +
                   std::to_string(c.max_upstream_connections_total) +
                   ") must be at least the number of workers (" + std::to_string(c.workers) +
                   ") or 0");
    return {};
}

struct CliValue {
    const OptionDescriptor* option;
    std::string text;
};

}  // namespace

Config default_config() {
    Config c;
    for (const auto& o : option_table()) {
        if (!o.default_value) continue;
        Status st = o.set(c, o.default_value);
        (void)st;  // the table's own defaults; the unit tests check that each one parses
    }
    return c;
}

Result<Config> load_config(int argc, const char* const* argv,
                           const std::function<const char*(const char*)>& getenv_fn) {
    // 1. Read the command line first: --help and syntax errors win over everything else.
    std::vector<CliValue> cli;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help" || arg == "-V" || arg == "--version") {
            Config c = default_config();
            c.action =
                (arg == "-h" || arg == "--help") ? Config::Action::help : Config::Action::version;
            return c;
        }
        if (arg.size() <= 2 || arg.substr(0, 2) != "--") {
            if (arg.size() > 1 && arg[0] == '-') return bad("unknown option " + std::string(arg));
            return bad("unexpected argument " + quoted(arg));
        }
        std::string_view body = arg.substr(2);
        size_t eq = body.find('=');
        std::string_view name = body.substr(0, eq);
        const OptionDescriptor* o = find_option(name);
        if (!o) return bad("unknown option --" + std::string(name));
        std::string text;
        if (eq != std::string_view::npos) {
            text = std::string(body.substr(eq + 1));
        } else if (o->kind == ValueKind::boolean) {
            text = "true";  // a bare boolean flag; "--direct-io false" is not accepted
        } else {
            // "--bucket --port 1" is a forgotten value, not a bucket named "--port".
            if (i + 1 >= argc || std::string_view(argv[i + 1]).substr(0, 2) == "--")
                return bad(option_flag(*o) + " needs a value");
            text = argv[++i];
        }
        cli.push_back({o, std::move(text)});
    }

    Config c = default_config();
    std::vector<bool> provided(option_table().size(), false);

    // 2. The file named by --config (last one wins) or XS3_CONFIG.
    std::optional<std::string> file;
    for (const auto& v : cli)
        if (v.option->name == "config") file = v.text;
    if (!file) {
        const char* env = getenv_fn("XS3_CONFIG");
        if (env && *env) file = env;
    }
    if (file) {
        if (file->empty())
            return bad("invalid value for --config (XS3_CONFIG): an empty value is not allowed");
        Status st = apply_toml_file(*file, c, provided);
        if (!st) return st;
    }

    // 3. The environment.
    for (const auto& o : option_table()) {
        if (o.file_only || o.env.empty()) continue;
        const char* v = getenv_fn(o.env.c_str());
        if (!v || !*v) continue;
        Status st = o.set(c, v);
        if (!st) return bad(invalid_value(o, st));
        provided[option_index(o)] = true;
    }

    // 4. The command line.
    for (const auto& v : cli) {
        Status st = v.option->set(c, v.text);
        if (!st) return bad(invalid_value(*v.option, st));
        provided[option_index(*v.option)] = true;
    }

    Status st = validate(c, provided);
    if (!st) return st;
    return c;
}

Result<Config> load_config_text(std::string_view toml_text, std::string_view name) {
    Config c = default_config();
    std::vector<bool> provided(option_table().size(), false);
    Status st = apply_toml_text(toml_text, std::string(name), c, provided);
    if (!st) return st;
    st = validate(c, provided);
    if (!st) return st;
    return c;
}

std::string version_text() {
    return std::string("xs3lerator ") + XS3_VERSION + "\nbuild: buildtype=" + XS3_BUILD_TYPE +
           " sanitize=" + XS3_BUILD_SANITIZE + "\n";
}

std::string help_text() {
    std::string out;
    out += "xs3lerator " XS3_VERSION " - an io_uring caching proxy in front of Amazon S3\n\n";
    out += "Usage: xs3lerator [OPTIONS]\n\n";
    out += "Each option can also be set by its environment variable or, under the name shown as\n";
    out += "[toml], in the file given by --config. Command line > environment > file > default.\n";
    out += "Sizes take B, KiB, MiB, GiB, TiB (1024) or KB, MB, GB, TB (1000); durations take\n";
    out += "ms, s, m, h (a bare number is seconds).\n\nOptions:\n";
    for (const auto& o : option_table()) {
        if (o.file_only) continue;
        out += "      --";
        out += o.name;
        if (o.kind == ValueKind::boolean) {
            out += "[=<BOOL>]";
        } else {
            out += ' ';
            out += o.value_name;
        }
        out += "\n          ";
        out += o.help;
        out += "\n          [env: ";
        out += o.env;
        out += ']';
        if (!o.toml_key.empty()) {
            out += " [toml: ";
            out += o.toml_key;
            out += ']';
        }
        if (o.default_value) {
            out += " [default: ";
            out += o.default_value;
            out += ']';
        } else if (o.required) {
            out += " [required]";
        }
        out += '\n';
    }
    out += "\nConfig-file-only options (secrets are never taken from the command line):\n";
    for (const auto& o : option_table()) {
        if (!o.file_only) continue;
        out += "      ";
        out += o.toml_key;
        out += " = ";
        out += o.value_name;
        out += "\n          ";
        out += o.help;
        out += '\n';
    }
    out +=
        "      [[clients]] access_key_id = <ID>, secret_access_key = <SECRET>, "
        "buckets = [<BUCKET>...]\n"
        "          Keys clients sign requests with (SigV4, as for S3); when any are given, "
        "unsigned\n          requests are refused (buckets: what the key may read; "
        "default: all)\n";
    out += "\n  -h, --help\n          Print this help\n";
    out += "  -V, --version\n          Print the version\n";
    return out;
}

}  // namespace xs3::config
