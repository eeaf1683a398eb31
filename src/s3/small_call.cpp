// SmallCall: a whole small answer from S3, then one callback.
#include "xs3/s3/small_call.hpp"

#include <algorithm>

namespace xs3::s3 {

SmallCall::~SmallCall() {
    if (active_) curl_.cancel(tid_);
}

void SmallCall::start(HttpRequest request, Done done) {
    done_ = std::move(done);
    active_ = true;
    tid_ = curl_.start(std::move(request), this);
}

size_t SmallCall::on_body(const char* data, size_t len) noexcept {
    if (body_.size() < 64 * 1024) body_.append(data, std::min(len, 64 * 1024 - body_.size()));
    return len;
}

void SmallCall::on_complete(const Status& status) noexcept {
    active_ = false;
    // The callback may destroy this call: take what it needs first.
    HttpResponseHead head = std::move(head_);
    std::string body = std::move(body_);
    Done done = std::move(done_);
    if (done) done(status, head, body);
}

}  // namespace xs3::s3
