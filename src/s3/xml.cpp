// The small XML reader: element lookup and text decoding, no allocation beyond the decoded text.
#include "xs3/s3/xml.hpp"

#include <cstdint>

#include "xs3/base/utf8.hpp"

namespace xs3::s3 {
namespace {

bool is_name_end(char c) {
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Decodes one "&...;" reference at text[i]; on success appends it and returns the length consumed,
// else 0 (the '&' is then kept literally: tolerant, not validating).
size_t decode_reference(std::string_view text, size_t i, std::string& out) {
    const size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return 0;
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    if (name == "amp")
        out += '&';
    else if (name == "lt")
        out += '<';
    else if (name == "gt")
        out += '>';
    else if (name == "quot")
        out += '"';
    else if (name == "apos")
        out += '\'';
    else if (name.size() >= 2 && name[0] == '#') {
        const bool hex = name[1] == 'x' || name[1] == 'X';
        std::string_view digits = name.substr(hex ? 2 : 1);
        if (digits.empty()) return 0;
        uint32_t cp = 0;
        for (char c : digits) {
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return 0;
            cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
            if (cp > 0x10FFFF) return 0;
        }
        append_utf8(out, cp);
    } else {
        return 0;
    }
    return semi - i + 1;
}

}  // namespace

std::string xml_decode_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.substr(i, 9) == "<![CDATA[") {
            const size_t end = text.find("]]>", i + 9);
            const size_t stop = end == std::string_view::npos ? text.size() : end;
            out += text.substr(i + 9, stop - i - 9);
            i = end == std::string_view::npos ? text.size() : end + 3;
        } else if (text[i] == '&') {
            const size_t n = decode_reference(text, i, out);
            if (n == 0) {
                out += '&';
                ++i;
            } else {
                i += n;
            }
        } else {
            out += text[i++];
        }
    }
    return out;
}

std::optional<std::string_view> xml_element(std::string_view doc, std::string_view name) {
    size_t pos = 0;
    while ((pos = doc.find('<', pos)) != std::string_view::npos) {
        const size_t name_at = pos + 1;
        if (doc.substr(name_at, name.size()) == name && name_at + name.size() < doc.size() &&
            is_name_end(doc[name_at + name.size()])) {
            const size_t gt = doc.find('>', name_at + name.size());
            if (gt == std::string_view::npos) return std::nullopt;
            if (doc[gt - 1] == '/') return std::string_view();  // <name/> or <name a="x"/>
            const size_t start = gt + 1;
            const std::string close = "</" + std::string(name);
            size_t c = doc.find(close, start);
            while (c != std::string_view::npos && c + close.size() < doc.size() &&
                   !is_name_end(doc[c + close.size()]))
                c = doc.find(close, c + 1);
            // A truncated document: take what is there.
            const size_t end = c == std::string_view::npos ? doc.size() : c;
            return doc.substr(start, end - start);
        }
        pos = name_at;
    }
    return std::nullopt;
}

std::string xml_child_text(std::string_view doc, std::string_view name) {
    const std::optional<std::string_view> content = xml_element(doc, name);
    return content ? xml_decode_text(*content) : std::string();
}

}  // namespace xs3::s3
