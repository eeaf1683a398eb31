// Command line and TOML parsing for s3emu.
#include "config.hpp"

#include <toml++/toml.h>
#include <fstream>
#include <sstream>

#include "xs3/base/units.hpp"

namespace xs3::s3emu {

namespace {

Result<uint64_t> parse_uint(std::string_view s) {
    auto v = parse_size(s);  // plain integers, and units where they make sense
    if (!v) return Status(Code::invalid_argument, "not a number: " + std::string(s));
    return *v;
}

Status set_option(EmuConfig& c, std::string_view key, std::string_view v) {
    auto dur = [&](std::chrono::microseconds& out) -> Status {
        auto d = parse_duration(v);
        if (!d) return d.status();
        out = std::chrono::duration_cast<std::chrono::microseconds>(*d);
        return {};
    };
    auto num = [&](uint64_t& out) -> Status {
        auto n = parse_uint(v);
        if (!n) return n.status();
        out = *n;
        return {};
    };
    if (key == "bind") {
        c.server.bind = std::string(v);
    } else if (key == "port") {
        uint64_t p;
        if (Status s = num(p); !s.ok()) return s;
        if (p > 65535) return Status(Code::invalid_argument, "port out of range");
        c.server.port = static_cast<uint16_t>(p);
    } else if (key == "threads") {
        uint64_t t;
        if (Status s = num(t); !s.ok()) return s;
        c.server.threads = static_cast<unsigned>(t ? t : 1);
    } else if (key == "bucket") {
        c.handler.buckets.push_back(std::string(v));
    } else if (key == "object") {
        auto specs = parse_object_spec(v);
        if (!specs) return specs.status();
        for (auto& s : *specs)
            c.objects.push_back(std::move(s));
    } else if (key == "fault") {
        auto r = parse_fault_rule(v);
        if (!r) return r.status();
        c.faults.push_back(std::move(*r));
    } else if (key == "quirk" || key == "quirks") {
        return enable_quirk(c.handler.quirks, v);
    } else if (key == "seed") {
        return num(c.server.seed);
    } else if (key == "latency") {
        return dur(c.server.latency);
    } else if (key == "jitter") {
        return dur(c.server.jitter);
    } else if (key == "conn-bandwidth" || key == "conn_bandwidth") {
        return num(c.server.conn_bandwidth);
    } else if (key == "total-bandwidth" || key == "total_bandwidth") {
        return num(c.server.total_bandwidth);
    } else if (key == "max-connections" || key == "max_connections") {
        return num(c.server.max_connections);
    } else if (key == "send-buffer" || key == "send_buffer") {
        uint64_t b;
        if (Status s = num(b); !s.ok()) return s;
        if (b < 4096) return Status(Code::invalid_argument, "send buffer must be at least 4KiB");
        c.server.send_buffer = static_cast<size_t>(b);
    } else if (key == "port-file" || key == "port_file") {
        c.port_file = std::string(v);
    } else if (key == "log-level" || key == "log_level") {
        c.log_level = std::string(v);
    } else {
        return Status(Code::invalid_argument, "unknown option " + std::string(key));
    }
    return {};
}

std::string node_text(const toml::node& n) {
    if (auto s = n.as_string()) return s->get();
    if (auto i = n.as_integer()) return std::to_string(i->get());
    if (auto b = n.as_boolean()) return b->get() ? "yes" : "no";
    if (auto f = n.as_floating_point()) {
        std::ostringstream o;
        o << f->get();
        return o.str();
    }
    return {};
}

// A TOML table as "k=v,k=v" for the CLI spec parsers.
std::string table_spec(const toml::table& t, std::string_view skip = {}) {
    std::string out;
    for (auto& [k, v] : t) {
        if (k.str() == skip) continue;
        if (!out.empty()) out += ',';
        out += std::string(k.str()) + "=" + node_text(v);
    }
    return out;
}

}  // namespace

std::string usage_text() {
    return R"(s3emu: an S3-compatible origin for benchmarks and fault injection (GET/HEAD only)

usage: s3emu [options]
  --config FILE            TOML file with the same settings (the command line wins)
  --bind ADDR              listen address (127.0.0.1)
  --port N                 listen port (9000; 0 picks a free one, see --port-file)
  --port-file FILE         write the bound port here once listening
  --threads N              worker threads, each with its own io_uring and listener (1)
  --bucket NAME            a bucket to answer for (repeatable; default "bench"); every bucket
                           serves the same objects, path-style or virtual-host (Host: NAME.x)
  --object SPEC            name=K,size=N[,seed=S][,sha224=yes][,content_type=T][,count=N]
                           (repeatable; count=N makes K-0..K-{N-1}, or fills "{i}" in the name)
  --fault SPEC             TYPE[:object=K][,method=GET|HEAD][,rate=P][,request=N|after=N]
                           [,count=N][,offset=O][,seconds=D]; TYPE is 503, 500, reset, short,
                           stall or etag-change (repeatable); offset= aims a body fault at that
                           byte, and a status fault at the GET asking for it
  --quirk NAME             answer like an S3-compatible store that differs from AWS
                           (repeatable): range-ignored (200 whole object to a ranged GET),
                           empty-range-206 (an empty object's ranged GET: 206 bytes 0-0/0),
                           empty-range-200 (... 200, no Content-Range), bare-416 (no
                           ActualObjectSize, no Content-Range), weak-etag (W/"..."; If-Match
                           never matches), no-etag, if-match-ignored
  --seed N                 seed for fault rates and latency jitter (1)
  --latency D              first-byte latency of every S3 reply (0; "20ms")
  --jitter D               plus a uniform random [0, D) (0)
  --conn-bandwidth B       bytes/s per connection ("100MB"; 0 = unlimited)
  --total-bandwidth B      bytes/s over all connections (0 = unlimited)
  --max-connections N      connections beyond N get 503 SlowDown and are closed (0 = unlimited)
  --send-buffer B          per-connection send buffer (256KiB)
  --sha224-sync            hash every sha224=yes object before listening (default: in a
                           background thread; a request needing a digest waits for it)
  --log-level L            debug, info, warn, error (info)
Endpoints besides S3: GET /__stats (JSON counters), POST /__stats/reset.
)";
}

Status apply_toml(std::string_view text, std::string_view origin, EmuConfig& c) {
    toml::table doc;
    try {
        doc = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        std::ostringstream o;
        o << e;
        return Status(Code::invalid_argument, o.str());
    }
    for (auto& [k, v] : doc) {
        std::string key(k.str());
        if (key == "object" || key == "objects") {
            auto* arr = v.as_array();
            if (!arr)
                return Status(Code::invalid_argument, "[[object]] must be an array of tables");
            for (auto& el : *arr) {
                auto* t = el.as_table();
                if (!t) return Status(Code::invalid_argument, "[[object]] entries must be tables");
                if (Status s = set_option(c, "object", table_spec(*t)); !s.ok()) return s;
            }
        } else if (key == "fault" || key == "faults") {
            auto* arr = v.as_array();
            if (!arr) return Status(Code::invalid_argument, "faults must be an array");
            for (auto& el : *arr) {
                std::string spec;
                if (auto* s = el.as_string()) {
                    spec = s->get();
                } else if (auto* t = el.as_table()) {
                    auto* type = t->get("type");
                    if (!type) return Status(Code::invalid_argument, "[[fault]] needs type=");
                    spec = node_text(*type) + ":" + table_spec(*t, "type");
                } else {
                    return Status(Code::invalid_argument, "bad fault entry");
                }
                if (Status s = set_option(c, "fault", spec); !s.ok()) return s;
            }
        } else if (key == "buckets" || key == "bucket") {
            if (auto* arr = v.as_array()) {
                for (auto& el : *arr)
                    if (Status s = set_option(c, "bucket", node_text(el)); !s.ok()) return s;
            } else if (Status s = set_option(c, "bucket", node_text(v)); !s.ok()) {
                return s;
            }
        } else if (key == "sha224_sync") {
            c.sha224_sync = v.as_boolean() && v.as_boolean()->get();
        } else if (Status s = set_option(c, key, node_text(v)); !s.ok()) {
            return Status(Code::invalid_argument, std::string(origin) + ": " + s.message());
        }
    }
    return {};
}

Status parse_command_line(int argc, char** argv, EmuConfig& c) {
    c.handler.buckets.clear();
    std::vector<std::pair<std::string, std::string>> opts;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            c.help = true;
            return {};
        }
        if (a == "--sha224-sync") {
            c.sha224_sync = true;
            continue;
        }
        if (a.rfind("--", 0) != 0)
            return Status(Code::invalid_argument, "unexpected argument " + a);
        std::string key = a.substr(2), val;
        size_t eq = key.find('=');
        if (eq != std::string::npos) {
            val = key.substr(eq + 1);
            key.resize(eq);
        } else {
            if (i + 1 >= argc) return Status(Code::invalid_argument, a + " needs a value");
            val = argv[++i];
        }
        opts.emplace_back(key, val);
    }
    for (auto& [k, v] : opts) {
        if (k != "config") continue;
        std::ifstream f(v);
        if (!f) return Status(Code::invalid_argument, "cannot read config file " + v);
        std::stringstream ss;
        ss << f.rdbuf();
        if (Status s = apply_toml(ss.str(), v, c); !s.ok()) return s;
    }
    for (auto& [k, v] : opts) {
        if (k == "config") continue;
        if (Status s = set_option(c, k, v); !s.ok())
            return Status(s.code(), "--" + k + ": " + s.message());
    }
    if (c.handler.buckets.empty()) c.handler.buckets.push_back("bench");
    return {};
}

}  // namespace xs3::s3emu
