// Parsing the JSON credential document of the container endpoints and IMDS.
#include "xs3/s3/credential_document.hpp"

#include "xs3/base/json_reader.hpp"

namespace xs3::s3 {
namespace {

Status bad(std::string_view source, const std::string& what) {
    return Status(Code::invalid_argument, std::string(source) + ": " + what);
}

// The string member `key`: nullptr when absent (or null); an error status when of another type.
Result<const std::string*> string_member(const JsonValue& doc, std::string_view key,
                                         std::string_view source) {
    const JsonValue* v = doc.find(key);
    if (v == nullptr || v->type() == JsonValue::Type::null) return nullptr;
    if (!v->is_string())
        return bad(source, std::string(key) + " is a " + std::string(json_type_name(v->type())) +
                               ", not a string");
    return &v->string();
}

Result<std::string> required(const JsonValue& doc, std::string_view key, std::string_view source) {
    auto v = string_member(doc, key, source);
    if (!v.ok()) return v.status();
    if (*v == nullptr) return bad(source, "the answer has no " + std::string(key));
    if ((*v)->empty()) return bad(source, std::string(key) + " is empty");
    return **v;
}

}  // namespace

Result<Credentials> parse_credential_document(std::string_view body, std::string_view source,
                                              std::chrono::system_clock::time_point now,
                                              CredentialDocumentRules rules) {
    auto parsed = parse_json(body);
    if (!parsed.ok()) return bad(source, parsed.status().message());
    const JsonValue& doc = *parsed;
    if (!doc.is_object()) return bad(source, "the answer is not a JSON object");

    auto code = string_member(doc, "Code", source);
    if (!code.ok()) return code.status();
    if (*code != nullptr && **code != "Success")
        return bad(source, "the answer's Code is \"" + (*code)->substr(0, 64) + "\", not Success");

    Credentials c;
    auto id = required(doc, "AccessKeyId", source);
    if (!id.ok()) return id.status();
    c.access_key_id = std::move(id).value();
    auto secret = required(doc, "SecretAccessKey", source);
    if (!secret.ok()) return secret.status();
    c.secret_access_key = std::move(secret).value();
    if (rules.require_token) {
        auto token = required(doc, "Token", source);
        if (!token.ok()) return token.status();
        c.session_token = std::move(token).value();
    } else {
        auto token = string_member(doc, "Token", source);
        if (!token.ok()) return token.status();
        if (*token != nullptr) c.session_token = **token;
    }
    auto expiration = string_member(doc, "Expiration", source);
    if (!expiration.ok()) return expiration.status();
    if (*expiration == nullptr || (*expiration)->empty()) {
        if (rules.require_expiration) return bad(source, "the answer has no Expiration");
        return c;
    }
    auto t = parse_iso8601(**expiration);
    if (!t.ok()) return bad(source, "Expiration: " + t.status().message());
    if (*t <= now)
        return bad(source, "the credentials expired at " + format_iso8601(*t) +
                               " (the clock here says " + format_iso8601(now) + ")");
    c.expiration = *t;
    return c;
}

std::string credential_error_summary(std::string_view body) {
    auto parsed = parse_json(body);
    if (!parsed.ok() || !parsed->is_object()) return {};
    auto text = [&](std::initializer_list<std::string_view> keys) -> std::string {
        for (std::string_view k : keys)
            if (const JsonValue* v = parsed->find(k); v != nullptr && v->is_string())
                return v->string();
        return {};
    };
    std::string code = text({"code", "Code"});
    std::string message = text({"message", "Message"});
    std::string out = code;
    if (!message.empty()) out += (out.empty() ? "" : ": ") + message;
    if (out.size() > 200) out.resize(200);
    return out;
}

}  // namespace xs3::s3
