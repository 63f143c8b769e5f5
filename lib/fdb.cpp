#include "ovnet/fdb.hpp"

#include <linux/neighbour.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "ovnet/addr.hpp"
#include "ovnet/bridge.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/neigh.hpp"
#include "ovnet/netlink.hpp"

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

std::string PeerSpec::label() const {
    std::string s = ip ? "peer " + ip->str() + " " + mac.str() : "fdb entry " + mac.str();
    if (vtep) s += " via " + vtep->str();
    return s;
}

json PeerEntry::to_json() const {
    json j = {{"status", status}, {"ip", ip.valid() ? json(ip.str()) : json(nullptr)}, {"mac", mac.str()},
              {"vtep", vtep.valid() ? json(vtep.str()) : json(nullptr)}};
    if (!fdb_state.empty()) j["fdb_state"] = fdb_state;
    if (!neigh_state.empty()) j["neigh_state"] = neigh_state;
    if (!flags.empty()) j["flags"] = flags;
    return j;
}

// ---- input -----------------------------------------------------------------------------------
//
// A desired set can hold 100,000 peers: building a DOM for it costs more than programming the
// kernel, so peers_read() parses with SAX into flat records. peers_from_json() turns DOM objects
// into the same records, so both paths share one set of rules.

namespace {

struct Val {
    enum Type { Null, Str, Num, Bool, StrArray, Other } t = Null;
    std::string s;                  // Str; for Num/Bool/Other the JSON text, for error messages
    std::vector<std::string> arr;   // StrArray
    bool b = false;
};

struct Record {
    std::vector<std::pair<std::string, Val>> fields;
    // A key given twice counts once, with its last value, as in a DOM.
    const Val* get(std::string_view k) const {
        for (auto it = fields.rbegin(); it != fields.rend(); ++it)
            if (it->first == k) return it->second.t == Val::Null ? nullptr : &it->second;
        return nullptr;
    }
    bool has(std::string_view k) const {
        for (auto& f : fields)
            if (f.first == k) return true;
        return false;
    }
};

Val val_from_json(const json& v) {
    Val x;
    if (v.is_null()) return x;
    if (v.is_string()) { x.t = Val::Str; x.s = v.get<std::string>(); return x; }
    if (v.is_boolean()) { x.t = Val::Bool; x.b = v.get<bool>(); x.s = v.dump(); return x; }
    if (v.is_number()) { x.t = Val::Num; x.s = v.dump(); return x; }
    if (v.is_array()) {
        bool strings = true;
        for (auto& e : v) strings &= e.is_string();
        if (strings) {
            x.t = Val::StrArray;
            for (auto& e : v) x.arr.push_back(e.get<std::string>());
            return x;
        }
    }
    x.t = Val::Other;
    x.s = v.dump();
    return x;
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

class SetBuilder {
public:
    SetBuilder(const std::optional<IpAddr>& dv) : default_vtep_(dv) {}

    void add(const Record& o) {
        n_++;
        std::string obj = fmt::format("entry #{}", n_);
        PeerSpec p;
        bool iproute = o.has("ifname") || o.has("dst") || o.has("master") || (o.has("state") && !o.has("status"));
        if (iproute) {
            check(o, {"mac", "ifname", "dst", "state", "flags", "master", "vlan", "vni", "port", "via", "viaIf",
                      "viaIfIndex", "src_vni", "linkNetNsId", "nhid", "updated", "used", "sticky"}, obj);
            Mac mac = need_mac(o, obj);
            obj = "fdb entry " + mac.str();
            std::string state = str(o, "state", obj).value_or("");
            auto dst = ip(o, "dst", obj);
            bool master = o.has("master");
            if (auto* f = o.get("flags")) {
                if (f->t != Val::StrArray) bad(obj, "flags", *f, "must be an array of strings");
                for (auto& x : f->arr) master |= x == "master";
            }
            // Only permanent unicast entries pointing at a remote VTEP describe peers.
            if (!dst || state != "permanent" || master || mac.is_zero() || mac.is_multicast()) return;
            p.mac = mac;
            p.vtep = dst;
        } else {
            check(o, {"status", "ip", "mac", "vtep", "fdb_state", "neigh_state", "flags", "dev"}, obj);
            std::string status = str(o, "status", obj).value_or("peer");
            if (status == "learned" || status == "local") return;
            if (status != "peer" && status != "fdb-only" && status != "neigh-only" && status != "endpoint")
                throw_input(obj, "status", status, "must be peer, fdb-only, neigh-only, endpoint, learned or local");
            p.mac = need_mac(o, obj);
            p.ip = ip(o, "ip", obj);
            p.vtep = ip(o, "vtep", obj);
            obj = p.ip ? "peer " + p.ip->str() : "entry " + p.mac.str();
            if (status == "fdb-only" && p.ip) throw_input(obj, "ip", p.ip->str(), "an fdb-only entry has no ip");
            if (status == "neigh-only" && p.vtep) throw_input(obj, "vtep", p.vtep->str(), "a neigh-only entry has no vtep");
            if (!p.vtep && status != "neigh-only") p.vtep = default_vtep_;
            if (!p.ip && !p.vtep) throw_input(obj, "vtep", "", "an entry needs an ip, a vtep, or both");
        }
        if (p.mac.is_zero() || p.mac.is_multicast())
            throw_input(obj, "mac", p.mac.str(), "a peer MAC must be unicast and non-zero");
        if (p.vtep) {
            auto& v = *p.vtep;
            bool zero = v.b == std::array<uint8_t, 16>{};
            bool mcast = v.family == AF_INET ? (v.b[0] & 0xf0) == 0xe0 : v.b[0] == 0xff;
            if (zero || mcast) throw_input(obj, "vtep", v.str(), "a VTEP address must be unicast");
            if (!vtep_family_) vtep_family_ = v.family;
            else if (vtep_family_ != v.family)
                throw_input(obj, "vtep", v.str(), "mixes IPv4 and IPv6 VTEPs: one VXLAN device has one underlay family");
        }
        macs_.emplace_back(p.mac, n_);
        if (p.ip) ips_.emplace_back(*p.ip, n_);
        out.push_back(p);
    }
    /// Duplicate MACs and IPs, found by sorting once the whole set is read.
    std::vector<PeerSpec> finish() {
        dup(macs_, "mac");
        dup(ips_, "ip");
        return std::move(out);
    }
    std::vector<PeerSpec> out;

private:
    [[noreturn]] static void bad(const std::string& obj, const std::string& f, const Val& v, const std::string& why) {
        throw_input(obj, f, v.s.size() > 64 ? v.s.substr(0, 61) + "..." : v.s, why);
    }
    static void check(const Record& o, std::initializer_list<const char*> known, const std::string& obj) {
        for (auto& [k, v] : o.fields) {
            bool ok = false;
            for (const char* x : known) ok |= k == x;
            if (!ok) bad(obj, k, v, "unknown field");
        }
    }
    static std::optional<std::string> str(const Record& o, const char* k, const std::string& obj) {
        const Val* v = o.get(k);
        if (!v) return std::nullopt;
        if (v->t != Val::Str) bad(obj, k, *v, fmt::format("must be a string, not {}", type_name(*v)));
        return v->s;
    }
    static std::optional<IpAddr> ip(const Record& o, const char* k, const std::string& obj) {
        auto s = str(o, k, obj);
        if (!s) return std::nullopt;
        IpAddr a;
        if (!IpAddr::try_parse(*s, a)) throw_input(obj, k, *s, "not an IPv4 or IPv6 address");
        return a;
    }
    static Mac need_mac(const Record& o, const std::string& obj) {
        auto s = str(o, "mac", obj);
        if (!s) throw_input(obj, "mac", "", "required field is missing");
        Mac m;
        if (!Mac::try_parse(*s, m)) throw_input(obj, "mac", *s, "not a MAC address (aa:bb:cc:dd:ee:ff)");
        return m;
    }

    std::optional<IpAddr> default_vtep_;
    int vtep_family_ = 0;
    size_t n_ = 0;
    std::vector<std::pair<Mac, size_t>> macs_;
    std::vector<std::pair<IpAddr, size_t>> ips_;

    template <class K>
    void dup(std::vector<std::pair<K, size_t>>& v, const char* field) {
        std::sort(v.begin(), v.end());
        for (size_t i = 1; i < v.size(); i++)
            if (v[i].first == v[i - 1].first) {
                throw_input(fmt::format("entry #{}", v[i].second), field, v[i].first.str(),
                            fmt::format("appears twice in the set (entries #{} and #{})", v[i - 1].second, v[i].second));
            }
    }
};

// SAX handler: top-level objects, or objects inside one top-level array, become records. Deeper
// values are kept only as arrays of strings (flags); anything else is recorded as "Other".
struct Sax : nlohmann::json_sax<json> {
    SetBuilder& b;
    std::string what;
    int depth = 0;          // nesting, counting arrays and objects
    int rec_depth = -1;     // depth of the current record's object
    Record rec;
    std::string cur_key;
    bool in_arr = false;    // inside an array that is a record field
    int skip = 0;           // nesting inside an unsupported field value
    size_t base;            // offset of this document in the stream
    Sax(SetBuilder& bb, std::string w, size_t off) : b(bb), what(std::move(w)), base(off) {}

    void top_level_scalar(const std::string& text) {
        throw_input(fmt::format("{}: expected a JSON object, got {}", what, text));
    }
    bool field(Val v) {
        if (skip) return true;
        if (in_arr) {
            if (v.t == Val::Str) rec.fields.back().second.arr.push_back(v.s);
            else rec.fields.back().second.t = Val::Other;
            return true;
        }
        if (rec_depth < 0) top_level_scalar(v.s.empty() ? type_name(v) : v.s);
        rec.fields.emplace_back(cur_key, std::move(v));
        return true;
    }
    bool null() override { return field(Val{}); }
    bool boolean(bool x) override { Val v; v.t = Val::Bool; v.b = x; v.s = x ? "true" : "false"; return field(v); }
    bool number_integer(json::number_integer_t x) override { Val v; v.t = Val::Num; v.s = std::to_string(x); return field(v); }
    bool number_unsigned(json::number_unsigned_t x) override { Val v; v.t = Val::Num; v.s = std::to_string(x); return field(v); }
    bool number_float(json::number_float_t, const std::string& s) override { Val v; v.t = Val::Num; v.s = s; return field(v); }
    bool string(std::string& s) override { Val v; v.t = Val::Str; v.s = std::move(s); return field(v); }
    bool binary(json::binary_t&) override { return true; }
    bool start_object(std::size_t) override {
        depth++;
        if (skip) { skip++; return true; }
        if (rec_depth < 0) {
            rec_depth = depth;
            rec.fields.clear();
            return true;
        }
        // An object as a field value: keep its text only as "object" for the error message.
        Val v; v.t = Val::Other; v.s = "{...}";
        if (in_arr) rec.fields.back().second.t = Val::Other;
        else rec.fields.emplace_back(cur_key, v);
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
        if (in_arr) { rec.fields.back().second.t = Val::Other; skip = 1; return true; }
        Val v; v.t = Val::StrArray; v.s = "[...]";
        rec.fields.emplace_back(cur_key, v);
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
        if (!skip && !in_arr) cur_key = std::move(k);
        return true;
    }
    bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
        throw_input(fmt::format("{}: malformed JSON at byte {}: {}", what, base + (pos ? pos - 1 : 0), e.what()));
    }
};

}  // namespace

std::vector<PeerSpec> peers_from_json(const std::vector<json>& docs, const std::optional<IpAddr>& default_vtep) {
    SetBuilder b(default_vtep);
    b.out.reserve(docs.size());
    size_t n = 0;
    for (auto& o : docs) {
        n++;
        require_object(o, fmt::format("entry #{}", n));
        Record r;
        for (auto& [k, v] : o.items()) r.fields.emplace_back(k, val_from_json(v));
        b.add(r);
    }
    return b.finish();
}

std::vector<PeerSpec> peers_read(std::istream& in, const std::optional<IpAddr>& default_vtep, const std::string& what) {
    SetBuilder b(default_vtep);
    for_each_json_span(in, what, [&](std::string_view span, size_t off) {
        Sax sax(b, what, off);
        json::sax_parse(span.begin(), span.end(), &sax);
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

std::vector<Neigh> dump_neighs(Handle& h, int ifindex) {
    auto v4 = neigh_list(h, AF_INET, ifindex);
    auto v6 = neigh_list(h, AF_INET6, ifindex);
    v4.insert(v4.end(), v6.begin(), v6.end());
    return v4;
}
}  // namespace

std::vector<PeerEntry> fdb_show(Handle& h, const std::string& dev) {
    Link l = need_dev(h, dev);
    auto fdb = neigh_list(h, AF_BRIDGE, l.ifindex);
    auto neighs = dump_neighs(h, l.ifindex);
    std::unordered_map<Mac, std::vector<const Neigh*>, MacHash> by_mac;
    for (auto& n : neighs)
        if (n.has_lladdr) by_mac[n.lladdr].push_back(&n);
    std::unordered_set<const Neigh*> used;
    std::vector<PeerEntry> out;
    out.reserve(fdb.size() + 8);
    for (auto& f : fdb) {
        PeerEntry e;
        e.mac = f.lladdr;
        e.vtep = f.dst;
        e.fdb_state = f.state_name();
        e.flags = f.flag_names();
        // The bridge's entries for this port (NDA_MASTER) are the bridge's learning, not the VTEP's.
        if (f.master && !(f.flags & NTF_MASTER)) e.flags.push_back("master");
        bool perm = f.permanent();
        if (!f.dst.valid()) {
            e.status = perm || (f.state & NUD_NOARP) ? "local" : "learned";
            out.push_back(std::move(e));
            continue;
        }
        const Neigh* nb = nullptr;
        if (auto it = by_mac.find(f.lladdr); it != by_mac.end())
            for (auto* n : it->second)
                if (!used.count(n)) { nb = n; break; }
        if (nb) {
            used.insert(nb);
            e.ip = nb->dst;
            e.neigh_state = nb->state_name();
            e.status = perm && nb->permanent() ? "peer" : perm ? "fdb-only" : "learned";
        } else {
            e.status = perm ? "fdb-only" : "learned";
        }
        out.push_back(std::move(e));
    }
    for (auto& n : neighs) {
        // Multicast neighbors (ff02::*, 224.*) are the kernel's own, not peers.
        bool mcast = n.dst.family == AF_INET6 ? n.dst.b[0] == 0xff : (n.dst.b[0] & 0xf0) == 0xe0;
        if (used.count(&n) || !n.has_lladdr || mcast) continue;
        PeerEntry e;
        e.status = "neigh-only";
        e.ip = n.dst;
        e.mac = n.lladdr;
        e.neigh_state = n.state_name();
        out.push_back(std::move(e));
    }
    return out;
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

template <class T>
bool sorted_has(const std::vector<T>& v, const T& x) {
    return std::binary_search(v.begin(), v.end(), x);
}

// Duplicate check by sorting (index kept for the message): no per-entry allocation.
template <class Key>
void no_duplicates(std::vector<std::pair<Key, size_t>>& v, const std::vector<PeerSpec>& desired, const char* field) {
    std::sort(v.begin(), v.end());
    for (size_t i = 1; i < v.size(); i++)
        if (v[i].first == v[i - 1].first) {
            auto& p = desired[v[i].second];
            throw_input(p.label(), field, v[i].first.str(),
                        fmt::format("appears twice in the set (entries #{} and #{})", v[i - 1].second + 1, v[i].second + 1));
        }
}
}  // namespace

std::string PeerChange::label() const {
    PeerSpec p{ip, mac, vtep};
    return p.label();
}

std::vector<PeerChange> fdb_apply_set(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired,
                                      bool prune, ApplyStats* st) {
    Link l = need_dev(h, dev);
    std::string obj = "vtep " + dev;
    bool any_vtep = std::any_of(desired.begin(), desired.end(), [](auto& p) { return bool(p.vtep); });
    if ((any_vtep || prune) && l.kind != "vxlan") throw_input(obj, "dev", dev, "is not a vxlan device");
    // Validate the whole set before the first write.
    std::vector<Mac> want_mac;
    std::vector<IpAddr> want_ip;
    {
        std::vector<std::pair<Mac, size_t>> macs;
        std::vector<std::pair<IpAddr, size_t>> ips;
        macs.reserve(desired.size());
        ips.reserve(desired.size());
        for (size_t i = 0; i < desired.size(); i++) {
            auto& p = desired[i];
            if (!p.ip && !p.vtep) throw_input(p.label(), "vtep", "", "an entry needs an ip, a vtep, or both");
            if (p.mac.is_zero() || p.mac.is_multicast())
                throw_input(p.label(), "mac", p.mac.str(), "a peer MAC must be unicast and non-zero");
            macs.emplace_back(p.mac, i);
            if (p.ip) ips.emplace_back(*p.ip, i);
        }
        no_duplicates(macs, desired, "mac");
        no_duplicates(ips, desired, "ip");
        for (auto& [m, i] : macs)
            if (desired[i].vtep) want_mac.push_back(m);
        for (auto& [a, i] : ips) want_ip.push_back(a);
    }
    auto fdb = neigh_list(h, AF_BRIDGE, l.ifindex);
    bool need4 = prune || std::any_of(desired.begin(), desired.end(), [](auto& p) { return p.ip && p.ip->family == AF_INET; });
    bool need6 = prune || std::any_of(desired.begin(), desired.end(), [](auto& p) { return p.ip && p.ip->family == AF_INET6; });
    std::vector<Neigh> neighs;
    if (need4) neighs = neigh_list(h, AF_INET, l.ifindex);
    if (need6) {
        auto v6 = neigh_list(h, AF_INET6, l.ifindex);
        neighs.insert(neighs.end(), v6.begin(), v6.end());
    }
    // Only the VXLAN device's own table: the bridge's entries for this port carry NDA_MASTER.
    std::erase_if(fdb, [](const Neigh& f) { return (f.flags & NTF_MASTER) || f.master; });
    auto by_mac = [](const Neigh& a, const Neigh& b) { return a.lladdr < b.lladdr; };
    std::sort(fdb.begin(), fdb.end(), by_mac);
    auto by_ip = [](const Neigh& a, const Neigh& b) { return a.dst < b.dst; };
    std::sort(neighs.begin(), neighs.end(), by_ip);

    std::vector<PeerChange> ch;
    std::vector<Op> ops;
    ops.reserve(desired.size() * 2);
    ApplyStats local;
    ApplyStats& s = st ? *st : local;
    s = ApplyStats{};
    for (auto& p : desired) {
        bool existed = false, fdb_differs = false, nb_differs = false;
        if (p.vtep) {
            Neigh key;
            key.lladdr = p.mac;
            auto [lo, hi] = std::equal_range(fdb.begin(), fdb.end(), key, by_mac);
            existed = lo != hi;
            // Equal only if the single entry is our permanent one. Other remotes for this MAC
            // (learned, or left by an earlier peer) go first, so no stale twin survives.
            bool equal = hi - lo == 1 && lo->permanent() && lo->dst == *p.vtep;
            if (!equal) {
                fdb_differs = true;
                // REPLACE rewrites the first remote in place (one atomic write); only extra
                // remotes need deleting.
                bool match = std::any_of(lo, hi, [&](const Neigh& f) { return f.dst == *p.vtep; });
                bool kept = match;
                for (auto it = lo; it != hi; ++it)
                    if (it->dst != *p.vtep) {
                        if (!kept) { kept = true; continue; }
                        Neigh d = *it;
                        d.flags = NTF_SELF;
                        d.state = 0;
                        ops.push_back({d, true, ch.size()});
                    }
                ops.push_back({fdb_entry(l.ifindex, p.mac, *p.vtep), false, ch.size()});
            }
        }
        if (p.ip) {
            Neigh key;
            key.dst = *p.ip;
            auto it = std::lower_bound(neighs.begin(), neighs.end(), key, by_ip);
            bool found = it != neighs.end() && it->dst == *p.ip;
            existed |= found;
            bool equal = found && it->permanent() && it->has_lladdr && it->lladdr == p.mac;
            if (!equal) {
                nb_differs = true;
                ops.push_back({neigh_entry(l.ifindex, *p.ip, p.mac), false, ch.size()});
            }
        }
        if (!fdb_differs && !nb_differs) {
            s.unchanged++;
            continue;
        }
        ch.push_back({existed ? PeerChange::Replaced : PeerChange::Added, p.ip, p.mac, p.vtep});
        (existed ? s.replaced : s.added)++;
    }
    if (prune) {
        // A pruned peer is one change (and one "removed"), like an added one: its neighbor joins
        // the fdb entry's change for the same MAC.
        std::unordered_map<Mac, size_t, MacHash> pruned_fdb;
        for (auto& f : fdb) {
            // The all-zeros entry is the device's default destination (its `remote`), not a peer.
            if (!f.permanent() || !f.dst.valid() || !(f.flags & NTF_SELF) || f.lladdr.is_zero() ||
                sorted_has(want_mac, f.lladdr))
                continue;
            Neigh d = f;
            d.flags = NTF_SELF;
            ops.push_back({d, true, ch.size()});
            pruned_fdb.emplace(f.lladdr, ch.size());
            ch.push_back({PeerChange::Removed, std::nullopt, f.lladdr, f.dst});
            s.removed++;
        }
        for (auto& n : neighs) {
            if (!n.permanent() || sorted_has(want_ip, n.dst)) continue;
            Neigh d = n;
            d.has_lladdr = false;
            auto j = n.has_lladdr ? pruned_fdb.find(n.lladdr) : pruned_fdb.end();
            if (j != pruned_fdb.end() && !ch[j->second].ip) {
                ops.push_back({d, true, j->second});
                ch[j->second].ip = n.dst;
                continue;
            }
            ops.push_back({d, true, ch.size()});
            ch.push_back({PeerChange::Removed, n.dst, n.lladdr, std::nullopt});
            s.removed++;
        }
    }
    s.writes = ops.size();
    if (ops.empty()) return ch;
    auto errs = h.batch(ops.size(), [&](size_t i) { return ops[i].n.msg(ops[i].del); });
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
            if (failed_op[i] || ops[i].del || !failed_change[c] || c >= ch.size() || ch[c].action != PeerChange::Added)
                continue;
            Neigh d = ops[i].n;
            if (d.family != AF_BRIDGE) d.has_lladdr = false;
            undo.push_back(d);
        }
        if (!undo.empty()) h.batch(undo.size(), [&](size_t i) { return undo[i].msg(true); });
        auto& e = errs.front();
        auto& op = ops[e.index];
        std::string what = op.del ? "delete" : "program";
        what += op.n.family == AF_BRIDGE ? " fdb entry" : " neighbor";
        if (errs.size() > 1) what += fmt::format(" ({} of {} requests failed; first shown)", errs.size(), ops.size());
        throw_sys(e.err, what, e.extack, ch[op.change].label());
    }
    return ch;
}

Changes fdb_apply(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired, bool prune,
                  ApplyStats* st) {
    Changes out;
    for (auto& c : fdb_apply_set(h, dev, desired, prune, st)) {
        static const char* names[] = {"added", "replaced", "removed"};
        json d = {{"ip", c.ip ? json(c.ip->str()) : json(nullptr)}, {"mac", c.mac.str()},
                  {"vtep", c.vtep ? json(c.vtep->str()) : json(nullptr)}};
        out.push_back({names[c.action], c.label(), std::move(d)});
    }
    return out;
}

Changes fdb_add(Handle& h, const std::string& dev, const PeerSpec& p) {
    auto ch = fdb_apply(h, dev, {p}, false);
    if (ch.empty()) ch.push_back({"unchanged", p.label()});
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
        ch.push_back({"removed", "fdb entry " + f.lladdr.str() + " via " + f.dst.str()});
        Neigh d = f;
        d.flags |= NTF_SELF;
        ops.push_back({d, true, ch.size() - 1});
    }
    for (auto& n : neighs) {
        if (!n.has_lladdr || n.lladdr != p.mac || (p.ip && n.dst != *p.ip)) continue;
        ch.push_back({"removed", "neighbor " + n.dst.str() + " " + n.lladdr.str()});
        Neigh d = n;
        d.has_lladdr = false;
        ops.push_back({d, true, ch.size() - 1});
    }
    if (ops.empty()) return {{"unchanged", p.label(), {{"reason", "no such entries"}}}};
    auto errs = h.batch(ops.size(), [&](size_t i) { return ops[i].n.msg(true); });
    if (!errs.empty()) throw_sys(errs[0].err, "delete", errs[0].extack, ch[ops[errs[0].index].change].object);
    return ch;
}

std::vector<PeerEntry> fdb_local(Handle& h, const std::string& dev, const std::optional<IpAddr>& vtep_in) {
    Link l = need_dev(h, dev);
    std::string obj = "vtep " + dev;
    if (l.kind != "vxlan" || !l.vxlan) throw_input(obj, "dev", dev, "is not a vxlan device");
    IpAddr vtep;
    if (vtep_in) vtep = *vtep_in;
    else if (l.vxlan->local.valid()) vtep = l.vxlan->local;
    else if (l.vxlan->dev)
        for (auto& a : addr_list(h, l.vxlan->dev))
            if (a.prefix.addr.family == AF_INET) { vtep = a.prefix.addr; break; }
    if (!vtep.valid())
        throw_input(obj, "vtep", "", "the VTEP has no local address and no underlay device address; give one");
    if (!l.master) throw_input(obj, "dev", dev, "is not attached to a bridge, so it has no local endpoints");
    auto br = link_get(h, l.master);
    std::vector<PeerEntry> out;
    for (auto& b : bridge_show(h, br->name)) {
        for (auto& port : b.ports) {
            if (!port.peer || port.peer->netns.empty() || port.peer->netns.rfind("nsid:", 0) == 0) continue;
            Handle ph(port.peer->netns == "root" ? std::string("/proc/1/ns/net") : port.peer->netns);
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

}  // namespace ovnet
