// Client access control wired from the configuration: the [[clients]] verifier, the
// --allow-clients set, the admin bearer token, and the start-up warning for a proxy anyone on
// the network can use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/config/config.hpp"
#include "xs3/net/cidr.hpp"
#include "xs3/s3/sigv4_verify.hpp"

namespace xs3::app {

// nullptr without [[clients]]. `regions`: what a client's credential scope may name (the
// proxy's region and every served bucket's); the first is the one an error says to use.
std::shared_ptr<const s3::SigV4Verifier> client_verifier(const config::Config& cfg,
                                                         std::vector<std::string> regions);

// The parsed --allow-clients (empty when unset).
net::CidrSet allowed_clients(const config::Config& cfg);

// admin_token, or the first line of admin_token_file (which must exist and hold at least 16
// characters); "" when neither is set.
Result<std::string> admin_token(const config::Config& cfg);

// Logs the start-up warning when the proxy listens beyond loopback with neither [[clients]]
// nor --allow-clients, and says which checks are on otherwise. True when it warned.
bool log_client_access(const config::Config& cfg);

}  // namespace xs3::app
