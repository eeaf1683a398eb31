// PipePool: reusable pipes for splice (file -> pipe -> socket). A pipe handed back must be empty;
// one that may still hold bytes (a splice chain failed half way) is closed instead of reused.
#pragma once

#include <vector>

#include "xs3/base/status.hpp"

namespace xs3::ring {

struct Pipe {
    int read_fd = -1;
    int write_fd = -1;
    unsigned capacity = 0;
    bool valid() const noexcept { return read_fd >= 0; }
};

class PipePool {
  public:
    // `pipe_size` is asked for with F_SETPIPE_SZ; the kernel may grant less (capacity says).
    explicit PipePool(unsigned pipe_size, size_t max_idle = 64)
        : pipe_size_(pipe_size), max_idle_(max_idle) {}
    ~PipePool();
    PipePool(const PipePool&) = delete;
    PipePool& operator=(const PipePool&) = delete;

    Result<Pipe> acquire();
    // `empty` must be true only if every byte written into the pipe was read out.
    void release(Pipe pipe, bool empty);
    size_t idle() const noexcept { return idle_.size(); }

  private:
    unsigned pipe_size_;
    size_t max_idle_;
    std::vector<Pipe> idle_;
};

}  // namespace xs3::ring
