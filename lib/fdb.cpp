#include "ovnet/fdb.hpp"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "ovnet/addr.hpp"
#include "ovnet/bridge.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/neigh.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/schema.hpp"

namespace ovnet {

namespace {
struct MacHash {
    size_t operator()(const Mac& m) const noexcept {
        uint64_t v = 0;
        std::memcpy(&v, m.b.data(), 6);
        return std::hash<uint64_t>()(v);
    }
};
}  // namespace

namespace {
// A peer's label from its formatted parts ("" when absent): "peer 10.0.0.3 02:42:0a:00:00:03
// via 192.0.2.12", "fdb entry 02:42:0a:00:00:04 via 192.0.2.13". PeerSpec::label and the change
// records of an apply (one per changed peer, 100,000 at a time) both write it here.
void append_label(std::string& s, std::string_view ip, std::string_view mac, std::string_view vtep) {
    s.reserve(s.size() + 15 + ip.size() + mac.size() + vtep.size());
    if (!ip.empty()) s.append("peer ").append(ip).append(" ");
    else s.append("fdb entry ");
    s.append(mac);
    if (!vtep.empty()) s.append(" via ").append(vtep);
}
}  // namespace

std::string PeerSpec::label() const {
    std::string s;
    append_label(s, ip ? ip->str() : std::string(), mac.str(), vtep ? vtep->str() : std::string());
    return s;
}

// ---- output ----------------------------------------------------------------------------------
//
// `ovnet-fdb show -j` on 100,000 peers: building and dumping a DOM cost more than the kernel's
// dump. The text comes from PeerEntry::fields() through schema::to_text (to_json().dump()'s
// bytes; the unit tests compare the two).

void write_json(std::string& out, const std::vector<PeerEntry>& entries) {
    // About 150 bytes a peer: reserved once rather than grown through a dozen copies.
    out.reserve(out.size() + entries.size() * 160 + 2);
    schema::to_text(out, entries);
}

// ---- input -----------------------------------------------------------------------------------
//
// A desired set can hold 100,000 peers: building a DOM for it costs more than programming the
// kernel, so peers_read() parses with SAX into flat records (json_sax_fast over the whole text,
// nlohmann's parser when that gives up, for its error messages). peers_from_json() turns DOM
// objects into the same records, so both paths share one set of rules. Records reuse their
// storage, known keys are resolved to ids once, and object names are built only for an error.

namespace {

// Every key the set formats know, each with an id (its position here): the peer's schema
// (PeerEntry::fields), "dev" (rows of `ovnet-fdb local`) and iproute2's `bridge -j fdb show`
// keys. Anything else is unknown.
constexpr std::string_view kIproute2Keys[] = {
    "mac", "ifname", "dst", "state", "flags", "master", "vlan", "vni", "port", "via", "viaIf", "viaIfIndex",
    "src_vni", "linkNetNsId", "nhid", "updated", "used", "sticky"};
constexpr const char* kOvnetInputKeys[] = {"dev"};

using Key = uint8_t;
constexpr Key K_unknown = 32;
constexpr uint32_t bit(Key k) { return k < 32 ? uint32_t(1) << k : 0; }

struct KeyTable {
    std::vector<std::string_view> names;
    uint32_t ovnet = 0, iproute = 0;   // the ids each format accepts
    Key mac, ip, vtep, status, dst, state, flags, master, ifname;

    Key find(std::string_view k) const {
        for (size_t i = 0; i < names.size(); i++)
            if (names[i].size() == k.size() && names[i][0] == k[0] && names[i] == k) return Key(i);
        return K_unknown;
    }
    Key id(std::string_view k) const {
        // The usual keys first, then the rest.
        if (k == "mac") return mac;
        if (k == "ip") return ip;
        if (k == "vtep") return vtep;
        return find(k);
    }
};

KeyTable make_key_table() {
    KeyTable t;
    auto add = [&](std::string_view k) {
        Key i = t.find(k);
        if (i != K_unknown) return i;
        if (t.names.size() == K_unknown) throw std::logic_error("fdb: more than 32 peer keys");
        t.names.push_back(k);
        return Key(t.names.size() - 1);
    };
    t.names.reserve(K_unknown);
    for (auto& k : schema::keys<PeerEntry>()) t.ovnet |= bit(add(k.name));
    for (auto* k : kOvnetInputKeys) t.ovnet |= bit(add(k));
    for (auto k : kIproute2Keys) t.iproute |= bit(add(k));
    t.mac = t.find("mac"), t.ip = t.find("ip"), t.vtep = t.find("vtep"), t.status = t.find("status");
    t.dst = t.find("dst"), t.state = t.find("state"), t.flags = t.find("flags"), t.master = t.find("master");
    t.ifname = t.find("ifname");
    return t;
}
// Built on first use (no static initializer at start-up); the fast path is inlined.
inline const KeyTable& kt() {
    static const KeyTable t = make_key_table();
    return t;
}

struct Val {
    enum Type { Null, Str, Num, Bool, StrArray, Other } t = Null;
    std::string s;                  // Str; for Num/Bool/Other the JSON text, for error messages
    std::vector<std::string> arr;   // StrArray
    bool b = false;
};

struct Field {
    std::string key;
    Key id = K_unknown;
    Val v;
};

// The fields of one object, in input order. Storage is reused from one record to the next.
struct Record {
    const KeyTable& keys_ = kt();
    std::vector<Field> fields;
    size_t n = 0;
    uint32_t mask = 0;    // ids present

    void clear() { n = 0; mask = 0; }
    Val& push(std::string_view key) {
        if (n == fields.size()) fields.emplace_back();
        Field& f = fields[n++];
        f.key.assign(key);
        f.id = keys_.id(key);
        if (f.id != K_unknown) mask |= bit(f.id);
        f.v.t = Val::Null;
        f.v.s.clear();
        f.v.arr.clear();
        f.v.b = false;
        return f.v;
    }
    Val& back() { return fields[n - 1].v; }
    // A key given twice counts once, with its last value, as in a DOM.
    const Val* get(Key k) const {
        if (!(mask & bit(k))) return nullptr;
        for (size_t i = n; i-- > 0;)
            if (fields[i].id == k) return fields[i].v.t == Val::Null ? nullptr : &fields[i].v;
        return nullptr;
    }
    bool has(Key k) const { return mask & bit(k); }
};

void val_from_json(const json& v, Val& x) {
    if (v.is_null()) return;
    if (v.is_string()) { x.t = Val::Str; x.s = v.get<std::string>(); return; }
    if (v.is_boolean()) { x.t = Val::Bool; x.b = v.get<bool>(); x.s = v.dump(); return; }
    if (v.is_number()) { x.t = Val::Num; x.s = v.dump(); return; }
    if (v.is_array()) {
        bool strings = true;
        for (auto& e : v) strings &= e.is_string();
        if (strings) {
            x.t = Val::StrArray;
            for (auto& e : v) x.arr.push_back(e.get<std::string>());
            return;
        }
    }
    x.t = Val::Other;
    x.s = v.dump();
}

const char* type_name(const Val& v) {
    switch (v.t) {
        case Val::Null: return "null";
        case Val::Str: return "string";
        case Val::Num: return "number";
        case Val::Bool: return "boolean";
        case Val::StrArray: return "array";
        default: return "object";
    }
}

// The object an error names: "entry #3", "fdb entry 02:42:..", "peer 10.0.0.3", "entry 02:42:..".
struct ObjName {
    enum Kind : uint8_t { Entry, Fdb, Peer, EntryMac } k = Entry;
    size_t n = 0;
    Mac mac;
    IpAddr ip;
    std::string str() const {
        switch (k) {
            case Entry: return fmt::format("entry #{}", n);
            case Fdb: return "fdb entry " + mac.str();
            case Peer: return "peer " + ip.str();
            default: return "entry " + mac.str();
        }
    }
};

// Sort keys with the order of (Mac, index) and (IpAddr, index), compared as integers.
struct MacKey {
    uint64_t k;
    uint32_t idx;
    bool operator<(const MacKey& o) const { return k != o.k ? k < o.k : idx < o.idx; }
};
uint64_t mac_u64(const Mac& m) {
    uint64_t v = 0;
    for (auto x : m.b) v = v << 8 | x;
    return v;
}
Mac mac_of(uint64_t v) {
    Mac m;
    for (int i = 5; i >= 0; i--, v >>= 8) m.b[size_t(i)] = uint8_t(v);
    return m;
}
struct IpKey {
    uint64_t hi, lo;
    uint32_t idx;
    int family;
    bool operator<(const IpKey& o) const {
        if (family != o.family) return family < o.family;
        if (hi != o.hi) return hi < o.hi;
        if (lo != o.lo) return lo < o.lo;
        return idx < o.idx;
    }
    bool same(const IpKey& o) const { return family == o.family && hi == o.hi && lo == o.lo; }
    IpAddr addr() const {
        IpAddr a;
        a.family = family;
        uint64_t h = __builtin_bswap64(hi), l = __builtin_bswap64(lo);
        std::memcpy(a.b.data(), &h, 8);
        std::memcpy(a.b.data() + 8, &l, 8);
        return a;
    }
};
IpKey ip_key(const IpAddr& a, size_t idx) {
    uint64_t h, l;
    std::memcpy(&h, a.b.data(), 8);
    std::memcpy(&l, a.b.data() + 8, 8);
    return {__builtin_bswap64(h), __builtin_bswap64(l), uint32_t(idx), a.family};
}

// Sets often come in order (generated, or another host's dump): sorting is skipped then.
template <class K>
void sort_keys(std::vector<K>& v) {
    if (!std::is_sorted(v.begin(), v.end())) std::sort(v.begin(), v.end());
}

// The checks of a whole set: the one validation behind peers_read, peers_from_json and
// fdb_apply_set (peers_validate). Entries are checked as they come, with `name()` the entry's
// object in messages; duplicates once the set is complete (sorted, no per-entry allocation),
// with `dup_name(idx)` naming the later entry. idx is the entry's 0-based position in the input
// (skipped rows counted); messages number entries from 1.
class SetCheck {
public:
    void reserve(size_t n) {
        macs_.reserve(n);
        ips_.reserve(n);
    }
    template <class Name>
    void entry(const PeerSpec& p, size_t idx, const Name& name) {
        if (!p.ip && !p.vtep) throw_input(name(), "vtep", "", "an entry needs an ip, a vtep, or both");
        if (p.mac.is_zero() || p.mac.is_multicast())
            throw_input(name(), "mac", p.mac.str(), "a peer MAC must be unicast and non-zero");
        if (p.vtep) {
            auto& v = *p.vtep;
            bool zero = v.b == std::array<uint8_t, 16>{};
            if (zero || is_multicast(v)) throw_input(name(), "vtep", v.str(), "a VTEP address must be unicast");
            if (!vtep_family_) vtep_family_ = v.family;
            else if (vtep_family_ != v.family)
                throw_input(name(), "vtep", v.str(),
                            "mixes IPv4 and IPv6 VTEPs: one VXLAN device has one underlay family");
        }
        macs_.push_back({mac_u64(p.mac), uint32_t(idx)});
        if (p.ip) ips_.push_back(ip_key(*p.ip, idx));
    }
    template <class Name>
    void finish(const Name& dup_name) {
        auto dup = [&](const char* field, const std::string& value, size_t a, size_t b) {
            throw_input(dup_name(b), field, value, fmt::format("appears twice in the set (entries #{} and #{})", a + 1, b + 1));
        };
        sort_keys(macs_);
        for (size_t i = 1; i < macs_.size(); i++)
            if (macs_[i].k == macs_[i - 1].k) dup("mac", mac_of(macs_[i].k).str(), macs_[i - 1].idx, macs_[i].idx);
        sort_keys(ips_);
        for (size_t i = 1; i < ips_.size(); i++)
            if (ips_[i].same(ips_[i - 1])) dup("ip", ips_[i].addr().str(), ips_[i - 1].idx, ips_[i].idx);
    }

private:
    int vtep_family_ = 0;
    std::vector<MacKey> macs_;
    std::vector<IpKey> ips_;
};

class SetBuilder {
public:
    SetBuilder(const std::optional<IpAddr>& dv) : default_vtep_(dv) {}

    void add(const Record& o) {
        const KeyTable& K = kt();
        if (++n_ >= UINT32_MAX) throw_input(fmt::format("entry #{}: too many entries in one set", n_));
        ObjName obj;
        obj.n = n_;
        PeerSpec p;
        bool iproute = o.has(K.ifname) || o.has(K.dst) || o.has(K.master) || (o.has(K.state) && !o.has(K.status));
        if (iproute) {
            check(o, K.iproute, obj);
            Mac mac = need_mac(o, obj);
            obj.k = ObjName::Fdb;
            obj.mac = mac;
            const std::string* state = str(o, K.state, obj);
            auto dst = ip(o, K.dst, obj);
            bool master = o.has(K.master);
            if (auto* f = o.get(K.flags)) {
                if (f->t != Val::StrArray) bad(obj, "flags", *f, "must be an array of strings");
                for (auto& x : f->arr) master |= x == "master";
            }
            // Only permanent unicast entries pointing at a remote VTEP describe peers.
            if (!dst || !state || *state != "permanent" || master || mac.is_zero() || mac.is_multicast()) return;
            p.mac = mac;
            p.vtep = dst;
        } else {
            check(o, K.ovnet, obj);
            const std::string* st = str(o, K.status, obj);
            std::string_view status = st ? std::string_view(*st) : std::string_view("peer");
            if (status == "learned" || status == "local") return;
            if (status != "peer" && status != "fdb-only" && status != "neigh-only" && status != "endpoint")
                throw_input(obj.str(), "status", std::string(status),
                            "must be peer, fdb-only, neigh-only, endpoint, learned or local");
            p.mac = need_mac(o, obj);
            p.ip = ip(o, K.ip, obj);
            p.vtep = ip(o, K.vtep, obj);
            if (p.ip) {
                obj.k = ObjName::Peer;
                obj.ip = *p.ip;
            } else {
                obj.k = ObjName::EntryMac;
                obj.mac = p.mac;
            }
            if (status == "fdb-only" && p.ip) throw_input(obj.str(), "ip", p.ip->str(), "an fdb-only entry has no ip");
            if (status == "neigh-only" && p.vtep)
                throw_input(obj.str(), "vtep", p.vtep->str(), "a neigh-only entry has no vtep");
            if (!p.vtep && status != "neigh-only") p.vtep = default_vtep_;
        }
        check_.entry(p, n_ - 1, [&] { return obj.str(); });
        out.push_back(p);
    }
    /// Duplicate MACs and IPs, found by sorting once the whole set is read.
    std::vector<PeerSpec> finish() {
        check_.finish([](size_t idx) { return fmt::format("entry #{}", idx + 1); });
        return std::move(out);
    }
    void reserve(size_t n) {
        out.reserve(n);
        check_.reserve(n);
    }
    std::vector<PeerSpec> out;

private:
    [[noreturn]] static void bad(const ObjName& obj, const std::string& f, const Val& v, const std::string& why) {
        throw_input(obj.str(), f, v.s.size() > 64 ? v.s.substr(0, 61) + "..." : v.s, why);
    }
    static void check(const Record& o, uint32_t known, const ObjName& obj) {
        if (!(o.mask & ~known) && o.n == size_t(std::popcount(o.mask))) return;   // no unknown key
        for (size_t i = 0; i < o.n; i++) {
            auto& f = o.fields[i];
            if (f.id == K_unknown || !(known & bit(f.id))) bad(obj, f.key, f.v, "unknown field");
        }
    }
    static const std::string* str(const Record& o, Key k, const ObjName& obj) {
        const Val* v = o.get(k);
        if (!v) return nullptr;
        if (v->t != Val::Str)
            bad(obj, std::string(kt().names[k]), *v, fmt::format("must be a string, not {}", type_name(*v)));
        return &v->s;
    }
    static std::optional<IpAddr> ip(const Record& o, Key k, const ObjName& obj) {
        auto s = str(o, k, obj);
        if (!s) return std::nullopt;
        IpAddr a;
        if (!IpAddr::try_parse(*s, a)) throw_input(obj.str(), std::string(kt().names[k]), *s, "not an IPv4 or IPv6 address");
        return a;
    }
    static Mac need_mac(const Record& o, const ObjName& obj) {
        auto s = str(o, kt().mac, obj);
        if (!s) throw_input(obj.str(), "mac", "", "required field is missing");
        Mac m;
        if (!Mac::try_parse(*s, m)) throw_input(obj.str(), "mac", *s, "not a MAC address (aa:bb:cc:dd:ee:ff)");
        return m;
    }

    std::optional<IpAddr> default_vtep_;
    size_t n_ = 0;
    SetCheck check_;
};

// SAX handler: top-level objects, or objects inside one top-level array, become records. Deeper
// values are kept only as arrays of strings (flags); anything else is recorded as "Other".
struct Sax : nlohmann::json_sax<json> {
    SetBuilder& b;
    const std::string& what;
    int depth = 0;          // nesting, counting arrays and objects
    int rec_depth = -1;     // depth of the current record's object
    Record rec;
    std::string cur_key;
    bool in_arr = false;    // inside an array that is a record field
    int skip = 0;           // nesting inside an unsupported field value
    size_t base;            // offset of this document in the stream
    Sax(SetBuilder& bb, const std::string& w, size_t off) : b(bb), what(w), base(off) {}

    [[noreturn]] void top_level_scalar(const std::string& text) {
        throw_input(fmt::format("{}: expected a JSON object, got {}", what, shown_text(text)));
    }
    // The value slot of a scalar event, or nullptr when the value is not kept.
    Val* slot(Val::Type t, std::string_view text) {
        if (skip) return nullptr;
        if (in_arr) {
            if (t != Val::Str) rec.back().t = Val::Other;
            return nullptr;
        }
        if (rec_depth < 0) {
            if (text.empty()) top_level_scalar(t == Val::Null ? "null" : "string");
            top_level_scalar(std::string(text));
        }
        Val& v = rec.push(cur_key);
        v.t = t;
        return &v;
    }
    bool null() override { slot(Val::Null, {}); return true; }
    bool boolean(bool x) override {
        if (Val* v = slot(Val::Bool, x ? "true" : "false")) { v->b = x; v->s = x ? "true" : "false"; }
        return true;
    }
    bool number_integer(json::number_integer_t x) override { return num(std::to_string(x)); }
    bool number_unsigned(json::number_unsigned_t x) override { return num(std::to_string(x)); }
    bool number_float(json::number_float_t, const std::string& s) override { return num(s); }
    bool num(const std::string& s) {
        if (Val* v = slot(Val::Num, s)) v->s = s;
        return true;
    }
    bool string(std::string& s) override {
        if (skip) return true;
        if (in_arr) {
            rec.back().arr.push_back(s);
            return true;
        }
        if (Val* v = slot(Val::Str, s)) v->s.assign(s);
        return true;
    }
    bool binary(json::binary_t&) override { return true; }
    bool start_object(std::size_t) override {
        depth++;
        if (skip) { skip++; return true; }
        if (rec_depth < 0) {
            rec_depth = depth;
            rec.clear();
            return true;
        }
        // An object as a field value: keep its text only as "object" for the error message.
        if (in_arr) rec.back().t = Val::Other;
        else {
            Val& v = rec.push(cur_key);
            v.t = Val::Other;
            v.s = "{...}";
        }
        skip = 1;
        return true;
    }
    bool end_object() override {
        depth--;
        if (skip) { skip--; return true; }
        if (depth + 1 == rec_depth) {
            b.add(rec);
            rec_depth = -1;
        }
        return true;
    }
    bool start_array(std::size_t) override {
        depth++;
        if (skip) { skip++; return true; }
        if (rec_depth < 0) {
            if (depth > 1) top_level_scalar("a nested array");
            return true;  // the top-level array of records
        }
        if (in_arr) { rec.back().t = Val::Other; skip = 1; return true; }
        Val& v = rec.push(cur_key);
        v.t = Val::StrArray;
        v.s = "[...]";
        in_arr = true;
        return true;
    }
    bool end_array() override {
        depth--;
        if (skip) { skip--; return true; }
        in_arr = false;
        return true;
    }
    bool key(std::string& k) override {
        if (!skip && !in_arr) cur_key.swap(k);
        return true;
    }
    bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
        throw_input(fmt::format("{}: malformed JSON at byte {}: {}", what, base + (pos ? pos - 1 : 0), e.what()));
    }
};

}  // namespace

std::vector<PeerSpec> peers_from_json(const std::vector<json>& docs, const std::optional<IpAddr>& default_vtep) {
    SetBuilder b(default_vtep);
    b.reserve(docs.size());
    size_t n = 0;
    Record r;
    for (auto& o : docs) {
        n++;
        require_object(o, fmt::format("entry #{}", n));
        r.clear();
        for (auto& [k, v] : o.items()) val_from_json(v, r.push(k));
        b.add(r);
    }
    return b.finish();
}

std::vector<PeerSpec> peers_read(std::istream& in, const std::optional<IpAddr>& default_vtep, const std::string& what) {
    std::string text = read_all(in);
    // The whole stream in one pass with the fast reader; most sets take this path. When it gives
    // up (unusual or malformed text), the records it delivered are discarded with their builder
    // and nlohmann's parser reads the text document by document, for its verdict and messages.
    SetBuilder b(default_vtep);
    b.reserve(text.size() / 32 + 16);   // untouched capacity costs no page faults
    Sax sax(b, what, 0);
    json_sax_read(text, what, sax, [&] { b = SetBuilder(default_vtep); }, [&](std::string_view span, size_t off) {
        Sax s(b, what, off);
        json::sax_parse(span.begin(), span.end(), &s);
    });
    return b.finish();
}

// ---- show ------------------------------------------------------------------------------------

namespace {
Link need_dev(Handle& h, const std::string& dev) {
    validate_ifname(dev, "vtep " + dev, "dev");
    auto l = link_get(h, dev);
    if (!l) throw_input("vtep " + dev, "dev", dev, "no such device");
    return *l;
}

// The neighbors (with a lladdr) by MAC, for fdb_show's join: an open-addressing table of each
// MAC's first not yet taken neighbor, the others with the same MAC chained in dump order.
class MacIndex {
public:
    explicit MacIndex(const std::vector<Neigh>& neighs) : next_(neighs.size(), -1) {
        size_t cap = 16;
        shift_ = 60;
        while (cap < neighs.size() * 2) cap <<= 1, shift_--;
        mask_ = cap - 1;
        slots_.assign(cap, Slot{0, -1, -1});
        for (size_t i = 0; i < neighs.size(); i++) {
            if (!neighs[i].has_lladdr) continue;
            Slot& s = find(key(neighs[i].lladdr));
            if (s.head < 0) s.head = s.tail = int32_t(i);
            else next_[size_t(s.tail)] = int32_t(i), s.tail = int32_t(i);
        }
    }
    /// The first neighbor with this MAC not taken before (its index), or -1.
    int32_t take(const Mac& m) {
        Slot& s = find(key(m));
        int32_t i = s.head;
        if (i >= 0) s.head = next_[size_t(i)];
        return i;
    }
private:
    struct Slot {
        uint64_t key;
        int32_t head, tail;  // head < 0 and tail < 0: empty; head < 0 only: all taken
    };
    static uint64_t key(const Mac& m) {
        uint64_t v = 0;
        std::memcpy(&v, m.b.data(), 6);
        return v;
    }
    // The slot holding `k`, or the empty slot where it goes (claimed for it).
    Slot& find(uint64_t k) {
        for (size_t i = size_t((k * 0x9E3779B97F4A7C15ull) >> shift_);; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.tail < 0) {
                s.key = k;
                return s;
            }
            if (s.key == k) return s;
        }
    }
    std::vector<Slot> slots_;
    std::vector<int32_t> next_;
    size_t mask_ = 0;
    int shift_ = 60;
};

std::vector<Neigh> dump_neighs(Handle& h, int ifindex) {
    auto v4 = neigh_list(h, AF_INET, ifindex);
    auto v6 = neigh_list(h, AF_INET6, ifindex);
    v4.insert(v4.end(), v6.begin(), v6.end());
    return v4;
}
}  // namespace

std::vector<PeerEntry> fdb_show(Handle& h, const std::string& dev) {
    Link l = need_dev(h, dev);
    // The kernel's vxlan fdb dump is the slow part on big tables (it walks the table from the
    // start for every 32 KiB reply): once it proves long, the neighbors are read meanwhile, on a
    // second socket and thread. Small tables (a second socket costs about 1 ms) stay sequential.
    constexpr size_t kOverlapAt = 2048;
    std::vector<Neigh> neighs, fdb;
    std::exception_ptr neigh_err;
    std::thread reader;
    auto start_reader = [&] {
        reader = std::thread([&] {
            try {
                Handle h2(h.netns_name());
                neighs = dump_neighs(h2, l.ifindex);
            } catch (...) {
                neigh_err = std::current_exception();
            }
        });
    };
    try {
        // neigh_list(h, AF_BRIDGE, ifindex), watching the count.
        void* hdr;
        NlMsg m = nl_new(RTM_GETNEIGH, 0, sizeof(ndmsg), &hdr);
        static_cast<ndmsg*>(hdr)->ndm_family = AF_BRIDGE;
        h.dump(m, [&](const nlmsghdr* r) {
            auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(r));
            if (r->nlmsg_type != RTM_NEWNEIGH || nd->ndm_family != AF_BRIDGE || nd->ndm_ifindex != l.ifindex) return;
            Neigh n;
            if (Neigh::parse(r, n)) fdb.push_back(std::move(n));
            if (fdb.size() == kOverlapAt && !reader.joinable()) start_reader();
        }, [&] { fdb.clear(); });
    } catch (...) {
        if (reader.joinable()) reader.join();
        throw;
    }
    if (reader.joinable()) reader.join();
    else neighs = dump_neighs(h, l.ifindex);
    if (neigh_err) std::rethrow_exception(neigh_err);
    return peers_join(fdb, neighs);
}

std::vector<PeerEntry> peers_join(const std::vector<Neigh>& fdb, const std::vector<Neigh>& neighs) {
    // Each fdb entry takes the first neighbor with its MAC not taken yet, in dump order.
    MacIndex by_mac(neighs);
    std::vector<uint8_t> used(neighs.size());
    std::vector<PeerEntry> out;
    out.reserve(fdb.size() + 8);
    for (auto& f : fdb) {
        PeerEntry e;
        e.mac = f.lladdr;
        e.vtep = f.dst;
        e.fdb_state = f.state_name();
        e.flags = f.flag_names();
        e.link_netnsid = f.link_netnsid;
        // The bridge's entries for this port (NDA_MASTER) are the bridge's learning, not the VTEP's.
        if (f.master && !(f.flags & NTF_MASTER)) e.flags.push_back("master");
        bool perm = f.permanent();
        if (!f.dst.valid()) {
            e.status = perm || (f.state & NUD_NOARP) ? "local" : "learned";
            out.push_back(std::move(e));
            continue;
        }
        const Neigh* nb = nullptr;
        if (int32_t i = by_mac.take(f.lladdr); i >= 0) {
            nb = &neighs[size_t(i)];
            used[size_t(i)] = 1;
            e.ip = nb->dst;
            e.neigh_state = nb->state_name();
            e.status = perm && nb->permanent() ? "peer" : perm ? "fdb-only" : "learned";
        } else {
            e.status = perm ? "fdb-only" : "learned";
        }
        out.push_back(std::move(e));
    }
    for (size_t i = 0; i < neighs.size(); i++) {
        auto& n = neighs[i];
        // Multicast neighbors (ff02::*, 224.*) are the kernel's own, not peers.
        if (used[i] || !n.has_lladdr || is_multicast(n.dst)) continue;
        PeerEntry e;
        e.status = "neigh-only";
        e.ip = n.dst;
        e.mac = n.lladdr;
        e.neigh_state = n.state_name();
        out.push_back(std::move(e));
    }
    return out;
}

namespace {
// One RTM_GETNEIGH get request; false when the kernel has no such entry (ENOENT) or the entry
// is another device's (the bridge answers for its whole table), throws on other errors
// (EOPNOTSUPP: a kernel without fdb get; the caller falls back to a dump).
bool neigh_get(Handle& h, uint8_t family, int ifindex, uint8_t flags, const IpAddr* dst, const Mac* mac, Neigh& out) {
    void* hdr;
    NlMsg m = nl_new(RTM_GETNEIGH, 0, sizeof(ndmsg), &hdr);
    auto* nd = static_cast<ndmsg*>(hdr);
    nd->ndm_family = family;
    nd->ndm_ifindex = ifindex;
    nd->ndm_flags = flags;
    if (dst) nla_put(m.get(), NDA_DST, dst->family == AF_INET ? 4 : 16, dst->b.data());
    if (mac) nla_put(m.get(), NDA_LLADDR, 6, mac->b.data());
    bool found = false;
    std::string ext;
    int err = h.get(std::move(m), [&](const nlmsghdr* r) { found = Neigh::parse(r, out) && out.ifindex == ifindex; }, &ext);
    if (err == ENOENT) return false;
    if (err) throw Error(ErrorKind::Runtime, "RTM_GETNEIGH: " + std::string(std::strerror(err)) + (ext.empty() ? "" : ": " + ext), err);
    return found;
}
}  // namespace

std::vector<PeerEntry> fdb_lookup(Handle& h, const std::string& dev, const std::vector<IpAddr>& ips,
                                  const std::vector<Mac>& macs) {
    Link l = need_dev(h, dev);
    std::vector<Neigh> neighs, fdb;
    std::vector<IpAddr> want_ips;
    std::vector<Mac> want_macs = macs;
    auto add_ip = [&](const IpAddr& a) {
        if (a.valid() && std::find(want_ips.begin(), want_ips.end(), a) == want_ips.end()) want_ips.push_back(a);
    };
    for (auto& a : ips) add_ip(a);
    // Docker's MACs carry their IPv4 address (02:42:a:b:c:d): that neighbor joins the entry too.
    for (auto& m : macs)
        if (m.b[0] == 0x02 && m.b[1] == 0x42) add_ip(IpAddr::from_bytes(AF_INET, m.b.data() + 2));
    try {
        for (auto& a : want_ips) {
            Neigh n;
            if (!neigh_get(h, uint8_t(a.family), l.ifindex, 0, &a, nullptr, n) || !n.has_lladdr) continue;
            neighs.push_back(n);
            if (std::find(want_macs.begin(), want_macs.end(), n.lladdr) == want_macs.end()) want_macs.push_back(n.lladdr);
        }
        // The dump's order: the bridge's entry for the port (master), then the VTEP's own (self).
        for (auto& m : want_macs) {
            Neigh n;
            if (l.master && neigh_get(h, AF_BRIDGE, l.ifindex, NTF_MASTER, nullptr, &m, n)) fdb.push_back(n);
            if (neigh_get(h, AF_BRIDGE, l.ifindex, NTF_SELF, nullptr, &m, n)) fdb.push_back(n);
        }
    } catch (const Error& e) {
        if (e.err() != EOPNOTSUPP && e.err() != EINVAL) throw;
        // A kernel without fdb get: the whole table, the rows of these addresses.
        std::vector<PeerEntry> out;
        for (auto& r : fdb_show(h, dev))
            if (std::find(want_macs.begin(), want_macs.end(), r.mac) != want_macs.end() ||
                std::find(want_ips.begin(), want_ips.end(), r.ip) != want_ips.end())
                out.push_back(std::move(r));
        return out;
    }
    return peers_join(fdb, neighs);
}

// ---- mutations -------------------------------------------------------------------------------

namespace {
Neigh fdb_entry(int ifindex, const Mac& mac, const IpAddr& vtep) {
    Neigh n;
    n.family = AF_BRIDGE;
    n.ifindex = ifindex;
    n.lladdr = mac;
    n.has_lladdr = true;
    n.dst = vtep;
    n.state = NUD_PERMANENT;
    n.flags = NTF_SELF;
    return n;
}
Neigh neigh_entry(int ifindex, const IpAddr& ip, const Mac& mac) {
    Neigh n;
    n.family = ip.family;
    n.ifindex = ifindex;
    n.dst = ip;
    n.lladdr = mac;
    n.has_lladdr = true;
    n.state = NUD_PERMANENT;
    return n;
}

struct Op {
    Neigh n;
    bool del;
    size_t change;  // index into the change list
};

// Orders of Neigh by MAC and by IP, as Mac's and IpAddr's operator<, compared as integers.
bool mac_less(const Neigh& a, const Neigh& b) { return mac_u64(a.lladdr) < mac_u64(b.lladdr); }
bool ip_less(const Neigh& a, const Neigh& b) { return ip_key(a.dst, 0) < ip_key(b.dst, 0); }
}  // namespace

struct FdbSnapshot {
    std::exception_ptr dev_error;
    Link link;
    static constexpr int kFamilies[3] = {AF_BRIDGE, AF_INET, AF_INET6};
    std::vector<Neigh> table[3];
    std::exception_ptr error[3];
};

std::shared_ptr<FdbSnapshot> fdb_snapshot(Handle& h, const std::string& dev) {
    auto s = std::make_shared<FdbSnapshot>();
    try {
        s->link = need_dev(h, dev);
    } catch (...) {
        s->dev_error = std::current_exception();
        return s;
    }
    for (int i = 0; i < 3; i++) {
        try {
            s->table[i] = neigh_list(h, FdbSnapshot::kFamilies[i], s->link.ifindex);
        } catch (...) {
            s->error[i] = std::current_exception();
        }
    }
    return s;
}

void peers_validate(const std::vector<PeerSpec>& desired) {
    SetCheck check;
    check.reserve(desired.size());
    for (size_t i = 0; i < desired.size(); i++) check.entry(desired[i], i, [&] { return desired[i].label(); });
    check.finish([&](size_t i) { return desired[i].label(); });
}

namespace {
// A change of the plan, compact until the plan is complete (a pruned neighbor may still join a
// pruned fdb entry's change).
struct PlanChange {
    Action action;
    bool replaced;
    std::optional<IpAddr> ip;
    Mac mac;
    std::optional<IpAddr> vtep;
};

// The plan with its changes still compact: FdbPlan but for `changes`.
struct PlanDraft {
    FdbPlan plan;
    std::vector<PlanChange> ch;
};

// The change records of a plan: each address formatted once, then copied into the label and
// the report members (addresses and MACs need no JSON escaping), each string allocated once.
Changes change_records(const std::vector<PlanChange>& ch) {
    Changes out;
    out.reserve(ch.size());
    std::string ip, mac, vtep;
    for (auto& c : ch) {
        ip.clear(), mac.clear(), vtep.clear();
        if (c.ip) c.ip->append_to(ip);
        c.mac.append_to(mac);
        if (c.vtep) c.vtep->append_to(vtep);
        auto& r = out.emplace_back();
        r.action = c.action;
        r.how = c.replaced ? "replaced" : nullptr;
        append_label(r.object, ip, mac, vtep);
        // "ip":"IP","mac":"MAC","vtep":"VTEP" (null when absent)
        r.fields.reserve(30 + ip.size() + mac.size() + vtep.size());
        if (c.ip) r.fields.append("\"ip\":\"").append(ip).append("\",\"mac\":\"");
        else r.fields.append("\"ip\":null,\"mac\":\"");
        r.fields.append(mac);
        if (c.vtep) r.fields.append("\",\"vtep\":\"").append(vtep).append("\"");
        else r.fields.append("\",\"vtep\":null");
    }
    return out;
}

PlanDraft plan_draft(FdbState cur, const std::vector<PeerSpec>& desired, bool prune) {
    auto& fdb = cur.fdb;
    auto& neighs = cur.neighs;
    // Only the VXLAN device's own table: the bridge's entries for this port carry NDA_MASTER.
    std::erase_if(fdb, [](const Neigh& f) { return (f.flags & NTF_MASTER) || f.master; });
    std::sort(fdb.begin(), fdb.end(), mac_less);
    std::sort(neighs.begin(), neighs.end(), ip_less);
    // What the set names, sorted, for prune's lookups.
    std::vector<uint64_t> want_mac;
    std::vector<IpKey> want_ip;
    if (prune) {
        want_mac.reserve(desired.size());
        want_ip.reserve(desired.size());
        for (auto& p : desired) {
            if (p.vtep) want_mac.push_back(mac_u64(p.mac));
            if (p.ip) want_ip.push_back(ip_key(*p.ip, 0));
        }
        sort_keys(want_mac);
        sort_keys(want_ip);
    }

    PlanDraft draft;
    auto& ops = draft.plan.writes;
    auto& s = draft.plan.stats;
    auto& ch = draft.ch;
    ch.reserve(desired.size() + (prune ? fdb.size() + neighs.size() : 0));
    ops.reserve(desired.size() * 2 + (prune ? fdb.size() + neighs.size() : 0));
    for (size_t i = 0; i < desired.size(); i++) {
        auto& p = desired[i];
        auto c = uint32_t(ch.size());
        bool existed = false, fdb_differs = false, nb_differs = false;
        if (p.vtep) {
            Neigh key;
            key.lladdr = p.mac;
            auto [lo, hi] = std::equal_range(fdb.begin(), fdb.end(), key, mac_less);
            existed = lo != hi;
            // Equal only if the single entry is our permanent one. Other remotes for this MAC
            // (learned, or left by an earlier peer) go first, so no stale twin survives.
            bool equal = hi - lo == 1 && lo->permanent() && lo->dst == *p.vtep;
            if (!equal) {
                fdb_differs = true;
                // REPLACE rewrites the first remote in place (one atomic write); only extra
                // remotes need deleting.
                bool kept = std::any_of(lo, hi, [&](const Neigh& f) { return f.dst == *p.vtep; });
                for (auto it = lo; it != hi; ++it)
                    if (it->dst != *p.vtep) {
                        if (!kept) { kept = true; continue; }
                        Neigh d = *it;
                        d.flags = NTF_SELF;
                        d.state = 0;
                        ops.push_back({FdbWrite::FdbDel, d, c});
                    }
                ops.push_back({FdbWrite::FdbAdd, fdb_entry(cur.ifindex, p.mac, *p.vtep), c});
            }
        }
        if (p.ip) {
            Neigh key;
            key.dst = *p.ip;
            auto it = std::lower_bound(neighs.begin(), neighs.end(), key, ip_less);
            bool found = it != neighs.end() && it->dst == *p.ip;
            existed |= found;
            bool equal = found && it->permanent() && it->has_lladdr && it->lladdr == p.mac;
            if (!equal) {
                nb_differs = true;
                ops.push_back({FdbWrite::NeighAdd, neigh_entry(cur.ifindex, *p.ip, p.mac), c});
            }
        }
        if (!fdb_differs && !nb_differs) {
            s.unchanged++;
            continue;
        }
        ch.push_back({existed ? Action::Changed : Action::Added, existed, p.ip, p.mac, p.vtep});
        s.count(ch.back().action);
    }
    if (prune) {
        // A pruned peer is one change (and one "removed"), like an added one: its neighbor joins
        // the fdb entry's change for the same MAC.
        size_t prune_from = ops.size();
        std::unordered_map<Mac, size_t, MacHash> pruned_fdb;
        for (auto& f : fdb) {
            // The all-zeros entry is the device's default destination (its `remote`), not a peer.
            if (!f.permanent() || !f.dst.valid() || !(f.flags & NTF_SELF) || f.lladdr.is_zero() ||
                std::binary_search(want_mac.begin(), want_mac.end(), mac_u64(f.lladdr)))
                continue;
            Neigh d = f;
            d.flags = NTF_SELF;
            ops.push_back({FdbWrite::FdbPrune, d, uint32_t(ch.size())});
            pruned_fdb.emplace(f.lladdr, ch.size());
            ch.push_back({Action::Removed, false, std::nullopt, f.lladdr, f.dst});
            s.removed++;
        }
        for (auto& n : neighs) {
            if (!n.permanent() || std::binary_search(want_ip.begin(), want_ip.end(), ip_key(n.dst, 0))) continue;
            Neigh d = n;
            d.has_lladdr = false;
            auto j = n.has_lladdr ? pruned_fdb.find(n.lladdr) : pruned_fdb.end();
            if (j != pruned_fdb.end() && !ch[j->second].ip) {
                ops.push_back({FdbWrite::NeighPrune, d, uint32_t(j->second)});
                ch[j->second].ip = n.dst;
                continue;
            }
            ops.push_back({FdbWrite::NeighPrune, d, uint32_t(ch.size())});
            ch.push_back({Action::Removed, false, n.dst, n.lladdr, std::nullopt});
            s.removed++;
        }
        // A pruned peer's two deletes next to each other, so that they share a sendmsg() (see
        // fdb_apply_set): fdb entries in MAC order, each followed by its neighbor.
        std::stable_sort(ops.begin() + prune_from, ops.end(),
                         [](const FdbWrite& a, const FdbWrite& b) { return a.change < b.change; });
    }
    s.writes = ops.size();
    return draft;
}
}  // namespace

FdbPlan fdb_plan(FdbState cur, const std::vector<PeerSpec>& desired, bool prune) {
    PlanDraft d = plan_draft(std::move(cur), desired, prune);
    d.plan.changes = change_records(d.ch);
    return std::move(d.plan);
}

Changes fdb_apply_set(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired, bool prune,
                      ChangeStats* stats, FdbSnapshot* snap) {
    // Read the device (or take it from the snapshot, raising what reading it raised).
    if (snap && snap->dev_error) std::rethrow_exception(snap->dev_error);
    Link l = snap ? snap->link : need_dev(h, dev);
    // Validate the whole set before reading the tables and before the first write.
    std::string obj = "vtep " + dev;
    bool any_vtep = std::any_of(desired.begin(), desired.end(), [](auto& p) { return bool(p.vtep); });
    if ((any_vtep || prune) && l.kind != "vxlan") throw_input(obj, "dev", dev, "is not a vxlan device");
    if (desired.size() >= UINT32_MAX) throw_input(obj, "peers", std::to_string(desired.size()), "too many entries");
    peers_validate(desired);
    // Read the tables the plan needs: dumped now, or taken from the snapshot.
    auto dump = [&](int i) {
        if (!snap) return neigh_list(h, FdbSnapshot::kFamilies[i], l.ifindex);
        if (snap->error[i]) std::rethrow_exception(snap->error[i]);
        return std::move(snap->table[i]);
    };
    FdbState cur;
    cur.ifindex = l.ifindex;
    cur.fdb = dump(0);
    bool need4 = prune || std::any_of(desired.begin(), desired.end(), [](auto& p) { return p.ip && p.ip->family == AF_INET; });
    bool need6 = prune || std::any_of(desired.begin(), desired.end(), [](auto& p) { return p.ip && p.ip->family == AF_INET6; });
    if (need4) cur.neighs = dump(1);
    if (need6) {
        auto v6 = dump(2);
        cur.neighs.insert(cur.neighs.end(), v6.begin(), v6.end());
    }

    // The plan (fdb_plan), its change records written on a second thread while the kernel works
    // through the batch when there are many (100,000: about 15 ms of formatting).
    PlanDraft d = plan_draft(std::move(cur), desired, prune);
    if (stats) *stats = d.plan.stats;
    auto& ops = d.plan.writes;
    if (ops.empty()) return change_records(d.ch);
    Changes ch;
    std::exception_ptr ch_err;
    std::thread records;
    if (d.ch.size() >= 4096)
        records = std::thread([&] {
            try {
                ch = change_records(d.ch);
            } catch (...) {
                ch_err = std::current_exception();
            }
        });
    else
        ch = change_records(d.ch);
    std::vector<BatchError> errs;
    try {
        // A peer's writes (one change) go into one sendmsg(): written whole even if the process is
        // killed midway, so a kill -9 never leaves an fdb entry without its neighbor.
        errs = h.batch_fill(ops.size(), [&](size_t i, nl_msg* m) { ops[i].entry.fill(m, ops[i].del()); },
                            [&](size_t i) { return ops[i].change == ops[i - 1].change; });
    } catch (...) {
        if (records.joinable()) records.join();
        throw;
    }
    if (records.joinable()) records.join();
    if (ch_err) std::rethrow_exception(ch_err);
    // Another program (not under ovnet's lock) may have done a delete or an add already.
    std::erase_if(errs, [&](const BatchError& e) { return benign_batch_error(ops[e.index].del(), e.err); });
    if (!errs.empty()) {
        // A peer is its neighbor and its fdb entry together: when the kernel refused one half of
        // a peer this call added, take the other half back out rather than leave it half-made.
        std::vector<bool> failed_op(ops.size());
        std::vector<bool> failed_change(ch.size() + 1);
        for (auto& e : errs) {
            failed_op[e.index] = true;
            failed_change[ops[e.index].change] = true;
        }
        std::vector<Neigh> undo;
        for (size_t i = 0; i < ops.size(); i++) {
            auto c = ops[i].change;
            if (failed_op[i] || ops[i].del() || !failed_change[c] || c >= ch.size() || ch[c].action != Action::Added)
                continue;
            Neigh d = ops[i].entry;
            if (d.family != AF_BRIDGE) d.has_lladdr = false;
            undo.push_back(d);
        }
        if (!undo.empty()) h.batch_fill(undo.size(), [&](size_t i, nl_msg* m) { undo[i].fill(m, true); });
        auto& e = errs.front();
        auto& op = ops[e.index];
        std::string what = op.del() ? "delete" : "program";
        what += op.fdb() ? " fdb entry" : " neighbor";
        if (errs.size() > 1) what += fmt::format(" ({} of {} requests failed; first shown)", errs.size(), ops.size());
        throw_sys(e.err, what, e.extack, ch[op.change].object);
    }
    return ch;
}

Changes fdb_apply(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired, bool prune,
                  ChangeStats* stats) {
    // The small verbs' report keeps its form: the peer's members in a "detail" object.
    Changes ch = fdb_apply_set(h, dev, desired, prune, stats);
    for (auto& c : ch) c.fields = "\"detail\":{" + c.fields + "}";
    return ch;
}

Changes fdb_add(Handle& h, const std::string& dev, const PeerSpec& p) {
    auto ch = fdb_apply(h, dev, {p}, false);
    if (ch.empty()) ch.push_back(Change{Action::Unchanged, p.label()});
    return ch;
}

Changes fdb_del(Handle& h, const std::string& dev, const PeerSpec& p) {
    Link l = need_dev(h, dev);
    auto fdb = neigh_list(h, AF_BRIDGE, l.ifindex);
    auto neighs = dump_neighs(h, l.ifindex);
    Changes ch;
    std::vector<Op> ops;
    for (auto& f : fdb) {
        if (f.lladdr != p.mac || !f.dst.valid() || (p.vtep && f.dst != *p.vtep)) continue;
        ch.push_back(Change{Action::Removed, "fdb entry " + f.lladdr.str() + " via " + f.dst.str()});
        Neigh d = f;
        d.flags |= NTF_SELF;
        ops.push_back({d, true, ch.size() - 1});
    }
    for (auto& n : neighs) {
        if (!n.has_lladdr || n.lladdr != p.mac || (p.ip && n.dst != *p.ip)) continue;
        ch.push_back(Change{Action::Removed, "neighbor " + n.dst.str() + " " + n.lladdr.str()});
        Neigh d = n;
        d.has_lladdr = false;
        ops.push_back({d, true, ch.size() - 1});
    }
    if (ops.empty()) return {Change::with_detail(Action::Unchanged, p.label(), json{{"reason", "no such entries"}})};
    auto errs = h.batch(ops.size(), [&](size_t i) { return ops[i].n.msg(true); });
    if (!errs.empty()) throw_sys(errs[0].err, "delete", errs[0].extack, ch[ops[errs[0].index].change].object);
    return ch;
}

namespace {
// The address the VTEP's packets leave from when it has no `local`: the kernel picks it, in the
// namespace that holds the VTEP's UDP socket (IFLA_LINK_NETNSID: Docker creates vxlan0 in the
// daemon's namespace and moves it into 1-<id>), by routing toward the remote VTEP. So: ask that
// namespace's routing for the source toward the peers already programmed; with none, the default
// route's source, or its one global address of the family. Anything else cannot be told here.
IpAddr vtep_source(Handle& h, const Link& l, const std::string& obj) {
    auto give = [&](const std::string& why) -> IpAddr {
        throw_input(obj, "vtep", "", why + "; give the underlay address with --vtep");
    };
    std::optional<Handle> other;
    Handle* sh = &h;
    std::string where = "its namespace";
    if (l.link_netnsid >= 0) {
        PeerResolver r(h);
        std::string path = r.netns_path(l.link_netnsid);
        where = "namespace " + r.netns_label(l.link_netnsid);
        if (path.empty())
            give(fmt::format("the VTEP has no local address and its UDP socket is in link-netnsid {}, which no "
                             "named namespace is", l.link_netnsid));
        other.emplace(path);
        sh = &*other;
    }
    if (l.vxlan->dev && l.link_netnsid < 0)
        for (auto& a : addr_list(h, l.vxlan->dev))
            if (a.prefix.addr.family == AF_INET) return a.prefix.addr;
    // The remote VTEPs programmed on this device (the fdb entries with a dst), each once.
    std::vector<IpAddr> remotes;
    for (auto& f : neigh_list(h, AF_BRIDGE, l.ifindex)) {
        if (!f.dst.valid() || f.dst.b == std::array<uint8_t, 16>{} || is_multicast(f.dst)) continue;
        if (std::find(remotes.begin(), remotes.end(), f.dst) == remotes.end()) remotes.push_back(f.dst);
        if (remotes.size() == 16) break;   // enough to tell; one lookup each
    }
    IpAddr src;
    std::string src_for;
    for (auto& dst : remotes) {
        IpAddr s = route_source(*sh, dst);
        if (!s.valid()) continue;
        if (src.valid() && s != src)
            give(fmt::format("in {} the routes toward the peers leave from different addresses ({} toward {}, {} "
                             "toward {})", where, src.str(), src_for, s.str(), dst.str()));
        if (!src.valid()) src = s, src_for = dst.str();
    }
    if (src.valid()) return src;
    if (!remotes.empty())
        give(fmt::format("the VTEP has no local address and {} has no route toward its peers ({})", where,
                         remotes[0].str()));
    int family = AF_INET;
    if (IpAddr d = default_route_source(*sh, family); d.valid()) return d;
    std::vector<IpAddr> global;
    for (auto& a : addr_list(*sh))
        if (a.prefix.addr.family == family && a.scope == 0 && a.prefix.addr.b[0] != 127) global.push_back(a.prefix.addr);
    if (global.size() == 1) return global[0];
    std::string list;
    for (auto& a : global) list += (list.empty() ? "" : ", ") + a.str();
    return give(fmt::format("the VTEP has no local address, no peers to route toward, and {} has no default route with a "
                     "source and {} global IPv4 addresses{}", where, global.size(), list.empty() ? "" : " (" + list + ")"));
}
}  // namespace

std::vector<PeerEntry> fdb_local(Handle& h, const std::string& dev, const std::optional<IpAddr>& vtep_in) {
    Link l = need_dev(h, dev);
    std::string obj = "vtep " + dev;
    if (l.kind != "vxlan" || !l.vxlan) throw_input(obj, "dev", dev, "is not a vxlan device");
    if (!l.master) throw_input(obj, "dev", dev, "is not attached to a bridge, so it has no local endpoints");
    IpAddr vtep;
    if (vtep_in) vtep = *vtep_in;
    else if (l.vxlan->local.valid()) vtep = l.vxlan->local;
    else vtep = vtep_source(h, l, obj);
    auto br = link_get(h, l.master);
    if (!br) throw_sys(ENODEV, "read the bridge of " + dev, {}, obj);
    auto bridges = bridge_show(h, br->name);
    // Every endpoint must be readable before anything is printed: a sandbox left out would make
    // the other nodes drop its peer (apply --prune).
    for (auto& b : bridges)
        for (auto& port : b.ports)
            if (port.peer && netns_label_is_nsid(port.peer->netns))
                throw Error(ErrorKind::Runtime,
                            fmt::format("bridge {} port {}: its veth peer is in {} (link-netnsid {}), which no named "
                                        "namespace is, so its endpoint cannot be read (give Docker's namespace "
                                        "directory with --docker-netns-dir, or bind-mount it under /run/netns)",
                                        b.name, port.name, port.peer->netns,
                                        port.peer->netns.substr(std::string_view("nsid:").size())),
                            0, {}, obj + " port " + port.name, "link_netnsid");
    std::vector<PeerEntry> out;
    for (auto& b : bridges) {
        for (auto& port : b.ports) {
            if (!port.peer || port.peer->netns.empty()) continue;
            Handle ph(netns_label_path(port.peer->netns));
            auto inner = link_get(ph, port.peer->ifindex);
            if (!inner) continue;
            IpAddr ip;
            for (auto& a : addr_list(ph, inner->ifindex))
                if (!ip.valid() || (a.prefix.addr.family == AF_INET && ip.family != AF_INET)) ip = a.prefix.addr;
            if (!ip.valid()) continue;
            PeerEntry e;
            e.status = "endpoint";
            e.ip = ip;
            e.mac = inner->mac;
            e.vtep = vtep;
            out.push_back(std::move(e));
        }
    }
    return out;
}

bool benign_batch_error(bool del, int err) {
    // The state the request was meant to reach is already there (a concurrent writer outside our
    // lock, e.g. iproute2, got there first): a delete that finds nothing, an add that finds it.
    return del ? err == ENOENT : err == EEXIST;
}

std::string fdb_pick_dev(Handle& h, const std::string& dev) {
    if (!dev.empty()) return dev;
    std::vector<std::string> vx;
    for (auto& l : link_list(h))
        if (l.kind == "vxlan") vx.push_back(l.name);
    if (vx.size() == 1) return vx[0];
    throw_input("vtep", "dev", "", vx.empty() ? "no vxlan device in this namespace" : "several vxlan devices: choose one with -d");
}

Changes fdb_apply_read(const std::string& netns, const std::string& dev, std::istream& in,
                       const std::optional<IpAddr>& default_vtep, bool prune, ChangeStats* stats, std::string* dev_out,
                       const FdbSetCheck& check) {
    // The namespace's side is read while the set is parsed: both cost about as much as the writes.
    std::optional<Handle> h;
    std::string d;
    std::shared_ptr<FdbSnapshot> snap;
    std::exception_ptr err;
    std::thread reader([&] {
        try {
            h.emplace(netns);
            d = fdb_pick_dev(*h, dev);
            snap = fdb_snapshot(*h, d);
        } catch (...) {
            err = std::current_exception();
        }
    });
    std::vector<PeerSpec> specs;
    try {
        specs = peers_read(in, default_vtep);
    } catch (...) {
        reader.join();
        throw;
    }
    reader.join();
    if (err) std::rethrow_exception(err);
    if (dev_out) *dev_out = d;
    if (check) check(specs, d);
    return fdb_apply_set(*h, d, specs, prune, stats, snap.get());
}

}  // namespace ovnet
