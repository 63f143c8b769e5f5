// ovnet/schema.hpp - one JSON schema per object, written in one place.
//
// Every object that ovnet prints declares its JSON form once, as a member template that names
// each key in output order:
//
//     template <class W> void Bridge::fields(W& w) const {
//         w("netns", netns, schema::ReadOnly);
//         w("name", name);
//         w("mtu", mtu);
//         w.opt("master", !master.empty(), master);   // written only when the condition holds
//     }
//
// and everything else is derived from that one list:
//   - schema::to_dom(obj)        the DOM (what `show -j -p` pretty-prints, what tests inspect);
//   - schema::to_text(out, obj)  the same bytes as to_dom(obj).dump(), appended without a DOM
//                                (bulk output: 100,000 peers, 10,000 IPVS services);
//   - schema::keys<T>()          the keys, with which of them are read-only: what from_json
//                                accepts (check_keys) and ignores.
// Input is read by each type's from_json (the one reader), which checks unknown keys against
// keys<T>() so a typo is refused and `show -j | apply` round-trips. The JSON Schema files in
// schema/ describe the same objects for other programs; tests validate real output against them.
//
// Values: std::string, const char*, bool, integers, Mac, IpAddr (null when unset), Prefix,
// std::optional<V> (null when empty), std::vector<V> (array), std::map<std::string, V> (an object,
// in the map's key order), json (as is), and any type with its own fields() (a nested object).
#pragma once
#include <charconv>
#include <concepts>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ovnet/json.hpp"
#include "ovnet/types.hpp"

namespace ovnet::schema {

/// Whether a key is taken on input. Read-only keys (ifindex, state, counters) are written by
/// `show` and accepted, but ignored, by `apply`.
enum Access : uint8_t { Input = 0, ReadOnly = 1 };

template <class W, class T>
concept HasFields = requires(const T& t, W& w) { t.fields(w); };

class DomWriter;
class TextWriter;

/// Builds the DOM of an object.
class DomWriter {
public:
    explicit DomWriter(json& j) : j_(j) {
        if (!j_.is_object()) j_ = json::object();
    }
    template <class V>
    void operator()(const char* key, const V& v, Access = Input) { j_[key] = value(v); }
    /// Writes the key only when `present` (an optional member of the object).
    template <class V>
    void opt(const char* key, bool present, const V& v, Access a = Input) {
        if (present) (*this)(key, v, a);
    }

    template <class V>
    static json value(const V& v) {
        if constexpr (std::is_same_v<V, json>) return v;
        else if constexpr (std::is_same_v<V, Mac>) return v.str();
        else if constexpr (std::is_same_v<V, IpAddr>) return v.valid() ? json(v.str()) : json();
        else if constexpr (std::is_same_v<V, Prefix>) return v.str();
        else if constexpr (requires { typename V::value_type; v.has_value(); })
            return v ? value(*v) : json();
        else if constexpr (requires { typename V::key_type; typename V::mapped_type; }) {
            json o = json::object();
            for (auto& [k, x] : v) o[k] = value(x);
            return o;
        } else if constexpr (requires { v.begin(); v.end(); typename V::value_type; } &&
                           !std::is_convertible_v<V, std::string_view>) {
            json a = json::array();
            for (auto& x : v) a.push_back(value(x));
            return a;
        } else if constexpr (HasFields<DomWriter, V>) {
            json o = json::object();
            DomWriter w(o);
            v.fields(w);
            return o;
        } else return json(v);
    }

private:
    json& j_;
};

/// Appends compact JSON text: the bytes nlohmann's dump() writes for the DomWriter's DOM.
class TextWriter {
public:
    explicit TextWriter(std::string& out) : out_(out) {}
    template <class V>
    void operator()(const char* key, const V& v, Access = Input) {
        // `"key":` in one append (bulk output writes it 700,000 times for 100,000 peers); keys
        // are identifiers: nothing to escape.
        size_t n = std::char_traits<char>::length(key);
        char buf[64];
        if (n > sizeof buf - 4) {
            out_ += first_ ? "\"" : ",\"";
            out_ += key;
            out_ += "\":";
        } else {
            char* p = buf;
            if (!first_) *p++ = ',';
            *p++ = '"';
            std::memcpy(p, key, n);
            p += n;
            *p++ = '"';
            *p++ = ':';
            out_.append(buf, size_t(p - buf));
        }
        first_ = false;
        value(out_, v);
    }
    template <class V>
    void opt(const char* key, bool present, const V& v, Access a = Input) {
        if (present) (*this)(key, v, a);
    }

    template <class V>
    static void value(std::string& out, const V& v) {
        if constexpr (std::is_same_v<V, json>) out += v.dump();
        else if constexpr (std::is_same_v<V, bool>) out += v ? "true" : "false";
        else if constexpr (std::is_integral_v<V>) {
            char buf[24];   // no temporary string: bulk output writes ~20 numbers per IPVS destination
            out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
        }
        else if constexpr (std::is_same_v<V, Mac> || std::is_same_v<V, IpAddr>) json_append(out, v);
        else if constexpr (std::is_same_v<V, Prefix>) json_append(out, std::string_view(v.str()));
        else if constexpr (std::is_convertible_v<V, std::string_view>) json_append(out, std::string_view(v));
        else if constexpr (requires { typename V::value_type; v.has_value(); }) {
            if (v) value(out, *v);
            else out += "null";
        } else if constexpr (requires { typename V::key_type; typename V::mapped_type; }) {
            out += '{';
            bool first = true;
            for (auto& [k, x] : v) {
                if (!first) out += ',';
                first = false;
                json_append(out, std::string_view(k));
                out += ':';
                value(out, x);
                flush(out);
            }
            out += '}';
        } else if constexpr (requires { v.begin(); v.end(); typename V::value_type; }) {
            out += '[';
            bool first = true;
            for (auto& x : v) {
                if (!first) out += ',';
                first = false;
                value(out, x);
                flush(out);
            }
            out += ']';
        } else if constexpr (HasFields<TextWriter, V>) {
            out += '{';
            TextWriter w(out);
            v.fields(w);
            out += '}';
        } else {
            static_assert(sizeof(V) == 0, "no JSON text form for this type");
        }
    }

    /// While set, the text written so far goes to this file whenever it passes 64 KiB (at the
    /// end of an array element or object member), and the string is cleared: to_file.
    static inline thread_local std::FILE* sink = nullptr;

private:
    static void flush(std::string& out) {
        if (sink && out.size() >= (1u << 16)) {
            std::fwrite(out.data(), 1, out.size(), sink);
            out.clear();
        }
    }
    std::string& out_;
    bool first_ = true;
};

/// One key of an object's schema.
struct Key {
    const char* name;
    Access access;
};

/// Collects the keys an object's fields() names (optional ones included).
class KeyList {
public:
    template <class V>
    void operator()(const char* key, const V&, Access a = Input) { keys.push_back({key, a}); }
    template <class V>
    void opt(const char* key, bool, const V& v, Access a = Input) { (*this)(key, v, a); }
    std::vector<Key> keys;
};

/// The DOM of an object (its fields() in order).
template <class T>
json to_dom(const T& v) {
    json j = json::object();
    DomWriter w(j);
    v.fields(w);
    return j;
}

/// Appends the object's compact JSON text (to_dom(v).dump()'s bytes).
template <class T>
void to_text(std::string& out, const T& v) {
    TextWriter::value(out, v);
}

/// Writes the object's compact JSON text (to_text's bytes) to `f` in pieces of about 64 KiB,
/// never holding all of it (a snapshot of 100,000 peers). False on a write error (ferror).
template <class T>
bool to_file(std::FILE* f, const T& v) {
    std::string out;
    out.reserve((1u << 16) + 4096);
    struct Reset {
        ~Reset() { TextWriter::sink = nullptr; }
    } reset;
    TextWriter::sink = f;
    TextWriter::value(out, v);
    std::fwrite(out.data(), 1, out.size(), f);
    return !std::ferror(f);
}

/// Appends a JSON array of objects' compact text.
template <class T>
void to_text(std::string& out, const std::vector<T>& v) {
    TextWriter::value(out, v);
}

/// The keys of T's schema, computed once from a default-constructed T.
template <class T>
const std::vector<Key>& keys() {
    static const std::vector<Key> k = [] {
        KeyList l;
        T{}.fields(l);
        return l.keys;
    }();
    return k;
}

/// Throws Error(Input) naming the first key of `o` that is neither in `known` nor in `extra`.
void check_known_keys(const json& o, const std::vector<Key>& known, std::initializer_list<const char*> extra,
                      const std::string& object);

/// Refuses keys that are not in T's schema (a typo must not be silently ignored); `extra` names
/// keys accepted on input only (e.g. iproute2's).
template <class T>
void check_keys(const json& o, const std::string& object, std::initializer_list<const char*> extra = {}) {
    check_known_keys(o, keys<T>(), extra, object);
}

}  // namespace ovnet::schema

/// Instantiates T::fields (defined in a .cpp) for the three writers every object is read by.
#define OVNET_SCHEMA_FIELDS(T)                                   \
    template void T::fields(ovnet::schema::DomWriter&) const;    \
    template void T::fields(ovnet::schema::TextWriter&) const;   \
    template void T::fields(ovnet::schema::KeyList&) const;
