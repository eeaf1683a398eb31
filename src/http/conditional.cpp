// evaluate_conditionals: RFC 9110 13.1 conditions in the 13.2.2 order.
#include "xs3/http/conditional.hpp"

#include "xs3/http/date.hpp"
#include "xs3/http/etag.hpp"

namespace xs3::http {
namespace {

// Every field line called `name`, as one list. nullopt when there is none.
std::optional<EntityTagList> tag_list(const Headers& headers, std::string_view name) {
    std::optional<EntityTagList> list;
    for (const auto& f : headers) {
        if (!iequals(f.name, name)) continue;
        if (!list) list.emplace();
        parse_entity_tag_list(f.value, *list);
    }
    return list;
}

// The field's date if there is exactly one field line and it is a valid HTTP-date.
std::optional<time_t> single_date(const Headers& headers, std::string_view name) {
    if (headers.count(name) != 1) return std::nullopt;
    return parse_http_date(*headers.get(name));
}

std::optional<EntityTag> object_tag(const Validators& object) {
    if (object.etag.empty()) return std::nullopt;
    return parse_entity_tag(object.etag);
}

// 13.1.1: true for `*`, or if any listed tag strongly matches.
bool if_match_holds(const EntityTagList& list, const std::optional<EntityTag>& current) {
    if (list.any) return true;
    if (!current) return false;
    for (const auto& t : list.tags)
        if (strong_match(t, *current)) return true;
    return false;
}

// 13.1.2: false for `*`, or if any listed tag weakly matches.
bool if_none_match_holds(const EntityTagList& list, const std::optional<EntityTag>& current) {
    if (list.any) return false;
    if (!current) return true;
    for (const auto& t : list.tags)
        if (weak_match(t, *current)) return false;
    return true;
}

// 13.1.5
bool if_range_holds(std::string_view value, const Validators& object,
                    const std::optional<EntityTag>& current) {
    value = trim_ows(value);
    if (!value.empty() && (value.front() == '"' || value.substr(0, 2) == "W/")) {
        auto tag = parse_entity_tag(value);
        return tag && current && strong_match(*tag, *current);
    }
    auto date = parse_http_date(value);
    if (date) return object.last_modified && *object.last_modified == *date;
    // Neither a date nor a quoted tag: an unquoted ETag, as for If-Match.
    auto tag = parse_entity_tag(value);
    return tag && current && strong_match(*tag, *current);
}

}  // namespace

ConditionalResult evaluate_conditionals(Method method, const Headers& headers,
                                        const Validators& object) {
    ConditionalResult r;
    bool get_or_head = method == Method::get || method == Method::head;
    auto current = object_tag(object);

    // Step 1 and 2: the "lost update" preconditions.
    if (auto list = tag_list(headers, "if-match")) {
        if (!if_match_holds(*list, current)) {
            r.outcome = Precondition::precondition_failed;
            return r;
        }
    } else if (auto since = single_date(headers, "if-unmodified-since")) {
        if (object.last_modified && *object.last_modified > *since) {
            r.outcome = Precondition::precondition_failed;
            return r;
        }
    }

    // Step 3 and 4: cache validation.
    if (auto list = tag_list(headers, "if-none-match")) {
        if (!if_none_match_holds(*list, current)) {
            r.outcome =
                get_or_head ? Precondition::not_modified : Precondition::precondition_failed;
            return r;
        }
    } else if (get_or_head) {
        if (auto since = single_date(headers, "if-modified-since")) {
            if (object.last_modified && *object.last_modified <= *since) {
                r.outcome = Precondition::not_modified;
                return r;
            }
        }
    }

    // Step 5: does the Range still apply?
    if (get_or_head && headers.has("range")) {
        size_t n = headers.count("if-range");
        if (n == 0)
            r.range_applies = true;
        else
            r.range_applies = n == 1 && if_range_holds(*headers.get("if-range"), object, current);
    }
    return r;
}

}  // namespace xs3::http
