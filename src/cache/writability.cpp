// Writability: off on a failed cache write, back on after a successful probe.
#include "xs3/cache/writability.hpp"

#include "xs3/base/log.hpp"

namespace xs3::cache {

void Writability::failed(const Status& why) {
    if (why.code() != Code::access_denied && why.code() != Code::no_space &&
        why.code() != Code::not_found && why.code() != Code::io_error)
        return;
    unusable(why);
}

void Writability::unusable(const Status& why) {
    if (!writable_.exchange(false)) return;  // probing already
    XS3_LOG_WARN("cache cannot be written; serving passthrough until it recovers",
                 kv("error", why.to_string()));
    pool_.submit([this] {
        for (;;) {
            {
                std::unique_lock lk(mu_);
                if (cv_.wait_for(lk, probe_every_, [this] { return stopping_; })) return;
            }
            if (store_.check_writable().ok()) {
                writable_.store(true);
                XS3_LOG_INFO("cache is writable again");
                return;
            }
        }
    });
}

void Writability::stop() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
}

}  // namespace xs3::cache
