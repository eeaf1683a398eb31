// Read-only views of the proxy's live state for the admin listener's /debug routes (ops renders
// them as JSON): the connections of every worker, counted by protocol and state, and the
// downloads in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "xs3/fetch/download.hpp"

namespace xs3::proxy {

struct SharedState;

struct ConnectionCounts {
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_state;  // "h1.idle", "h1.sending", "h2.open", ...
    uint64_t h2_streams = 0;                   // streams open on HTTP/2 connections
    std::vector<uint64_t> per_worker;          // connections on each worker (-1: no answer)
    bool complete = true;  // every worker answered in time (else its count is missing)
};

// Asks every worker, on its own ring, to count its connections; waits at most `timeout` for the
// answers. From any thread but a worker's.
ConnectionCounts count_connections(SharedState& shared, std::chrono::milliseconds timeout);

// A view of every download in flight, oldest first.
std::vector<fetch::DownloadView> download_views(const SharedState& shared);

}  // namespace xs3::proxy
