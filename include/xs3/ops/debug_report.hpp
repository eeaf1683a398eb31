// The admin listener's /debug documents, rendered from the proxy's read-only views:
//
// GET /debug/downloads
//   {"downloads":[{"id":7,"name":"bucket/key","state":"running","size":1073741824,
//     "age_ms":1234,"readers":2,"waiting_readers":1,"bytes_fetched":..,"retries":1,
//     "bytes_written":..,"chunks":[{"index":0,"offset":0,"length":8388608,"written":8388608},
//     ...]}, ...]}
//   size is null while unknown (the first answer is still out); chunks is empty until then.
//
// GET /debug/connections
//   {"total":3,"complete":true,"h2_streams":1,"by_state":{"h1.idle":1,"h1.sending":1,
//    "h2.open":1},"per_worker":[2,1]}
//   per_worker holds null for a worker that did not answer in time (complete false).
#pragma once

#include <string>
#include <vector>

#include "xs3/fetch/download.hpp"
#include "xs3/proxy/debug_view.hpp"

namespace xs3::ops {

std::string downloads_json(const std::vector<fetch::DownloadView>& downloads);
std::string connections_json(const proxy::ConnectionCounts& counts);

}  // namespace xs3::ops
