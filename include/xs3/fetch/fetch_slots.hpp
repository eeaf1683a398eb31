// Where chunk fetches can run: each worker's ring and its curl client (used on that ring only).
// Workers add their slot once both exist and remove it before they go.
#pragma once

#include <mutex>
#include <optional>
#include <vector>

#include "xs3/ring/ring.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::fetch {

struct FetchSlot {
    ring::Ring* ring = nullptr;
    s3::CurlClient* curl = nullptr;
};

class FetchSlots {
  public:
    void add(FetchSlot slot);
    void remove(const ring::Ring* ring);
    std::vector<FetchSlot> all() const;
    // The next slot round robin (work with no requester, such as the admin warm-up), if any.
    std::optional<FetchSlot> next();

  private:
    mutable std::mutex mu_;
    std::vector<FetchSlot> slots_;
    size_t next_ = 0;
};

}  // namespace xs3::fetch
