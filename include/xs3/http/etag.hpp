// Entity tags (RFC 9110 8.8.3): parsing one tag or a list of them as If-Match / If-None-Match
// carry it, and the strong and weak comparisons (8.8.3.2).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace xs3::http {

struct EntityTag {
    bool weak = false;
    std::string_view opaque;  // between the quotes, which are not included
};

// `"xyz"` or `W/"xyz"`. A bare token without quotes (`xyz`) is accepted as the strong tag
// `"xyz"`: some S3 clients send ETags unquoted. Anything else is nullopt. The result points into
// `s`.
std::optional<EntityTag> parse_entity_tag(std::string_view s) noexcept;

// Both strong and the opaque parts equal.
bool strong_match(const EntityTag& a, const EntityTag& b) noexcept;
// The opaque parts equal, weakness ignored.
bool weak_match(const EntityTag& a, const EntityTag& b) noexcept;

struct EntityTagList {
    bool any = false;  // `*` was listed
    std::vector<EntityTag> tags;
    bool malformed = false;  // something was neither `*` nor a tag; it was skipped
};

// A comma-separated list with OWS and empty elements (RFC 9110 5.6.1). Commas inside quotes are
// part of the tag. Appends to `out`, so several field lines make one list.
void parse_entity_tag_list(std::string_view s, EntityTagList& out);

}  // namespace xs3::http
