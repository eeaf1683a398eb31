// H2ResetGuard: the rapid-reset (CVE-2023-44487) detector. It remembers, for the last `window`
// streams that closed on a connection, whether the client reset them before their response was
// complete, and trips when more than `max_resets` of them were. Counting streams rather than
// seconds keeps it free of clocks: a client that cancels now and then never trips it, one that
// opens and cancels streams as fast as it can trips it after max_resets + 1 of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xs3::http {

class H2ResetGuard {
  public:
    // window 0 is treated as 1.
    H2ResetGuard(uint32_t window, uint32_t max_resets);

    // Records one closed stream; true when the resets in the window now exceed the limit.
    bool record(bool reset_by_client) noexcept;
    uint32_t resets_in_window() const noexcept { return resets_; }

  private:
    std::vector<uint8_t> ring_;
    size_t next_ = 0;
    uint32_t resets_ = 0;
    uint32_t max_resets_;
};

}  // namespace xs3::http
