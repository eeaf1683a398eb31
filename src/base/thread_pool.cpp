// ThreadPool implementation.
#include "xs3/base/thread_pool.hpp"

#include <pthread.h>

namespace xs3 {

ThreadPool::ThreadPool(unsigned threads, const char* name) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { loop(); });
        pthread_setname_np(threads_.back().native_handle(), name);
    }
}

ThreadPool::~ThreadPool() {
    shutdown();
}

void ThreadPool::shutdown() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    std::lock_guard lk(mu_);
    jobs_.clear();
}

void ThreadPool::submit(std::function<void()> job) {
    {
        std::lock_guard lk(mu_);
        jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
}

size_t ThreadPool::queued() const {
    std::lock_guard lk(mu_);
    return jobs_.size();
}

void ThreadPool::loop() {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping and drained
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lk.unlock();
        job();
        lk.lock();
    }
}

}  // namespace xs3
