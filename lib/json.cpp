#include "ovnet/json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <iterator>

#include "ovnet/error.hpp"
#include "ovnet/fd.hpp"
#include "ovnet/schema.hpp"

namespace ovnet {

std::string read_fd_all(int fd, const std::string& what) {
    // read(2) in large blocks straight into the string: unlike a streambuf, it tells a read error
    // (stdin a directory, a closed descriptor) from the end of input, and a read error must never
    // pass for an empty set. A regular file is sized first, so that its text is read into one
    // allocation instead of being copied at every doubling.
    std::string s;
    size_t want = 1 << 16;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        if (pos >= 0 && pos < st.st_size) want = std::max(want, size_t(st.st_size - pos) + 1);
    }
    size_t len = 0;
    for (;;) {
        if (len == s.size()) s.resize(std::max(want, s.size() * 2));
        ssize_t n = ::read(fd, s.data() + len, s.size() - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_sys(errno, what + ": cannot read");
        }
        if (n == 0) break;
        len += size_t(n);
    }
    s.resize(len);
    return s;
}

std::string read_path_all(const std::string& path) {
    if (path == "-") return read_fd_all(STDIN_FILENO, "stdin");
    Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.get() < 0) throw Error(ErrorKind::Input, path + ": cannot open: " + std::strerror(errno));
    return read_fd_all(f.get(), path);
}

std::string read_all(std::istream& in) {
    // std::cin is read from descriptor 0 itself (nothing reads it through the stream before).
    if (in.rdbuf() == std::cin.rdbuf()) return read_fd_all(STDIN_FILENO, "stdin");
    std::string s;
    auto* sb = in.rdbuf();
    size_t len = 0;
    for (;;) {
        if (len == s.size()) s.resize(std::max(size_t(1) << 16, s.size() * 2));
        std::streamsize n = sb->sgetn(s.data() + len, std::streamsize(s.size() - len));
        if (n <= 0) break;
        len += size_t(n);
    }
    s.resize(len);
    return s;
}

namespace {

// nlohmann's message without the token it quotes in full ("last read: '...'", "parsing '...'"),
// which is the whole rest of the input for an unterminated string: that part is cut to an excerpt.
std::string error_text(const std::exception& e) {
    std::string m = e.what();
    for (const char* lead : {"last read: '", "parsing '"}) {
        size_t b = m.find(lead);
        if (b == std::string::npos) continue;
        b += std::strlen(lead);
        size_t end = m.rfind("'; expected");
        if (end == std::string::npos || end < b) end = m.rfind('\'');
        if (end == std::string::npos || end < b) end = m.size();
        m.replace(b, end - b, shown_text(std::string_view(m).substr(b, end - b)));
        break;
    }
    if (m.size() > 512) m = m.substr(0, 509) + "...";   // nlohmann's own text is far shorter
    return m;
}

[[noreturn]] void throw_malformed(const std::string& what, size_t byte, const std::exception& e) {
    throw_input(fmt::format("{}: malformed JSON at byte {}: {}", what, byte, error_text(e)));
}

void check_syntax(std::string_view span, size_t off, const std::string& what);

}  // namespace

void for_each_json_span(std::istream& in, const std::string& what,
                        const std::function<void(std::string_view, size_t)>& fn) {
    for_each_json_span(std::string_view(read_all(in)), what, fn);
}

void for_each_json_span(std::string_view s, const std::string& what,
                        const std::function<void(std::string_view, size_t)>& fn) {
    size_t i = 0, n = s.size();
    auto ws = [&](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    while (true) {
        while (i < n && ws(s[i])) i++;
        if (i >= n) break;
        // Find the end of this top-level value: track nesting outside strings.
        size_t start = i;
        int depth = 0;
        bool in_str = false;
        size_t tok = 0;   // where the current string or number began
        auto too_long = [&](size_t at) {
            if (at - tok > kJsonMaxToken)
                throw_input(fmt::format("{}: a JSON string or number longer than {} bytes at byte {}", what,
                                        kJsonMaxToken, tok));
        };
        for (; i < n; i++) {
            char c = s[i];
            if (in_str) {
                if (c == '\\') i++;
                else if (c == '"') in_str = false, too_long(i - 1);
                if (in_str && ((i - tok) & 0xffff) == 0) too_long(i);   // an unterminated one: early
                if (depth == 0 && !in_str) { i++; break; }
                continue;
            }
            if (c == '"') { in_str = true; tok = i; continue; }
            if (c != '{' && c != '[' && c != '}' && c != ']' && c != ',' && c != ':' && !ws(c)) {
                // A number or literal: one run of bytes up to the next structural character.
                tok = i;
                while (i + 1 < n && i - tok <= kJsonMaxToken && !ws(s[i + 1]) && s[i + 1] != ',' &&
                       s[i + 1] != ']' && s[i + 1] != '}' && s[i + 1] != ':' && s[i + 1] != '"' &&
                       s[i + 1] != '[' && s[i + 1] != '{')
                    i++;
                too_long(i);
                // At the top level whitespace or the end closes it; anything else stays in this
                // span, which the parser then refuses (`1"a"` is not two values).
                if (depth == 0 && (i + 1 >= n || ws(s[i + 1]))) { i++; break; }
                continue;
            }
            if (c == '{' || c == '[') {
                if (++depth > kJsonMaxDepth)
                    throw_input(fmt::format("{}: JSON nested deeper than {} levels at byte {}", what, kJsonMaxDepth, i));
            } else if (c == '}' || c == ']') {
                if (--depth <= 0) { i++; break; }
            } else if (depth == 0 && ws(c)) break;
        }
        if (i > n) i = n;
        try {
            fn(std::string_view(s.data() + start, i - start), start);
        } catch (const json::parse_error& e) {
            throw_malformed(what, start + (e.byte ? e.byte - 1 : 0), e);
        } catch (const json::out_of_range& e) {
            // A number too large for a double (1e999): nlohmann's out_of_range.406.
            throw_malformed(what, start, e);
        }
    }
}

std::vector<json> read_json_stream(std::istream& in, const std::string& what) {
    std::vector<json> out;
    for_each_json_span(in, what, [&](std::string_view span, size_t off) {
        check_syntax(span, off, what);   // junk costs no DOM
        json j = json::parse(span.begin(), span.end());
        if (j.is_array())
            for (auto& x : j) out.push_back(std::move(x));
        else
            out.push_back(std::move(j));
    });
    return out;
}

namespace {

// Bytes a string holds as they are: printable ASCII but the quote and the backslash.
constexpr auto kPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; c++) t[size_t(c)] = c != '"' && c != '\\';
    return t;
}();

// A strict recursive-descent reader for the JSON that tools exchange: ASCII text with the usual
// escapes. It stops (returns false) on anything else: a syntax error, a byte above 0x7f, a \\u
// escape, nesting deeper than kJsonMaxDepth, or a handler returning false.
class FastSax {
public:
    FastSax(std::string_view t, nlohmann::json_sax<json>& h) : p_(t.data()), end_(t.data() + t.size()), h_(h) {}
    // One value or a sequence of them (a stream of documents), or with `one` exactly one value.
    // A number or literal at the top level must be followed by whitespace or the end: the
    // splitter (for_each_json_span) would hand `1true` or `2[3]` to nlohmann as one value, which
    // it refuses.
    bool run(bool one = false) {
        ws();
        while (p_ < end_) {
            char c = *p_;
            if (!value(0)) return false;
            bool scalar = c != '{' && c != '[' && c != '"';
            if (scalar && p_ < end_ && !is_ws(*p_)) return false;
            ws();
            if (one) return p_ == end_;
        }
        return !one;
    }

private:
    const char* p_;
    const char* end_;
    nlohmann::json_sax<json>& h_;
    std::string buf_;

    static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
    void ws() {
        while (p_ < end_ && is_ws(*p_)) p_++;
    }
    bool lit(const char* w, size_t n) {
        if (size_t(end_ - p_) < n || std::memcmp(p_, w, n) != 0) return false;
        p_ += n;
        return true;
    }
    bool str() {
        // p_ is past the opening quote
        buf_.clear();
        for (;;) {
            const char* q = p_;
            // Scan at most what a string may hold: a longer one is refused by for_each_json_span.
            const char* lim = p_ + std::min(size_t(end_ - p_), kJsonMaxToken + 1 - std::min(buf_.size(), kJsonMaxToken));
            while (q < lim && kPlain[static_cast<unsigned char>(*q)]) q++;
            buf_.append(p_, q);
            if (buf_.size() > kJsonMaxToken) return false;
            p_ = q;
            if (p_ >= end_) return false;
            char c = *p_++;
            if (c == '"') return true;
            if (c != '\\' || p_ >= end_) return false;   // control character, non-ASCII
            switch (*p_++) {
            case '"': buf_ += '"'; break;
            case '\\': buf_ += '\\'; break;
            case '/': buf_ += '/'; break;
            case 'b': buf_ += '\b'; break;
            case 'f': buf_ += '\f'; break;
            case 'n': buf_ += '\n'; break;
            case 'r': buf_ += '\r'; break;
            case 't': buf_ += '\t'; break;
            default: return false;   // \\u and invalid escapes
            }
        }
    }
    bool number() {
        const char* b = p_;
        bool neg = *p_ == '-';
        if (neg) p_++;
        if (p_ >= end_) return false;
        if (*p_ == '0') p_++;
        else if (*p_ >= '1' && *p_ <= '9') {
            const char* lim = p_ + std::min(size_t(end_ - p_), kJsonMaxToken + 1);
            while (p_ < lim && *p_ >= '0' && *p_ <= '9') p_++;
            if (p_ == lim && p_ < end_) return false;   // longer than any number we take
        } else return false;
        bool is_float = false;
        if (p_ < end_ && *p_ == '.') {
            is_float = true;
            p_++;
            const char* d = p_;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
            if (p_ == d) return false;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            is_float = true;
            p_++;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) p_++;
            const char* d = p_;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
            if (p_ == d) return false;
        }
        if (!is_float) {
            if (neg) {
                int64_t v = 0;
                auto r = std::from_chars(b, p_, v);
                if (r.ec == std::errc() && r.ptr == p_) return h_.number_integer(v);
            } else {
                uint64_t v = 0;
                auto r = std::from_chars(b, p_, v);
                if (r.ec == std::errc() && r.ptr == p_) return h_.number_unsigned(v);
            }
        }
        // Floats, and integers too large for 64 bits (nlohmann reads those as floats too).
        if (size_t(p_ - b) > kJsonMaxToken) return false;   // refused by for_each_json_span
        std::string text(b, p_);
        char* e = nullptr;
        double d = std::strtod(text.c_str(), &e);
        if (!std::isfinite(d)) return false;
        return h_.number_float(d, text);
    }
    // A value inside `depth` arrays and objects.
    bool value(int depth) {
        if (p_ >= end_) return false;
        switch (*p_) {
        case '{': {
            if (depth >= kJsonMaxDepth) return false;
            p_++;
            if (!h_.start_object(std::size_t(-1))) return false;
            ws();
            if (p_ < end_ && *p_ == '}') { p_++; return h_.end_object(); }
            for (;;) {
                ws();
                if (p_ >= end_ || *p_ != '"') return false;
                p_++;
                if (!str() || !h_.key(buf_)) return false;
                ws();
                if (p_ >= end_ || *p_ != ':') return false;
                p_++;
                ws();
                if (!value(depth + 1)) return false;
                ws();
                if (p_ >= end_) return false;
                if (*p_ == ',') { p_++; continue; }
                if (*p_ == '}') { p_++; return h_.end_object(); }
                return false;
            }
        }
        case '[': {
            if (depth >= kJsonMaxDepth) return false;
            p_++;
            if (!h_.start_array(std::size_t(-1))) return false;
            ws();
            if (p_ < end_ && *p_ == ']') { p_++; return h_.end_array(); }
            for (;;) {
                ws();
                if (!value(depth + 1)) return false;
                ws();
                if (p_ >= end_) return false;
                if (*p_ == ',') { p_++; continue; }
                if (*p_ == ']') { p_++; return h_.end_array(); }
                return false;
            }
        }
        case '"':
            p_++;
            return str() && h_.string(buf_);
        case 't': return lit("true", 4) && h_.boolean(true);
        case 'f': return lit("false", 5) && h_.boolean(false);
        case 'n': return lit("null", 4) && h_.null();
        default: return number();
        }
    }
};

// Forwards nlohmann's SAX events to a handler (or to none: a syntax check); its syntax errors
// become Error(Input) naming the source and the byte offset in the stream.
struct Checked : nlohmann::json_sax<json> {
    nlohmann::json_sax<json>* h;
    const std::string& what;
    size_t base;
    Checked(nlohmann::json_sax<json>* hh, const std::string& w, size_t off) : h(hh), what(w), base(off) {}

    bool null() override { return !h || h->null(); }
    bool boolean(bool x) override { return !h || h->boolean(x); }
    bool number_integer(json::number_integer_t x) override { return !h || h->number_integer(x); }
    bool number_unsigned(json::number_unsigned_t x) override { return !h || h->number_unsigned(x); }
    bool number_float(json::number_float_t x, const std::string& s) override { return !h || h->number_float(x, s); }
    bool string(std::string& x) override { return !h || h->string(x); }
    bool binary(json::binary_t& x) override { return !h || h->binary(x); }
    bool start_object(std::size_t n) override { return !h || h->start_object(n); }
    bool key(std::string& x) override { return !h || h->key(x); }
    bool end_object() override { return !h || h->end_object(); }
    bool start_array(std::size_t n) override { return !h || h->start_array(n); }
    bool end_array() override { return !h || h->end_array(); }
    bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
        throw_malformed(what, base + (pos ? pos - 1 : 0), e);
    }
};

// Throws Error(Input) unless span (one value, as for_each_json_span cuts them) is valid JSON:
// the fast reader's yes, else nlohmann's verdict. Nothing is built.
void check_syntax(std::string_view span, size_t off, const std::string& what) {
    Checked none(nullptr, what, off);
    if (FastSax(span, none).run(true)) return;
    json::sax_parse(span.begin(), span.end(), &none);
}

}  // namespace

bool json_sax_fast(std::string_view text, nlohmann::json_sax<json>& handler) {
    return FastSax(text, handler).run();
}

void json_sax_read(std::string_view text, const std::string& what, nlohmann::json_sax<json>& handler,
                   const std::function<void()>& rollback,
                   const std::function<void(std::string_view, size_t)>& reread) {
    if (json_sax_fast(text, handler)) return;
    rollback();
    for_each_json_span(text, what, [&](std::string_view span, size_t off) {
        check_syntax(span, off, what);
        reread(span, off);
    });
}

namespace {
constexpr size_t kShownLimit = 80;   // written beyond shown_text's 64 bytes, so that it cuts

void append_shown_string(std::string& out, const std::string& s) {
    // Only a prefix, ending between two UTF-8 characters; dump() escapes it as it would escape s.
    size_t n = std::min(s.size(), kShownLimit);
    while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) n--;
    out += json(s.substr(0, n)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Compact JSON as dump() writes it, but only until out is past kShownLimit: the recursion is no
// deeper than the text written.
void append_shown(std::string& out, const json& v) {
    if (out.size() > kShownLimit) return;
    if (v.is_object()) {
        out += '{';
        bool first = true;
        for (auto it = v.begin(); it != v.end() && out.size() <= kShownLimit; ++it) {
            if (!first) out += ',';
            first = false;
            append_shown_string(out, it.key());
            out += ':';
            append_shown(out, it.value());
        }
        out += '}';
    } else if (v.is_array()) {
        out += '[';
        bool first = true;
        for (auto it = v.begin(); it != v.end() && out.size() <= kShownLimit; ++it) {
            if (!first) out += ',';
            first = false;
            append_shown(out, *it);
        }
        out += ']';
    } else if (v.is_string()) {
        append_shown_string(out, v.get_ref<const std::string&>());
    } else {
        out += v.dump();
    }
}
}  // namespace

void json_append(std::string& out, std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
            out += json(std::string(s)).dump();
            return;
        }
    out += '"';
    out += s;
    out += '"';
}

void json_append(std::string& out, const IpAddr& a) {
    if (!a.valid()) {
        out += "null";
        return;
    }
    out += '"';
    a.append_to(out);
    out += '"';
}

void json_append(std::string& out, const Mac& m) {
    out += '"';
    m.append_to(out);
    out += '"';
}

std::string shown_value(const json& v) {
    if (v.is_string()) return shown_text(v.get_ref<const std::string&>());
    std::string s;
    append_shown(s, v);
    return shown_text(s);
}

namespace {
const json* field(const json& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return nullptr;
    return &*it;
}
}  // namespace

void require_object(const json& o, const std::string& object) {
    if (!o.is_object())
        throw_input(fmt::format("{}: expected a JSON object, got {} {}", object, o.type_name(), shown_value(o)));
}

std::string get_string(const json& o, const char* key, const std::string& object) {
    auto v = opt_string(o, key, object);
    if (!v) throw_input(object, key, "", "required field is missing");
    return *v;
}

std::optional<std::string> opt_string(const json& o, const char* key, const std::string& object) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) throw_input(object, key, shown_value(*v), fmt::format("must be a string, not {}", v->type_name()));
    return v->get<std::string>();
}

std::optional<uint64_t> opt_uint(const json& o, const char* key, uint64_t min, uint64_t max,
                                 const std::string& object) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || (v->is_number_integer() && !v->is_number_unsigned() && v->get<int64_t>() < 0)) {
        if (v->is_number_integer())
            throw_input(object, key, shown_value(*v), fmt::format("must be in {}..{}", min, max));
        throw_input(object, key, shown_value(*v), fmt::format("must be an integer, not {}", v->type_name()));
    }
    uint64_t x = v->get<uint64_t>();
    if (x < min || x > max) throw_input(object, key, shown_value(*v), fmt::format("must be in {}..{}", min, max));
    return x;
}

std::optional<bool> opt_bool(const json& o, const char* key, const std::string& object) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) throw_input(object, key, shown_value(*v), fmt::format("must be true or false, not {}", v->type_name()));
    return v->get<bool>();
}

std::optional<Mac> opt_mac(const json& o, const char* key, const std::string& object) {
    auto s = opt_string(o, key, object);
    if (!s) return std::nullopt;
    Mac m;
    if (!Mac::try_parse(*s, m)) throw_input(object, key, *s, "not a MAC address (aa:bb:cc:dd:ee:ff)");
    return m;
}

std::optional<IpAddr> opt_ip(const json& o, const char* key, const std::string& object) {
    auto s = opt_string(o, key, object);
    if (!s) return std::nullopt;
    IpAddr a;
    if (!IpAddr::try_parse(*s, a)) throw_input(object, key, *s, "not an IPv4 or IPv6 address");
    return a;
}

std::optional<Prefix> opt_prefix(const json& o, const char* key, const std::string& object) {
    auto s = opt_string(o, key, object);
    if (!s) return std::nullopt;
    try {
        return Prefix::parse(*s);
    } catch (const Error& e) {
        throw_input(object, key, *s, "not an address with a prefix length (10.0.0.2/24)");
    }
}

void check_keys(const json& o, std::initializer_list<const char*> known, const std::string& object) {
    for (auto it = o.begin(); it != o.end(); ++it) {
        bool ok = false;
        const std::string& key = it.key();
        for (const char* k : known)
            if (key[0] == k[0] && key == k) { ok = true; break; }
        if (!ok) throw_input(object, it.key(), shown_value(it.value()), "unknown field");
    }
}

void schema::check_known_keys(const json& o, const std::vector<schema::Key>& known,
                              std::initializer_list<const char*> extra, const std::string& object) {
    for (auto it = o.begin(); it != o.end(); ++it) {
        const std::string& key = it.key();
        bool ok = false;
        for (auto& k : known)
            if (key[0] == k.name[0] && key == k.name) { ok = true; break; }
        for (const char* k : extra)
            if (!ok && key == k) ok = true;
        if (!ok) throw_input(object, key, shown_value(it.value()), "unknown field");
    }
}

const char* action_name(Action a) {
    switch (a) {
    case Action::Added: return "added";
    case Action::Changed: return "changed";
    case Action::Removed: return "removed";
    case Action::Unchanged: break;
    }
    return "unchanged";
}

Change Change::with_detail(Action a, std::string obj, const json& detail, const char* how) {
    Change c(a, std::move(obj), how);
    if (detail.is_object() && !detail.empty()) c.fields = "\"detail\":" + detail.dump();
    return c;
}

std::string Change::reason() const {
    if (fields.empty() || fields.find("\"reason\"") == std::string::npos) return {};
    json o = json::parse("{" + fields + "}", nullptr, false);
    if (o.is_discarded() || !o.contains("detail") || !o["detail"].is_object()) return {};
    auto& d = o["detail"];
    return d.contains("reason") && d["reason"].is_string() ? d["reason"].get<std::string>() : std::string();
}

void Change::write_json(std::string& out) const {
    out += "{\"action\":\"";
    out += word();
    out += "\",\"object\":";
    json_append(out, object);
    if (!fields.empty()) {
        out += ',';
        out += fields;
    }
    out += '}';
}

void ChangeStats::count(Action a, size_t n) {
    switch (a) {
    case Action::Added: added += n; break;
    case Action::Changed: changed += n; break;
    case Action::Removed: removed += n; break;
    case Action::Unchanged: unchanged += n; break;
    }
}

ChangeStats count(const Changes& c) {
    ChangeStats s;
    for (auto& x : c) s.count(x.action);
    return s;
}

bool any_change(const Changes& c) {
    for (auto& x : c)
        if (x.action != Action::Unchanged) return true;
    return false;
}

json to_json(const Changes& c) {
    json a = json::array();
    std::string t;
    for (auto& x : c) {
        t.clear();
        x.write_json(t);
        a.push_back(json::parse(t));
    }
    return a;
}

}  // namespace ovnet
