#include "ovnet/json.hpp"

#include <fmt/format.h>

#include <iterator>

#include "ovnet/error.hpp"

namespace ovnet {

void for_each_json_span(std::istream& in, const std::string& what,
                        const std::function<void(std::string_view, size_t)>& fn) {
    // Read in large blocks: character-wise stream iteration costs more than parsing.
    std::string s;
    {
        char buf[1 << 16];
        auto* sb = in.rdbuf();
        for (std::streamsize n; (n = sb->sgetn(buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
    }
    size_t i = 0, n = s.size();
    auto ws = [&](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    while (true) {
        while (i < n && ws(s[i])) i++;
        if (i >= n) break;
        // Find the end of this top-level value: track nesting outside strings.
        size_t start = i;
        int depth = 0;
        bool in_str = false;
        for (; i < n; i++) {
            char c = s[i];
            if (in_str) {
                if (c == '\\') i++;
                else if (c == '"') in_str = false;
                if (depth == 0 && !in_str) { i++; break; }
                continue;
            }
            if (c == '"') { in_str = true; continue; }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth <= 0) { i++; break; }
            } else if (depth == 0 && ws(c)) break;
        }
        if (i > n) i = n;
        try {
            fn(std::string_view(s.data() + start, i - start), start);
        } catch (const json::parse_error& e) {
            throw_input(fmt::format("{}: malformed JSON at byte {}: {}", what, start + (e.byte ? e.byte - 1 : 0), e.what()));
        }
    }
}

std::vector<json> read_json_stream(std::istream& in, const std::string& what) {
    std::vector<json> out;
    for_each_json_span(in, what, [&](std::string_view span, size_t) {
        json j = json::parse(span.begin(), span.end());
        if (j.is_array())
            for (auto& x : j) out.push_back(std::move(x));
        else
            out.push_back(std::move(j));
    });
    return out;
}

namespace {
std::string shown(const json& v) {
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.size() > 64) s = s.substr(0, 61) + "...";
    return s;
}
const json* field(const json& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return nullptr;
    return &*it;
}
}  // namespace

void require_object(const json& o, const std::string& object) {
    if (!o.is_object())
        throw_input(fmt::format("{}: expected a JSON object, got {} {}", object, o.type_name(), shown(o)));
}

std::string get_string(const json& o, const char* key, const std::string& object) {
    auto v = opt_string(o, key, object);
    if (!v) throw_input(object, key, "", "required field is missing");
    return *v;
}

std::optional<std::string> opt_string(const json& o, const char* key, const std::string& object) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) throw_input(object, key, shown(*v), fmt::format("must be a string, not {}", v->type_name()));
    return v->get<std::string>();
}

std::optional<uint64_t> opt_uint(const json& o, const char* key, uint64_t min, uint64_t max,
                                 const std::string& object) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || (v->is_number_integer() && !v->is_number_unsigned() && v->get<int64_t>() < 0)) {
        if (v->is_number_integer())
            throw_input(object, key, shown(*v), fmt::format("must be in {}..{}", min, max));
        throw_input(object, key, shown(*v), fmt::format("must be an integer, not {}", v->type_name()));
    }
    uint64_t x = v->get<uint64_t>();
    if (x < min || x > max) throw_input(object, key, shown(*v), fmt::format("must be in {}..{}", min, max));
    return x;
}

std::optional<bool> opt_bool(const json& o, const char* key, const std::string& object) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) throw_input(object, key, shown(*v), fmt::format("must be true or false, not {}", v->type_name()));
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
        for (const char* k : known)
            if (it.key() == k) ok = true;
        if (!ok) throw_input(object, it.key(), shown(it.value()), "unknown field");
    }
}

bool any_change(const Changes& c) {
    for (auto& x : c)
        if (x.action != "unchanged") return true;
    return false;
}

json to_json(const Changes& c) {
    json a = json::array();
    for (auto& x : c) {
        json o = {{"action", x.action}, {"object", x.object}};
        if (!x.detail.empty()) o["detail"] = x.detail;
        a.push_back(std::move(o));
    }
    return a;
}

}  // namespace ovnet
