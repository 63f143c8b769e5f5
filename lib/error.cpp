#include "ovnet/error.hpp"

#include <cstring>
#include <fmt/format.h>

namespace ovnet {

// Every message is one printable line, whatever names or values went into it: control
// characters are escaped and a runaway message is cut (values are already cut to 64 bytes by
// shown_text; this bounds what callers format themselves).
Error::Error(ErrorKind kind, std::string message, int err, std::string extack, std::string object,
             std::string field)
    : std::runtime_error(shown_text(message, 1024)), kind_(kind), err_(err), extack_(std::move(extack)),
      object_(std::move(object)), field_(std::move(field)) {}

namespace {
// The length of the UTF-8 character at s[i], 0 when the bytes there are not one (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_len(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; k++)
        if ((b(k) & 0xc0) != 0x80) return 0;
    if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f) || (c == 0xf0 && b(1) < 0x90) ||
        (c == 0xf4 && b(1) > 0x8f))
        return 0;
    return n;
}
}  // namespace

std::string shown_text(std::string_view s) { return shown_text(s, 64); }

std::string shown_text(std::string_view s, size_t kMax) {
    const size_t kCut = kMax > 3 ? kMax - 3 : 0;
    std::string out;
    size_t cut = 0;   // the longest escaped prefix, ending between two characters, that fits kCut
    size_t i = 0;
    while (i < s.size() && out.size() <= kMax) {
        if (out.size() <= kCut) cut = out.size();
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n = utf8_len(s, i);
        unsigned cp = n == 2 ? (unsigned(c & 0x1f) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3f) : c;
        if (n == 0) {
            out += fmt::format("\\x{:02x}", c);
            n = 1;
        } else if (n == 1 && c < 0x20) {
            switch (c) {
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: out += fmt::format("\\u{:04x}", c);
            }
        } else if (n <= 2 && cp >= 0x7f && cp <= 0x9f) {
            out += fmt::format("\\u{:04x}", cp);   // DEL and the C1 controls (0x9b is a terminal's CSI)
        } else {
            out.append(s.data() + i, n);
        }
        i += n;
    }
    if (i == s.size() && out.size() <= kMax) return out;
    if (out.size() <= kCut) cut = out.size();
    out.resize(cut);
    out += "...";
    return out;
}

void throw_input(const std::string& object, const std::string& field, const std::string& value,
                 const std::string& why) {
    std::string msg;
    if (!object.empty()) msg = object + ": ";
    msg += fmt::format("{} \"{}\": {}", shown_text(field), shown_text(value), why);
    throw Error(ErrorKind::Input, msg, 0, {}, object, field);
}

void throw_input(const std::string& message) { throw Error(ErrorKind::Input, message); }

void throw_sys(int err, const std::string& what, const std::string& extack, const std::string& object) {
    std::string msg;
    if (!object.empty()) msg = object + ": ";
    msg += what + ": " + std::strerror(err);
    if (!extack.empty()) msg += " (kernel: " + extack + ")";
    throw Error(ErrorKind::Runtime, msg, err, extack, object);
}

}  // namespace ovnet
