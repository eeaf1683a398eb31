// Parsing of human-written sizes ("64KiB", "1GiB", "500GB", "4096") and durations ("30s", "250ms").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "xs3/base/status.hpp"

namespace xs3 {

inline constexpr uint64_t KiB = 1024;
inline constexpr uint64_t MiB = 1024 * KiB;
inline constexpr uint64_t GiB = 1024 * MiB;

// Accepts an unsigned integer with an optional unit: B, K/KB (1000), KiB (1024), M/MB, MiB, G/GB,
// GiB, T/TB, TiB, P/PB, PiB; case-insensitive, optional space between number and unit, a decimal
// fraction is allowed with a unit ("1.5GiB"). Overflow and junk are errors.
Result<uint64_t> parse_size(std::string_view text);

// Accepts "150", "150s", "250ms", "2m", "1h", "1.5s"; a bare number is seconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// 1536 -> "1.5KiB"; for messages.
std::string format_size(uint64_t bytes);

}  // namespace xs3
