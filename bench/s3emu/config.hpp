// EmuConfig: everything the emulator is told at start-up, from a TOML file (--config) and the
// command line (which wins). Start-up code: errors are Status, printed by main.
#pragma once

#include <string>
#include <vector>

#include "catalog.hpp"
#include "faults.hpp"
#include "handler.hpp"
#include "server.hpp"
#include "xs3/base/status.hpp"

namespace xs3::s3emu {

struct EmuConfig {
    ServerOptions server;
    HandlerOptions handler;
    std::vector<ObjectSpec> objects;
    std::vector<FaultRule> faults;
    std::string port_file;     // written with the bound port once listening
    bool sha224_sync = false;  // hash every sha224 object before listening
    std::string log_level = "info";
    bool help = false;
};

std::string usage_text();
// Parses argv (and the TOML file it names) into `out`.
Status parse_command_line(int argc, char** argv, EmuConfig& out);
// Applies a TOML document (file contents) to `out`; `origin` names it in errors.
Status apply_toml(std::string_view toml_text, std::string_view origin, EmuConfig& out);

}  // namespace xs3::s3emu
