// AWS credentials as the signer consumes them, the environment-variable source, and a redacted
// form for logs. The rest of the provider chain (profiles, STS, IMDS, ...) builds on these types.
#pragma once

#include <chrono>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "xs3/base/status.hpp"

namespace xs3::s3 {

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // empty for long-term keys
    // Set for temporary credentials; a provider refreshes before this instant.
    std::optional<std::chrono::system_clock::time_point> expiration;

    // Anonymous means "send requests unsigned" (public buckets).
    bool anonymous() const { return access_key_id.empty() && secret_access_key.empty(); }
};

using GetenvFn = std::function<const char*(const char*)>;

// The variable's value, or nullptr when it is unset or empty (empty counts as unset, as in the
// AWS SDKs).
inline const char* getenv_nonempty(const GetenvFn& getenv_fn, const char* name) {
    const char* v = getenv_fn(name);
    return (v != nullptr && *v != '\0') ? v : nullptr;
}

// Key ids, secrets and tokens are printable ASCII without spaces, wherever they come from (the
// config file, the environment, a profile): whitespace or a control byte is a copy-paste
// accident (a trailing newline from a mounted file, say) that would only show up later as
// SignatureDoesNotMatch. The message names `name`, never the value.
Status check_credential_text(std::string_view name, std::string_view value);

// Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (AWS_SECURITY_TOKEN as the
// legacy fallback) and AWS_CREDENTIAL_EXPIRATION (ISO 8601) through getenv_fn, which tests replace.
// Empty variables count as unset, as in the AWS SDKs.
//   nullopt         neither key id nor secret is set (try the next provider)
//   Credentials     both are set
//   invalid_argument one without the other, naming the missing variable, a value with whitespace
//                    or control bytes (check_credential_text), or a bad expiration
// No message ever contains the secret or the token.
Result<std::optional<Credentials>> credentials_from_env(const GetenvFn& getenv_fn);

// Parses the ISO 8601 UTC forms AWS services return for credential expiry:
// "2015-08-30T12:36:00Z", with optional fractional seconds, and "+HH:MM"/"-HH:MM" offsets.
// Instants before 1970 read as 1970-01-01T00:00:00Z (long expired) and after 2200 as
// 2200-01-01T00:00:00Z (never, in practice): every result fits std::chrono's clocks with room
// for the arithmetic refresh scheduling does on it.
inline constexpr std::time_t kEarliestIso8601 = 0;
inline constexpr std::time_t kLatestIso8601 = 7258118400;  // 2200-01-01T00:00:00Z
Result<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

// "2015-08-30T12:36:00Z".
std::string format_iso8601(std::chrono::system_clock::time_point t);

// A log-safe description: the key id's first and last four characters (none of an id shorter
// than 16), whether there is a token, and the expiry, e.g.
// "access_key_id=ASIA...MPLE session_token=yes expiration=2015-08-30T12:36:00Z" or "anonymous".
// Never the secret or the token.
std::string redact(const Credentials& credentials);

}  // namespace xs3::s3
