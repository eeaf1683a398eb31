// A tolerant reader for the small, flat XML documents AWS services answer with (S3 errors, STS
// responses): find an element by name, decode its text. Not a validating parser: any XML
// declaration, namespaces and attributes on elements, whitespace, entity and character
// references, CDATA and self-closing elements are accepted, and a truncated document yields what
// is there.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xs3::s3 {

// The raw content of the first <name ...>content</name> in `doc` ("" for <name/>), or nullopt
// when there is no such element. Names match exactly (no namespace prefixes).
std::optional<std::string_view> xml_element(std::string_view doc, std::string_view name);

// The decoded text of the first element named `name`, or "" when it is absent.
std::string xml_child_text(std::string_view doc, std::string_view name);

// Decodes entity and character references (&amp; &#233; &#x1F600;) and CDATA sections. An
// unknown or malformed reference is kept literally.
std::string xml_decode_text(std::string_view text);

}  // namespace xs3::s3
