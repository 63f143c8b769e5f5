// audit: cross-node consistency checks over ovnet-inspect snapshots. The reader keeps only what
// the checks use; the checks are pure and each finding carries the commands that converge it.
#include "ovnet/audit.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fmt/format.h>
#include <set>
#include <thread>
#include <unordered_map>

#include "ovnet/error.hpp"

namespace ovnet {

// ---- reading ---------------------------------------------------------------------------------

namespace {

constexpr const char* kInspect = "ovnet-inspect/1";

// A DOM of one value, built from SAX events, leaving out the members `skip` names (by their path
// of keys from the root: the derived or bulky parts the audit does not read).
struct DomBuilder {
    json root;
    std::vector<json*> stack;
    std::vector<std::string> keys;     // per depth: the current key (objects)
    int skipping = 0;                  // nesting inside a skipped value
    bool skip_next = false;            // the next value is skipped
    bool (*skip)(const std::vector<std::string>& keys, size_t depth) = nullptr;
    bool done = false;

    void reset() {
        root = json();
        stack.clear();
        keys.clear();
        skipping = 0;
        skip_next = false;
        done = false;
    }
    // Places a value; returns the slot.
    json* put(json&& v) {
        if (stack.empty()) {
            root = std::move(v);
            return &root;
        }
        json& p = *stack.back();
        if (p.is_array()) {
            p.push_back(std::move(v));
            return &p.back();
        }
        auto& slot = p[keys[stack.size() - 1]];
        slot = std::move(v);
        return &slot;
    }
    // A scalar: true when it completed the root.
    bool scalar(json&& v) {
        if (skipping) return false;
        if (skip_next) { skip_next = false; return false; }
        put(std::move(v));
        return done = stack.empty();
    }
    void open(bool object) {
        if (skipping) { skipping++; return; }
        if (skip_next) { skip_next = false; skipping = 1; return; }
        json* s = put(object ? json::object() : json::array());
        stack.push_back(s);
        if (keys.size() < stack.size()) keys.resize(stack.size());
    }
    // True when it closed the root.
    bool close() {
        if (skipping) { skipping--; return false; }
        stack.pop_back();
        return done = stack.empty();
    }
    void key(std::string& k) {
        if (skipping) return;
        keys[stack.size() - 1] = k;
        if (skip && skip(keys, stack.size())) skip_next = true;
    }
};

// networks[i]: the peers are the VTEP's rows in netns, read there.
bool skip_network(const std::vector<std::string>& k, size_t depth) {
    return depth == 1 && (k[0] == "peers" || k[0] == "peer_hosts");
}

const json& member(const json& o, const char* k) {
    static const json null;
    auto it = o.find(k);
    return it == o.end() ? null : *it;
}
const json& array_member(const json& o, const char* k, const std::string& obj) {
    static const json empty = json::array();
    auto& v = member(o, k);
    if (v.is_null()) return empty;
    if (!v.is_array()) throw_input(obj, k, shown_value(v), "must be an array");
    return v;
}
std::string str_member(const json& o, const char* k, const std::string& obj) {
    auto v = opt_string(o, k, obj);
    return v ? *v : std::string();
}
IpAddr ip_member(const json& o, const char* k, const std::string& obj) {
    auto& v = member(o, k);
    if (v.is_string() && v.get_ref<const std::string&>().empty()) return {};   // a VTEP's "local": ""
    auto a = opt_ip(o, k, obj);
    return a ? *a : IpAddr{};
}

// The members of a namespace kept as DOM (netns_dom_keys) into n.
void netns_from(AuditNetns& n, const json& o) {
    std::string obj = "netns " + n.label;
    for (auto& v : array_member(o, "vteps", obj)) {
        require_object(v, obj + " vtep");
        n.vteps[get_string(v, "name", obj + " vtep")] = v;
    }
    for (auto& b : array_member(o, "bridges", obj)) {
        require_object(b, obj + " bridge");
        n.bridges[get_string(b, "name", obj + " bridge")] = b;
    }
    if (auto& v = member(o, "ipvs"); v.is_array()) n.ipvs = v;
    if (auto& v = member(o, "netfilter"); v.is_object() && member(v, "rules").is_array()) n.rules = member(v, "rules");
    if (auto& v = member(o, "xfrm"); v.is_object()) n.xfrm = v;
    if (auto& v = member(o, "sysctls"); v.is_object()) n.sysctls = v;
    if (auto& v = member(o, "lb_services"); v.is_array()) n.lb_services = v;
    if (auto& v = member(o, "published"); v.is_array()) n.published = v;
}

// What a namespace's member is to the reader, from its key: one comparison (100,000 namespaces
// of 21 members in bench/audit).
enum class NsKey { Other, Links, Addrs, Peers, Dom, Sysctls, Container, Path };
NsKey ns_key(const std::string& k) {
    switch (k.size()) {
        case 4: return k == "ipvs" || k == "xfrm" ? NsKey::Dom : k == "path" ? NsKey::Path : NsKey::Other;
        case 5: return k == "links" ? NsKey::Links : k == "peers" ? NsKey::Peers : k == "vteps" ? NsKey::Dom : NsKey::Other;
        case 7: return k == "bridges" ? NsKey::Dom : k == "sysctls" ? NsKey::Sysctls : NsKey::Other;
        case 9:
            return k == "addresses" ? NsKey::Addrs : k == "container" ? NsKey::Container
                 : k == "netfilter" || k == "published" ? NsKey::Dom : NsKey::Other;
        case 11: return k == "lb_services" ? NsKey::Dom : NsKey::Other;
        default: return NsKey::Other;
    }
}


// One namespace (netns[L]) from SAX events, without a DOM where it is large: links (name, MTU),
// addresses and the peer rows are read into their typed form as they come; the small members
// (NsKey::Dom) are built as DOMs; the rest (interfaces, routes, the raw netfilter text...) is
// skipped. A 9,000-peer node is then 9,000 small structs, not 9,000 JSON objects.
struct NsReader {
    enum class Sub { None, Dom, Links, Addrs, Peers, Skip };
    Sub sub = Sub::None;
    int depth = 0;                     // 1: inside the namespace's object
    int rdepth = 0;                    // nesting inside the member being read
    std::string key, rkey, dev;
    int field = 0;                     // the record's current key as an index (on_key)
    AuditPeer row;                     // the peer row being read
    bool has_mac = false;
    std::vector<AuditPeer>* rows = nullptr;
    NsKey kind = NsKey::Other;         // ns_key(key)
    DomBuilder dom;
    json doms = json::object();
    AuditNetns out;
    bool container = false;
    std::string error;                 // the first content error
    // the record being read
    std::string f_name, f_a;
    uint64_t f_mtu = 0;

    void reset(const std::string& label) {
        sub = Sub::None;
        depth = rdepth = 0;
        doms = json::object();
        out = AuditNetns{};
        out.label = label;
        container = false;
        error.clear();
    }
    void bad(const std::string& m) {
        if (error.empty()) error = "netns " + out.label + ": " + m;
    }
    void clear_rec() {
        f_name.clear(), f_a.clear();
        f_mtu = 0;
    }
    // A scalar; `s` its text for strings, `null` for null.
    void scalar(const std::string* s, uint64_t num, bool is_num, const json* other) {
        switch (sub) {
            case Sub::None:
                if (kind == NsKey::Container) container = s != nullptr;
                if (kind == NsKey::Path && s) out.path = *s;
                return;
            case Sub::Dom:
            {
                json v = s ? json(*s) : is_num ? json(num) : other ? json(*other) : json();
                if (dom.scalar(std::move(v))) end_dom();
            }
                return;
            case Sub::Links:
                if (rdepth != 2) return;
                if (field == 1 && s) f_name = *s;
                else if (field == 2 && is_num) f_mtu = num;
                return;
            case Sub::Addrs:
                if (rdepth != 2 || !s) return;
                if (field == 3) f_name = *s;
                else if (field == 4) f_a = *s;
                return;
            case Sub::Peers:
                if (rdepth == 4 && field == 11 && s && *s == "master") row.master = true;
                if (rdepth != 3 || !s) return;
                switch (field) {
                    case 5: row.status = *s; break;
                    case 6:
                        if (!IpAddr::try_parse(*s, row.ip)) bad("peers " + dev + ": ip \"" + *s + "\": not an IP address");
                        break;
                    case 7:
                        if (!Mac::try_parse(*s, row.mac)) bad("peers " + dev + ": mac \"" + *s + "\": not a MAC address");
                        has_mac = true;
                        break;
                    case 8:
                        if (!IpAddr::try_parse(*s, row.vtep)) bad("peers " + dev + ": vtep \"" + *s + "\": not an IP address");
                        break;
                    case 9: row.fdb_state = *s; break;
                    case 10: row.neigh_state = *s; break;
                    default: break;
                }
                return;
            case Sub::Skip: return;
        }
    }
    void end_dom() {
        doms[key] = std::move(dom.root);
        dom.reset();
        sub = Sub::None;
    }
    void open(bool object) {
        if (depth == 0) { depth = 1; return; }
        switch (sub) {
            case Sub::None:
                rdepth = 1;
                if (kind == NsKey::Links || kind == NsKey::Addrs) {
                    sub = kind == NsKey::Links ? Sub::Links : Sub::Addrs;
                    if (object) bad(key + ": must be an array");
                } else if (kind == NsKey::Peers) {
                    sub = Sub::Peers;
                    if (!object) bad("peers: must be an object");
                } else if (kind == NsKey::Dom || (kind == NsKey::Sysctls && !container)) {
                    sub = Sub::Dom;
                    dom.reset();
                    dom.skip = [](const std::vector<std::string>& k, size_t d) {
                        return d == 1 && (k[0] == "text" || k[0] == "chains");   // netfilter's
                    };
                    dom.open(object);
                } else {
                    sub = Sub::Skip;
                }
                return;
            case Sub::Dom: dom.open(object); return;
            case Sub::Links:
            case Sub::Addrs:
                if (++rdepth == 2) {
                    clear_rec();
                    if (!object) bad(key + ": an entry must be an object");
                }
                return;
            case Sub::Peers:
                ++rdepth;
                if (rdepth == 2) {
                    rows = &out.peers[dev];
                    if (object) bad("peers " + dev + ": must be an array");
                } else if (rdepth == 3) {
                    row = AuditPeer{};
                    has_mac = false;
                    if (!object) bad("peers " + dev + ": a row must be an object");
                }
                return;
            case Sub::Skip: ++rdepth; return;
        }
    }
    // True when the namespace's object closed.
    bool close() {
        switch (sub) {
            case Sub::None: return true;   // depth 1: the namespace's end
            case Sub::Dom:
                if (dom.close()) end_dom();
                return false;
            case Sub::Links:
            case Sub::Addrs:
                if (rdepth == 2) {
                    if (sub == Sub::Links) {
                        if (f_name.empty()) bad("links: an entry without a name");
                        out.link_mtu[f_name] = uint32_t(f_mtu);
                    } else if (!f_a.empty()) {
                        try {
                            out.addresses.emplace_back(f_name, Prefix::parse(f_a));
                        } catch (const Error& e) {
                            bad(std::string("addresses: ") + e.what());
                        }
                    }
                }
                if (--rdepth == 0) sub = Sub::None;
                return false;
            case Sub::Peers:
                if (rdepth == 3) {
                    if (!has_mac) bad("peers " + dev + ": a row without a mac");
                    rows->push_back(std::move(row));
                }
                if (--rdepth == 0) sub = Sub::None;
                return false;
            case Sub::Skip:
                if (--rdepth == 0) sub = Sub::None;
                return false;
        }
        return false;
    }
    // A peer row's key as a field index, one comparison per key (900,000 rows of 8 keys).
    static int peer_field(const std::string& k) {
        switch (k.size()) {
            case 2: return k == "ip" ? 6 : 0;
            case 3: return k == "mac" ? 7 : 0;
            case 4: return k == "vtep" ? 8 : 0;
            case 5: return k == "flags" ? 11 : 0;
            case 6: return k == "status" ? 5 : 0;
            case 9: return k == "fdb_state" ? 9 : 0;
            case 11: return k == "neigh_state" ? 10 : 0;
            default: return 0;
        }
    }
    void on_key(std::string& k) {
        switch (sub) {
            case Sub::None:
                key.swap(k);
                kind = ns_key(key);
                return;
            case Sub::Dom: dom.key(k); return;
            case Sub::Peers:
                if (rdepth == 1) dev.swap(k);
                else if (rdepth == 3) field = peer_field(k);
                return;
            case Sub::Links:
                if (rdepth == 2) field = k.size() == 4 && k == "name" ? 1 : k.size() == 3 && k == "mtu" ? 2 : 0;
                return;
            case Sub::Addrs:
                if (rdepth == 2) field = k.size() == 6 && k == "ifname" ? 3 : k.size() == 7 && k == "address" ? 4 : 0;
                return;
            case Sub::Skip: return;
        }
    }
};

AuditNetwork network_from(const json& o, size_t i, std::vector<AuditEndpoint>&& eps) {
    AuditNetwork n;
    std::string obj = "networks[" + std::to_string(i) + "]";
    require_object(o, obj);
    n.id = opt_string(o, "id", obj);
    n.netns = get_string(o, "netns", obj);
    n.bridge = get_string(o, "bridge", obj);
    n.vtep = str_member(o, "vtep", obj);
    obj = "network " + n.netns + "/" + n.bridge;
    n.vni = uint32_t(opt_uint(o, "vni", 0, 16777215, obj).value_or(0));
    n.mtu = uint32_t(opt_uint(o, "mtu", 0, UINT32_MAX, obj).value_or(0));
    n.port = uint16_t(opt_uint(o, "port", 0, 65535, obj).value_or(0));
    n.local = ip_member(o, "local", obj);
    n.encrypted = opt_bool(o, "encrypted", obj);
    for (auto& s : array_member(o, "subnets", obj))
        if (s.is_string()) n.subnets.push_back(Prefix::parse(s.get_ref<const std::string&>()));
    n.endpoints = std::move(eps);
    if (auto& v = member(o, "services"); v.is_array()) n.services = v;
    if (auto& v = member(o, "published"); v.is_array()) n.published = v;
    return n;
}

// The snapshot stream's SAX handler: top-level objects are snapshots; "schema", "host" are read
// as they come, each namespace is read by NsReader, each network as a small DOM but for its
// endpoints (read typed), and turned into its typed form at once: a 100-node stream is never
// one DOM.
struct SnapSax : nlohmann::json_sax<json> {
    std::vector<AuditSnapshot>& out;
    const std::string& file;

    enum class At { Top, Snap, Netns, Networks, Dom, Ns, Eps, Skip };
    At at = At::Top;
    At dom_parent = At::Top;           // Netns or Networks while At::Dom
    int skip_depth = 0;
    std::string key_;                  // the current key at the snapshot's level
    std::string label_;                // the namespace being built
    DomBuilder dom;
    NsReader ns;
    // A network's endpoints, read typed (100,000 in bench/audit): depth, the field of the key.
    std::vector<AuditEndpoint> eps_;
    int ep_depth = 0, ep_field = 0;
    AuditSnapshot cur;
    std::optional<std::string> schema, host;
    bool has_netns = false, has_networks = false;
    std::string deferred;              // a content error, reported unless the schema is wrong
    size_t n_networks = 0;

    size_t base = 0;                   // snapshots before `out`'s first (parallel reading)
    SnapSax(std::vector<AuditSnapshot>& o, const std::string& f, size_t b = 0) : out(o), file(f), base(b) {}

    std::string what() const { return fmt::format("snapshot {} ({})", base + out.size() + 1, file); }
    [[noreturn]] void fail(const std::string& m) { throw Error(ErrorKind::Input, what() + ": " + m); }

    void begin_snapshot() {
        cur = AuditSnapshot{};
        cur.what = what();
        schema.reset();
        host.reset();
        has_netns = has_networks = false;
        deferred.clear();
        n_networks = 0;
    }
    void check_schema() {
        if (!schema) fail(std::string("no \"schema\": expected ") + kInspect);
        if (*schema != kInspect) fail("schema \"" + *schema + "\": expected " + kInspect);
    }
    void end_snapshot() {
        check_schema();
        if (!deferred.empty()) fail(deferred);
        if (!host) fail("no \"host\"");
        if (!has_netns || !has_networks) fail("not an ovnet-inspect snapshot (no \"netns\" object or \"networks\" array)");
        cur.host = *host;
        // Each endpoint's MTU from its sandbox's links.
        for (auto& n : cur.networks)
            for (auto& e : n.endpoints)
                if (auto it = cur.netns.find(e.sandbox); it != cur.netns.end())
                    if (auto l = it->second.link_mtu.find(e.ifname); l != it->second.link_mtu.end()) e.mtu = l->second;
        out.push_back(std::move(cur));
        at = At::Top;
    }
    // A built namespace or network into the snapshot; content errors wait for the schema check.
    void take_dom() {
        try {
            cur.networks.push_back(network_from(dom.root, n_networks++, std::move(eps_)));
            eps_.clear();
        } catch (const Error& e) {
            if (deferred.empty()) deferred = e.what();
        }
        dom.reset();
        at = dom_parent;
    }
    void take_ns() {
        try {
            if (!ns.error.empty()) throw Error(ErrorKind::Input, ns.error);
            netns_from(ns.out, ns.doms);
            auto label = ns.out.label;
            cur.netns[label] = std::move(ns.out);
        } catch (const Error& e) {
            if (deferred.empty()) deferred = e.what();
        }
        at = At::Netns;
    }
    [[noreturn]] void top_scalar(const char* type) { fail(std::string("not an ovnet-inspect snapshot (a JSON ") + type + ", not an object)"); }

    // A scalar event; `type` for messages at the top.
    bool scalar(json&& v, const char* type) {
        switch (at) {
            case At::Top: top_scalar(type);
            case At::Snap:
                if (key_ == "schema") {
                    schema = v.is_string() ? v.get<std::string>() : v.dump();
                    check_schema();   // at once: a foreign document's content never gets to speak first
                } else if (key_ == "host") {
                    if (!v.is_string() || v.get_ref<const std::string&>().empty()) fail("host " + shown_value(v) + ": must be a non-empty string");
                    host = v.get<std::string>();
                } else if (key_ == "netns" || key_ == "networks") {
                    fail(key_ + " " + shown_value(v) + ": must be " + (key_ == "netns" ? "an object" : "an array"));
                }
                return true;
            case At::Netns: fail("netns " + label_ + ": must be an object");
            case At::Networks: fail("networks[" + std::to_string(n_networks) + "]: must be an object");
            case At::Dom:
                if (dom.scalar(std::move(v))) take_dom();
                return true;
            case At::Ns:
            case At::Eps:
            case At::Skip: return true;
        }
        return true;
    }
    bool null() override {
        if (at == At::Ns) return ns.scalar(nullptr, 0, false, nullptr), true;
        return scalar(json(), "null");
    }
    bool boolean(bool x) override {
        if (at == At::Ns) { json v(x); return ns.scalar(nullptr, 0, false, &v), true; }
        return scalar(json(x), "boolean");
    }
    bool number_integer(json::number_integer_t x) override {
        if (at == At::Ns) { json v(x); return ns.scalar(nullptr, 0, false, &v), true; }
        return scalar(json(x), "number");
    }
    bool number_unsigned(json::number_unsigned_t x) override {
        if (at == At::Ns) return ns.scalar(nullptr, x, true, nullptr), true;
        return scalar(json(x), "number");
    }
    bool number_float(json::number_float_t x, const std::string&) override {
        if (at == At::Ns) { json v(x); return ns.scalar(nullptr, 0, false, &v), true; }
        return scalar(json(x), "number");
    }
    void ep_string(std::string& s) {
        if (ep_depth < 2) {
            if (deferred.empty()) deferred = "networks[" + std::to_string(n_networks) + "] endpoint: must be an object";
            return;
        }
        auto& e = eps_.back();
        if (ep_depth == 3 && ep_field == 6) {
            try {
                e.addresses.push_back(Prefix::parse(s));
            } catch (const Error& x) {
                if (deferred.empty()) deferred = std::string("networks[") + std::to_string(n_networks) + "] endpoint: " + x.what();
            }
            return;
        }
        if (ep_depth != 2) return;
        switch (ep_field) {
            case 1: e.sandbox.swap(s); break;
            case 2: e.container = std::move(s); break;
            case 3: e.ifname.swap(s); break;
            case 4: e.host_ifname.swap(s); break;
            case 5:
                if (!Mac::try_parse(s, e.mac) && deferred.empty())
                    deferred = "networks[" + std::to_string(n_networks) + "] endpoint: mac \"" + s + "\": not a MAC address";
                break;
            default: break;
        }
    }
    bool string(std::string& s) override {
        if (at == At::Skip) return true;
        if (at == At::Eps) return ep_string(s), true;
        if (at == At::Ns) return ns.scalar(&s, 0, false, nullptr), true;
        return scalar(json(std::move(s)), "string");
    }
    bool binary(json::binary_t&) override { return true; }
    bool open(bool object) {
        switch (at) {
            case At::Top:
                if (!object) top_scalar("array");
                begin_snapshot();
                at = At::Snap;
                return true;
            case At::Snap:
                if (key_ == "netns" && object) { at = At::Netns; has_netns = true; return true; }
                if (key_ == "networks" && !object) { at = At::Networks; has_networks = true; return true; }
                if (key_ == "schema" || key_ == "host") fail(key_ + ": must be a string");
                if (key_ == "netns" || key_ == "networks")
                    fail(key_ + ": must be " + (key_ == "netns" ? "an object" : "an array"));
                at = At::Skip;
                skip_depth = 1;
                return true;
            case At::Netns:
                if (!object) fail("netns " + label_ + ": must be an object");
                ns.reset(label_);
                at = At::Ns;
                ns.open(true);
                return true;
            case At::Ns: ns.open(object); return true;
            case At::Networks:
                if (!object) fail("networks[" + std::to_string(n_networks) + "]: must be an object");
                eps_.clear();
                dom_parent = at;
                dom.reset();
                dom.skip = skip_network;
                at = At::Dom;
                dom.open(true);
                return true;
            case At::Dom:
                if (dom_parent == At::Networks && !object && dom.stack.size() == 1 && !dom.skipping && !dom.skip_next &&
                    dom.keys[0] == "endpoints") {
                    dom.put(json::array());
                    eps_.clear();
                    at = At::Eps;
                    ep_depth = 1;
                    return true;
                }
                dom.open(object);
                return true;
            case At::Eps:
                if (++ep_depth == 2) {
                    eps_.emplace_back();
                    if (!object && deferred.empty()) deferred = "networks[" + std::to_string(n_networks) + "] endpoint: must be an object";
                }
                return true;
            case At::Skip: skip_depth++; return true;
        }
        return true;
    }
    bool close() {
        switch (at) {
            case At::Top: return true;
            case At::Snap: end_snapshot(); return true;
            case At::Netns:
            case At::Networks: at = At::Snap; return true;
            case At::Dom:
                if (dom.close()) take_dom();
                return true;
            case At::Ns:
                if (ns.close()) take_ns();
                return true;
            case At::Eps:
                if (--ep_depth == 0) at = At::Dom;
                return true;
            case At::Skip:
                if (--skip_depth == 0) at = At::Snap;
                return true;
        }
        return true;
    }
    bool start_object(std::size_t) override { return open(true); }
    bool start_array(std::size_t) override { return open(false); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool key(std::string& k) override {
        switch (at) {
            case At::Snap: key_.swap(k); break;
            case At::Netns: label_.swap(k); break;
            case At::Dom: dom.key(k); break;
            case At::Ns: ns.on_key(k); break;
            case At::Eps:
                if (ep_depth == 2)
                    ep_field = k.size() == 7 ? (k == "sandbox" ? 1 : 0) : k.size() == 9 ? (k == "container" ? 2 : k == "addresses" ? 6 : 0)
                             : k.size() == 6 ? (k == "ifname" ? 3 : 0) : k.size() == 11 ? (k == "host_ifname" ? 4 : 0)
                             : k.size() == 3 ? (k == "mac" ? 5 : 0) : 0;
                break;
            default: break;
        }
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

}  // namespace

namespace {

// The top-level objects of a text, cut at their braces (strings skipped); nothing when the text
// holds anything else (a scalar, an array, an unbalanced brace): the caller then reads it in one
// go, which gives the canonical verdict and message.
std::vector<std::string_view> top_objects(std::string_view t) {
    std::vector<std::string_view> out;
    // ovnet-inspect piped writes one compact document a line: then each line is one (a raw
    // newline is never inside a JSON string), cut with memchr. A line that does not start with
    // '{' and end with '}' (pretty-printed text) sends us to the scan below; one holding two
    // values is caught by the reader (read_spans), which then fails over to the whole text.
    for (size_t pos = 0; pos < t.size();) {
        size_t nl = t.find('\n', pos);
        if (nl == std::string_view::npos) nl = t.size();
        auto line = t.substr(pos, nl - pos);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        pos = nl + 1;
        if (line.empty()) continue;
        if (line.front() != '{' || line.back() != '}') {
            out.clear();
            break;
        }
        out.push_back(line);
    }
    if (!out.empty()) return out;
    size_t i = 0, n = t.size();
    const char* p = t.data();
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')) i++;
        if (i == n) break;
        if (p[i] != '{') return {};
        size_t start = i;
        int depth = 0;
        for (; i < n; i++) {
            char c = p[i];
            if (c == '"') {
                for (i++; i < n && p[i] != '"'; i++)
                    if (p[i] == '\\') i++;
                if (i >= n) return {};
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) break;
            }
        }
        if (i >= n) return {};
        out.push_back(t.substr(start, ++i - start));
    }
    return out;
}

// Reads the snapshots of `spans` into `out`, numbering them from base; false on any error
// (the caller rereads the text in one go for the message).
bool read_spans(const std::vector<std::string_view>& spans, size_t from, size_t to, const std::string& file,
                size_t base, std::vector<AuditSnapshot>& out) {
    try {
        for (size_t i = from; i < to; i++) {
            size_t before = out.size();
            SnapSax sax(out, file, base);
            json_sax_read(spans[i], file, sax, [&] { out.resize(before); }, [&](std::string_view span, size_t) {
                SnapSax s(out, file, base);
                json::sax_parse(span.begin(), span.end(), &s);
            });
            if (out.size() != before + 1) return false;
        }
        return true;
    } catch (...) {
        return false;
    }
}

// Texts this large are read by two threads, half the snapshots each (100 snapshots of 4.5 MB
// in bench/audit); a smaller one is not worth a thread.
constexpr size_t kParallelMin = size_t(16) << 20;

}  // namespace

void AuditReader::read(std::string_view text, const std::string& file) {
    files_.push_back(file);
    size_t before = snaps_.size();
    if (text.size() >= kParallelMin && std::thread::hardware_concurrency() > 1) {
        auto spans = top_objects(text);
        if (spans.size() >= 2) {
            size_t half = spans.size() / 2;
            std::vector<AuditSnapshot> a, b;
            bool ok_b = false;
            std::thread t([&] { ok_b = read_spans(spans, half, spans.size(), file, before + half, b); });
            bool ok_a = read_spans(spans, 0, half, file, before, a);
            t.join();
            if (ok_a && ok_b) {
                snaps_.reserve(before + a.size() + b.size());
                for (auto* v : {&a, &b})
                    for (auto& x : *v) snaps_.push_back(std::move(x));
                return;
            }
        }
    }
    SnapSax sax(snaps_, file);
    json_sax_read(text, file, sax, [&] { snaps_.resize(before); }, [&](std::string_view span, size_t) {
        SnapSax s(snaps_, file);
        json::sax_parse(span.begin(), span.end(), &s);
    });
}

std::vector<AuditSnapshot> AuditReader::finish() {
    if (snaps_.empty()) {
        std::string f;
        for (auto& x : files_) f += (f.empty() ? "" : ", ") + x;
        throw Error(ErrorKind::Input, (f.empty() ? std::string("stdin") : f) +
                                          ": no snapshot (empty input): nothing to audit");
    }
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < snaps_.size(); i++) {
        auto [it, fresh] = seen.emplace(snaps_[i].host, i);
        if (!fresh)
            throw Error(ErrorKind::Input, snaps_[i].what + ": host \"" + snaps_[i].host + "\" repeats " +
                                              snaps_[it->second].what + ": one snapshot per node");
    }
    return std::move(snaps_);
}

// ---- report ----------------------------------------------------------------------------------

const char* severity_name(Severity s) {
    switch (s) {
        case Severity::Error: return "error";
        case Severity::Warning: return "warning";
        case Severity::Info: return "info";
    }
    return "error";
}

const std::vector<std::string>& audit_codes() {
    static const std::vector<std::string> c{
        "PEER_MISSING", "PEER_WRONG_VTEP", "PEER_WRONG_MAC", "PEER_STALE", "PEER_DUP", "FDB_HALF_ENTRY",
        "LEARNED_SHADOWS_PERMANENT", "MAC_NOT_0242_IP", "DUP_ENDPOINT_IP", "DUP_ENDPOINT_MAC", "VNI_MISMATCH",
        "MTU_MISMATCH", "MTU_TOO_LARGE", "PORT_MISMATCH", "IPVS_WEIGHT0_LEFTOVER", "IPVS_DEST_UNKNOWN",
        "SERVICE_PARTIAL", "PUBLISHED_PORT_PARTIAL", "FWM_WITHOUT_MARK_RULE", "MARK_RULE_WITHOUT_SERVICE",
        "DNAT_WITHOUT_SERVICE", "SA_SP_ASYMMETRY", "SPI_MISMATCH", "KEY_MISMATCH", "SYSCTL_DRIFT"};
    return c;
}

json AuditPeer::to_json() const {
    json j = json::object();
    j["status"] = status;
    j["ip"] = ip.valid() ? json(ip.str()) : json();
    j["mac"] = mac.str();
    j["vtep"] = vtep.valid() ? json(vtep.str()) : json();
    j["fdb_state"] = fdb_state.empty() ? json() : json(fdb_state);
    j["neigh_state"] = neigh_state.empty() ? json() : json(neigh_state);
    return j;
}

json AuditEndpoint::to_json() const {
    json j = json::object();
    auto opt = [](const std::string& v) { return v.empty() ? json() : json(v); };
    j["sandbox"] = opt(sandbox);
    j["container"] = container ? json(*container) : json();
    j["ifname"] = opt(ifname);
    j["host_ifname"] = host_ifname;
    j["mac"] = mac.is_zero() ? json() : json(mac.str());
    json a = json::array();
    for (auto& p : addresses) a.push_back(p.str());
    j["addresses"] = std::move(a);
    return j;
}

// A host-length address on an endpoint is a service VIP, which Docker (and ovnet-lb) put on every
// load-balancing sandbox of the network (lb_<id>, ingress_sbox): the same on every node by design,
// never the endpoint's own address.
static bool is_vip(const Prefix& a) { return a.len == (a.addr.family == AF_INET ? 32 : 128); }

std::optional<IpAddr> AuditEndpoint::ipv4() const {
    for (auto& a : addresses)
        if (a.addr.family == AF_INET && !is_vip(a)) return a.addr;
    return std::nullopt;
}

std::string AuditNetwork::key() const {
    if (id && !id->empty()) return *id;
    if (!bridge.empty()) return bridge;
    return "vni " + std::to_string(vni);
}

json AuditFinding::to_json() const {
    json j = json::object();
    j["code"] = code;
    j["severity"] = severity_name(severity);
    j["network"] = network ? json(*network) : json();
    j["nodes"] = nodes;
    j["objects"] = objects;
    j["message"] = message;
    j["evidence"] = evidence;
    if (!fix) {
        j["fix"] = nullptr;
    } else {
        json f = json::array();
        for (auto& x : *fix) f.push_back({{"node", x.node}, {"command", x.command}, {"input", x.input}});
        j["fix"] = std::move(f);
    }
    return j;
}

size_t AuditReport::count(Severity s) const {
    return size_t(std::count_if(findings.begin(), findings.end(), [&](auto& f) { return f.severity == s; }));
}

json AuditReport::to_json() const {
    json j = json::object();
    j["schema"] = kAuditSchema;
    j["nodes"] = nodes;
    json n = json::array();
    for (auto& x : networks)
        n.push_back({{"key", x.key}, {"id", x.id ? json(*x.id) : json()}, {"vni", x.vni}, {"nodes", x.nodes}});
    j["networks"] = std::move(n);
    json f = json::array();
    for (auto& x : findings) f.push_back(x.to_json());
    j["findings"] = std::move(f);
    j["summary"] = {{"error", count(Severity::Error)}, {"warning", count(Severity::Warning)}, {"info", count(Severity::Info)}};
    return j;
}

namespace {

// A word the shell reads as itself.
std::string shq(const std::string& s) {
    bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./:=@%+,", c);
    });
    if (plain) return s;
    std::string o = "'";
    for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return o + "'";
}

// What -n takes for a namespace of the snapshot: its label when that is its name in /run/netns or
// Docker's default directory, else its path (a daemon with another exec-root: its bare names resolve
// only with --docker-netns-dir, and the fix must work without it).
std::string ns_arg(const AuditSnapshot& s, const std::string& label) {
    auto it = s.netns.find(label);
    if (it == s.netns.end() || it->second.path.empty() || label == "root") return label;
    const std::string& p = it->second.path;
    for (const char* dir : {"/run/netns/", "/var/run/netns/", "/var/run/docker/netns/", "/run/docker/netns/"})
        if (p == dir + label) return label;
    return p;
}

// "ovnet-X -n NS VERB": a namespace labelled "root" is the node's own (no -n).
std::string cmd(const char* tool, const AuditSnapshot& s, const std::string& label, const std::string& rest) {
    std::string c = tool;
    if (!label.empty() && label != "root") c += " -n " + shq(ns_arg(s, label));
    return c + " " + rest;
}

}  // namespace

std::string audit_fix_script(const AuditReport& r, const std::string& node) {
    std::string out = "#!/bin/sh\n# ovnet-audit --fix: run each node's part on that node\n";
    for (auto& host : r.nodes) {
        if (!node.empty() && host != node) continue;
        std::vector<std::pair<std::string, std::string>> seen;   // command, input
        std::string part;
        for (auto& f : r.findings) {
            if (!f.fix) continue;
            for (auto& x : *f.fix) {
                if (x.node != host) continue;
                std::string in = x.input.is_null() ? std::string() : x.input.dump();
                if (std::find(seen.begin(), seen.end(), std::make_pair(x.command, in)) != seen.end()) continue;
                seen.emplace_back(x.command, in);
                if (in.empty()) part += x.command + "\n";
                else part += x.command + " <<'EOF'\n" + in + "\nEOF\n";
            }
        }
        if (!part.empty()) out += "# node " + host + "\n" + part;
    }
    return out;
}

}  // namespace ovnet

// ---- checks ----------------------------------------------------------------------------------

namespace ovnet {
namespace {

struct IpHash {
    size_t operator()(const IpAddr& a) const {
        uint64_t h = uint64_t(a.family) * 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < a.size(); i++) h = (h ^ a.b[i]) * 0x100000001b3ull;
        return size_t(h);
    }
};

uint64_t mac_key(const Mac& m) {
    uint64_t k = 0;
    for (auto b : m.b) k = k << 8 | b;
    return k;
}

// One node's instance of a network, with what the checks derive from its snapshot.
struct Member {
    const AuditSnapshot* snap = nullptr;
    const AuditNetwork* net = nullptr;
    const AuditNetns* ns = nullptr;    // the bridge's namespace
    const json* vtep = nullptr;        // the VTEP object, when its namespace holds it
    IpAddr local;                      // the VTEP's local address (unset: unknown)
    uint32_t vtep_mtu = 0, bridge_mtu = 0;
    uint32_t limit = 0;                // the largest MTU the overlay allows here, 0 unknown
    uint32_t underlay_mtu = 0;
    std::string underlay;              // the underlay namespace's label
    const std::string& host() const { return snap->host; }
};

// A remote endpoint as a node's peers should hold it.
struct Want {
    IpAddr ip, vtep;
    Mac mac;                           // Docker's 02:42:<IPv4> for an IPv4 endpoint (what the fixes converge to)
    const Member* at;
    const AuditEndpoint* ep;
};

uint32_t json_u32(const json& o, const char* k) {
    auto& v = member(o, k);
    return v.is_number_unsigned() ? uint32_t(v.get<uint64_t>()) : v.is_number_integer() ? uint32_t(v.get<int64_t>()) : 0;
}

// The value most members have (ties: the smallest), among those `ok` keeps.
template <class F, class Ok>
std::optional<uint32_t> majority(const std::vector<Member>& ms, F value, Ok ok) {
    std::map<uint32_t, size_t> n;
    for (auto& m : ms)
        if (uint32_t v = value(m); v && ok(m, v)) n[v]++;
    std::optional<uint32_t> best;
    size_t bn = 0;
    for (auto& [v, c] : n)
        if (c > bn) best = v, bn = c;
    return best;
}

struct Auditor {
    const std::vector<AuditSnapshot>& snaps;
    AuditReport r;
    // Each node's target peer set per (netns, VTEP): the fdb fix input, built once.
    std::map<std::tuple<std::string, std::string, std::string>, json> fdb_sets;

    AuditFinding& add(const char* code, Severity sev, const std::optional<std::string>& net) {
        auto& f = r.findings.emplace_back();
        f.code = code;
        f.severity = sev;
        f.network = net;
        return f;
    }
    static void node(AuditFinding& f, const std::string& h) {
        if (std::find(f.nodes.begin(), f.nodes.end(), h) == f.nodes.end()) f.nodes.push_back(h);
    }
    static void evidence(AuditFinding& f, const std::string& h, json v) {
        if (!f.evidence.contains(h)) f.evidence[h] = json::array();
        f.evidence[h].push_back(std::move(v));
    }
    static void fix(AuditFinding& f, const std::string& h, std::string command, json input = nullptr) {
        if (!f.fix) f.fix.emplace();
        f.fix->push_back({h, std::move(command), std::move(input)});
    }

    // ---- per network ----

    // ---- the VTEPs' addresses ----

    // The address each network's VTEP sends from, when neither the networks view nor the VTEP
    // names one (Docker's vxlan0 has no local address: the kernel takes the source of its route
    // to the remote VTEP). Without it a node's endpoints have no known VTEP: the peer checks could
    // not tell a wrong VTEP, the xfrm checks could not pair the nodes, and the fdb fix (apply
    // --prune) would drop every peer of such a node. It is the address of the VTEP's underlay
    // namespace (loopback and link-local left out) on the subnet of the remote VTEPs its own peers
    // point to, else the one of them the other nodes' peers point to; unknown when not exactly one.
    std::map<const AuditNetwork*, IpAddr> vtep_addr;

    static const json* vtep_of(const AuditSnapshot& s, const AuditNetwork& n) {
        auto nsi = s.netns.find(n.netns);
        if (nsi == s.netns.end()) return nullptr;
        auto v = nsi->second.vteps.find(n.vtep);
        return v == nsi->second.vteps.end() ? nullptr : &v->second;
    }
    // The underlay: the namespace of the VTEP's socket, else the bridge's.
    static std::string underlay_of(const AuditNetwork& n, const json* vtep) {
        if (vtep)
            if (auto& l = member(*vtep, "link_netns"); l.is_string() && !l.get_ref<const std::string&>().empty())
                return l.get<std::string>();
        return n.netns;
    }
    static bool usable_source(const IpAddr& a) {
        if (a.family == AF_INET) return a.b[0] != 127 && !(a.b[0] == 169 && a.b[1] == 254);
        if (a.family == AF_INET6) return a != IpAddr::parse("::1") && !(a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80);
        return false;
    }
    void vtep_addresses() {
        // Who points to each VTEP address: the hosts whose peers name it.
        std::map<IpAddr, std::set<const AuditSnapshot*>> pointed;
        for (auto& s : snaps)
            for (auto& [label, ns] : s.netns)
                for (auto& [vx, rows] : ns.peers)
                    for (auto& p : rows)
                        if (p.status != "local" && !p.master && p.vtep.valid()) pointed[p.vtep].insert(&s);
        for (auto& s : snaps)
            for (auto& n : s.networks) {
                const json* vt = vtep_of(s, n);
                if (n.local.valid() || (vt && ip_member(*vt, "local", "vtep").valid())) continue;
                auto u = s.netns.find(underlay_of(n, vt));
                if (u == s.netns.end()) continue;
                std::vector<Prefix> cands;
                for (auto& [ifn, a] : u->second.addresses)
                    if (usable_source(a.addr)) cands.push_back(a);
                std::set<IpAddr> remotes;
                if (auto nsi = s.netns.find(n.netns); nsi != s.netns.end())
                    if (auto r = nsi->second.peers.find(n.vtep); r != nsi->second.peers.end())
                        for (auto& p : r->second)
                            if (p.status != "local" && !p.master && p.vtep.valid()) remotes.insert(p.vtep);
                std::vector<Prefix> on_subnet;
                for (auto& c : cands)
                    if (std::any_of(remotes.begin(), remotes.end(), [&](const IpAddr& r) {
                            return r.family == c.addr.family && r != c.addr && Prefix{r, c.len}.network() == c.network();
                        }))
                        on_subnet.push_back(c);
                std::set<IpAddr> found;
                if (on_subnet.size() == 1) found.insert(on_subnet[0].addr);
                else
                    for (auto& c : on_subnet.empty() ? cands : on_subnet)
                        if (auto it = pointed.find(c.addr); it != pointed.end() &&
                            std::any_of(it->second.begin(), it->second.end(), [&](auto* o) { return o != &s; }))
                            found.insert(c.addr);
                if (found.size() == 1) vtep_addr[&n] = *found.begin();
            }
    }
    IpAddr local_of(const AuditNetwork& n, const json* vtep) const {
        if (n.local.valid()) return n.local;
        if (vtep)
            if (auto a = ip_member(*vtep, "local", "vtep"); a.valid()) return a;
        auto it = vtep_addr.find(&n);
        return it == vtep_addr.end() ? IpAddr{} : it->second;
    }

    std::vector<Member> members(const std::vector<std::pair<const AuditSnapshot*, const AuditNetwork*>>& in) {
        std::vector<Member> ms;
        for (auto [s, n] : in) {
            Member m;
            m.snap = s;
            m.net = n;
            auto nsi = s->netns.find(n->netns);
            if (nsi != s->netns.end()) {
                m.ns = &nsi->second;
                if (auto v = m.ns->vteps.find(n->vtep); v != m.ns->vteps.end()) m.vtep = &v->second;
                if (auto b = m.ns->bridges.find(n->bridge); b != m.ns->bridges.end()) m.bridge_mtu = json_u32(b->second, "mtu");
            }
            if (!m.bridge_mtu) m.bridge_mtu = n->mtu;
            m.local = local_of(*n, m.vtep);
            if (m.vtep) m.vtep_mtu = json_u32(*m.vtep, "mtu");
            // The underlay MTU: the one of the link holding the VTEP's address there.
            m.underlay = underlay_of(*n, m.vtep);
            if (auto u = s->netns.find(m.underlay); u != s->netns.end() && m.local.valid())
                for (auto& [ifn, a] : u->second.addresses)
                    if (a.addr == m.local)
                        if (auto l = u->second.link_mtu.find(ifn); l != u->second.link_mtu.end()) m.underlay_mtu = l->second;
            if (m.underlay_mtu) {
                uint32_t over = (m.local.family == AF_INET6 ? 70 : 50) + (n->encrypted.value_or(false) ? 26 : 0);
                m.limit = m.underlay_mtu > over + 68 ? m.underlay_mtu - over : 68;
            }
            ms.push_back(m);
        }
        return ms;
    }

    static std::string obj(const Member& m, const std::string& what) { return m.host() + ":" + what; }

    // A creation setting (VNI, port) that differs: the members off the most common value.
    void setting_mismatch(const std::string& key, const std::vector<Member>& ms, const char* code, const char* what,
                          uint32_t (*value)(const Member&)) {
        auto best = majority(ms, value, [](auto&, auto) { return true; });
        if (!best) return;
        std::map<uint32_t, size_t> n;
        for (auto& m : ms) n[value(m)]++;
        if (n.size() < 2) return;
        bool tie = std::count_if(n.begin(), n.end(), [&](auto& x) { return x.second == n[*best]; }) > 1;
        for (auto& m : ms) {
            if (value(m) == *best && !tie) continue;
            auto& f = add(code, Severity::Error, key);
            node(f, m.host());
            f.objects.push_back(obj(m, m.net->vtep));
            evidence(f, m.host(), m.vtep ? *m.vtep : json(m.net->vtep));
            for (auto& o : ms)
                if (&o != &m && value(o) != value(m)) {
                    node(f, o.host());
                    evidence(f, o.host(), o.vtep ? *o.vtep : json(o.net->vtep));
                }
            f.message = fmt::format("{}: {} {} of network {} is {}, {} on {}: a VXLAN device's {} is fixed at creation, "
                                    "no ovnet command changes it: recreate {} (ovnet-vtep del, then add with --{} {}) "
                                    "and apply its peers",
                                    m.host(), m.net->vtep, what, key, value(m), tie ? "differently" : std::to_string(*best),
                                    tie ? "the other nodes" : "most nodes", what, m.net->vtep, what == std::string("VNI") ? "vni" : "port",
                                    tie ? std::string("N") : std::to_string(*best));
            if (tie) return;   // one finding names them all
        }
    }

    std::string fdb_cmd(const Member& m, const json& set) {
        return cmd("ovnet-fdb", *m.snap, m.net->netns, "apply -d " + shq(m.net->vtep) + " --prune" + (set.empty() ? " --allow-empty" : ""));
    }

    void mtus(const std::string& key, const std::vector<Member>& ms) {
        // A device above the limit: MTU_TOO_LARGE, set to what most nodes have within their limit.
        auto within = [](const Member& m, uint32_t v) { return !m.limit || v <= m.limit; };
        auto vt = majority(ms, [](const Member& m) { return m.vtep_mtu; }, within);
        auto br = majority(ms, [](const Member& m) { return m.bridge_mtu; }, within);
        auto target = [](const std::optional<uint32_t>& best, const Member& m) {
            return best && (!m.limit || *best <= m.limit) ? *best : m.limit;
        };
        for (auto& m : ms) {
            if (!m.limit) continue;
            auto why = fmt::format("the overlay allows {} here (underlay {} MTU {}, {} overhead)", m.limit, m.underlay,
                                   m.underlay_mtu, m.net->encrypted.value_or(false) ? "encrypted VXLAN" : "VXLAN");
            if (m.vtep && m.vtep_mtu > m.limit) {
                uint32_t t = target(vt, m);
                auto& f = add("MTU_TOO_LARGE", Severity::Error, key);
                node(f, m.host());
                f.objects.push_back(obj(m, m.net->vtep));
                evidence(f, m.host(), *m.vtep);
                f.message = fmt::format("{}: VTEP {} has MTU {}, above the {} {}; set it to {}", m.host(), m.net->vtep,
                                        m.vtep_mtu, m.limit, why.substr(why.find('(')), t);
                json in = *m.vtep;
                in.erase("netns");
                in["mtu"] = t;
                fix(f, m.host(), cmd("ovnet-vtep", *m.snap, m.net->netns, "apply"), json::array({in}));
            }
            if (m.bridge_mtu > m.limit) {
                uint32_t t = target(br, m);
                auto& f = add("MTU_TOO_LARGE", Severity::Error, key);
                node(f, m.host());
                f.objects.push_back(obj(m, m.net->bridge));
                if (m.ns && m.ns->bridges.count(m.net->bridge)) evidence(f, m.host(), m.ns->bridges.at(m.net->bridge));
                f.message = fmt::format("{}: bridge {} has MTU {}, above the {} {}; set it to {}", m.host(), m.net->bridge,
                                        m.bridge_mtu, m.limit, why.substr(why.find('(')), t);
                fix(f, m.host(), cmd("ovnet-bridge", *m.snap, m.net->netns, "add " + shq(m.net->bridge) + " --mtu " + std::to_string(t)));
            }
            for (auto& e : m.net->endpoints) {
                auto ip = e.ipv4();
                if (!e.mtu || e.mtu <= m.limit || e.sandbox.empty()) continue;
                uint32_t t = std::min(m.limit, m.bridge_mtu && m.bridge_mtu <= m.limit ? m.bridge_mtu : m.limit);
                auto& f = add("MTU_TOO_LARGE", Severity::Error, key);
                node(f, m.host());
                f.objects.push_back(obj(m, m.net->bridge + " endpoint " + e.sandbox + " " + e.ifname));
                evidence(f, m.host(), e.to_json());
                f.message = fmt::format("{}: endpoint {} {} has MTU {}, above the {} {}; set it to {}", m.host(), e.sandbox,
                                        e.ifname, e.mtu, m.limit, why.substr(why.find('(')), t);
                if (ip && !e.addresses.empty())
                    fix(f, m.host(), connect_cmd(m, e, " --mtu " + std::to_string(t)));
            }
        }
        // The same device with different MTUs within the limit: the members off the most common.
        auto mismatch = [&](const char* what, uint32_t (*value)(const Member&), const std::optional<uint32_t>& best) {
            if (!best) return;
            for (auto& m : ms) {
                uint32_t v = value(m);
                if (!v || v == *best || (m.limit && v > m.limit) || (m.limit && *best > m.limit)) continue;
                bool is_vtep = what == std::string("VTEP");
                if (is_vtep && !m.vtep) continue;
                std::string dev = is_vtep ? m.net->vtep : m.net->bridge;
                auto& f = add("MTU_MISMATCH", Severity::Warning, key);
                node(f, m.host());
                f.objects.push_back(obj(m, dev));
                for (auto& o : ms)
                    if (value(o) == *best) node(f, o.host());
                if (is_vtep) evidence(f, m.host(), *m.vtep);
                else if (m.ns && m.ns->bridges.count(dev)) evidence(f, m.host(), m.ns->bridges.at(dev));
                f.message = fmt::format("{}: {} {} of network {} has MTU {}, most nodes {}; set it to {}", m.host(), what,
                                        dev, key, v, *best, *best);
                if (is_vtep) {
                    json in = *m.vtep;
                    in.erase("netns");
                    in["mtu"] = *best;
                    fix(f, m.host(), cmd("ovnet-vtep", *m.snap, m.net->netns, "apply"), json::array({in}));
                } else {
                    fix(f, m.host(), cmd("ovnet-bridge", *m.snap, m.net->netns, "add " + shq(dev) + " --mtu " + std::to_string(*best)));
                }
            }
        };
        mismatch("VTEP", [](const Member& m) { return m.vtep_mtu; }, vt);
        mismatch("bridge", [](const Member& m) { return m.bridge_mtu; }, br);
    }

    static std::string connect_cmd(const Member& m, const AuditEndpoint& e, const std::string& extra = {}) {
        std::string ip;
        for (auto& a : e.addresses)
            if (a.addr.family == AF_INET) { ip = a.str(); break; }
        std::string rest = "connect " + shq(ns_arg(*m.snap, e.sandbox)) + " --bridge " + shq(m.net->bridge) + " --ip " + ip;
        if (!e.host_ifname.empty()) rest += " --host-ifname " + shq(e.host_ifname);
        return cmd("ovnet-sbox", *m.snap, m.net->netns, rest + extra);
    }

    // Endpoints: Docker's MAC rule and duplicates. Returns the addresses and MACs held twice
    // (the peer checks leave them out: which endpoint a peer means cannot be told).
    void endpoints(const std::string& key, const std::vector<Member>& ms, std::set<IpAddr>& dup_ip, std::set<uint64_t>& dup_mac) {
        std::map<IpAddr, std::vector<std::pair<const Member*, const AuditEndpoint*>>> by_ip;
        std::map<uint64_t, std::vector<std::pair<const Member*, const AuditEndpoint*>>> by_mac;
        std::set<const AuditEndpoint*> bad_mac;
        for (auto& m : ms)
            for (auto& e : m.net->endpoints) {
                for (auto& a : e.addresses)
                    if (!is_vip(a)) by_ip[a.addr].emplace_back(&m, &e);
                if (!e.mac.is_zero()) by_mac[mac_key(e.mac)].emplace_back(&m, &e);
                auto ip = e.ipv4();
                if (!ip || e.mac.is_zero() || e.mac == docker_mac(*ip)) continue;
                bad_mac.insert(&e);
                auto& f = add("MAC_NOT_0242_IP", Severity::Warning, key);
                node(f, m.host());
                f.objects.push_back(obj(m, m.net->bridge + " endpoint " + e.sandbox + " " + e.ifname));
                evidence(f, m.host(), e.to_json());
                f.message = fmt::format("{}: endpoint {} {} ({}) has MAC {}, not Docker's {} for its address; the "
                                        "other nodes' peers expect {}",
                                        m.host(), e.sandbox, e.ifname, ip->str(), e.mac.str(), docker_mac(*ip).str(),
                                        docker_mac(*ip).str());
                if (!e.sandbox.empty()) fix(f, m.host(), connect_cmd(m, e));
            }
        for (auto& [ip, v] : by_ip) {
            if (v.size() < 2) continue;
            dup_ip.insert(ip);
            auto& f = add("DUP_ENDPOINT_IP", Severity::Error, key);
            std::string where;
            for (auto& [m, e] : v) {
                node(f, m->host());
                f.objects.push_back(obj(*m, m->net->bridge + " endpoint " + e->sandbox + " " + e->ifname));
                evidence(f, m->host(), e->to_json());
                where += (where.empty() ? "" : ", ") + m->host() + " " + e->sandbox;
                dup_mac.insert(mac_key(e->mac));
            }
            f.message = fmt::format("{} is the address of {} endpoints of network {} ({}); no command can tell which is "
                                    "meant: disconnect all but one (ovnet-sbox disconnect)", ip.str(), v.size(), key, where);
        }
        for (auto& [mk, v] : by_mac) {
            if (v.size() < 2) continue;
            dup_mac.insert(mk);
            // Same address too: DUP_ENDPOINT_IP says it. A MAC off Docker's rule: its fix clears this.
            if (std::any_of(v.begin(), v.end(), [&](auto& x) { return bad_mac.count(x.second) || (x.second->ipv4() && dup_ip.count(*x.second->ipv4())); }))
                continue;
            auto& f = add("DUP_ENDPOINT_MAC", Severity::Error, key);
            std::string where;
            for (auto& [m, e] : v) {
                node(f, m->host());
                f.objects.push_back(obj(*m, m->net->bridge + " endpoint " + e->sandbox + " " + e->ifname));
                evidence(f, m->host(), e->to_json());
                where += (where.empty() ? "" : ", ") + m->host() + " " + e->sandbox;
            }
            f.message = fmt::format("{} is the MAC of {} endpoints of network {} ({}); reconnect all but one with "
                                    "another MAC (ovnet-sbox connect --mac)", v[0].second->mac.str(), v.size(), key, where);
        }
    }

    // Each node's peers against the endpoints of the other nodes.
    void peers(const std::string& key, const std::vector<Member>& ms, const std::set<IpAddr>& dup_ip,
               const std::set<uint64_t>& dup_mac) {
        // Every endpoint of the network, with the MAC the fixes converge it to.
        std::vector<Want> all;
        for (auto& m : ms)
            for (auto& e : m.net->endpoints) {
                auto ip = e.ipv4();
                IpAddr a = ip ? *ip : e.addresses.empty() ? IpAddr{} : e.addresses[0].addr;
                if (!a.valid() || dup_ip.count(a)) continue;
                Mac mac = ip ? docker_mac(*ip) : e.mac;
                if (mac.is_zero() || dup_mac.count(mac_key(mac))) continue;
                all.push_back({a, m.local, mac, &m, &e});
            }
        // In address order (the fix's set and the findings follow it), indexed by MAC and address.
        std::sort(all.begin(), all.end(), [](const Want& a, const Want& b) { return a.ip < b.ip; });
        std::unordered_map<uint64_t, const Want*> by_mac;
        std::unordered_map<IpAddr, const Want*, IpHash> by_ip;
        by_mac.reserve(all.size());
        by_ip.reserve(all.size());
        for (auto& w : all) by_mac.emplace(mac_key(w.mac), &w), by_ip.emplace(w.ip, &w);
        // Nodes with an endpoint whose sandbox was not read (no address): a peer toward their VTEP
        // may be that endpoint. It is not called stale, and the fixes keep it.
        std::set<IpAddr> unknown;
        for (auto& m : ms)
            for (auto& e : m.net->endpoints)
                if (e.addresses.empty() && m.local.valid()) unknown.insert(m.local);
        auto maybe_unknown = [&](const AuditPeer& p) {
            return p.vtep.valid() && unknown.count(p.vtep) && !by_mac.count(mac_key(p.mac)) && !(p.ip.valid() && by_ip.count(p.ip));
        };
        for (auto& m : ms) {
            if (!m.ns || m.net->vtep.empty()) continue;
            static const std::vector<AuditPeer> none;
            auto pit = m.ns->peers.find(m.net->vtep);
            const auto& rows = pit == m.ns->peers.end() ? none : pit->second;
            std::unordered_map<uint64_t, size_t> n_mac;
            for (auto& p : rows)
                if (p.status != "local" && !p.master) n_mac[mac_key(p.mac)]++;
            std::vector<char> seen(all.size());
            auto saw = [&](const Want& w) { seen[size_t(&w - all.data())] = 1; };
            std::set<uint64_t> dup_done;
            std::string vx = m.net->vtep;
            auto fdb_fix = [&](AuditFinding& f) {
                auto& set = fdb_sets[{m.host(), m.net->netns, vx}];
                if (set.is_null()) {
                    set = json::array();
                    for (auto& w : all) {
                        if (w.at == &m) continue;
                        IpAddr vt = w.vtep;
                        // The remote VTEP's address unknown: the node's own permanent peer stays as
                        // it is (apply --prune would remove it), and none is added.
                        if (!vt.valid())
                            for (auto& p : rows)
                                if (p.status == "peer" && p.vtep.valid() && mac_key(p.mac) == mac_key(w.mac)) vt = p.vtep;
                        if (!vt.valid()) continue;
                        set.push_back({{"ip", w.ip.str()}, {"mac", w.mac.str()}, {"vtep", vt.str()}});
                    }
                    for (auto& p : rows)
                        if (p.status == "peer" && p.ip.valid() && maybe_unknown(p))
                            set.push_back({{"ip", p.ip.str()}, {"mac", p.mac.str()}, {"vtep", p.vtep.str()}});
                }
                fix(f, m.host(), fdb_cmd(m, set), set);
            };
            auto peer_finding = [&](const char* code, Severity sev, const Mac& mac) -> AuditFinding& {
                auto& f = add(code, sev, key);
                node(f, m.host());
                f.objects.push_back(obj(m, vx + " peer " + mac.str()));
                return f;
            };
            auto remote = [&](const Want& w) {
                return fmt::format("{} {} on {}{}", w.ep->sandbox.empty() ? std::string("endpoint") : w.ep->sandbox,
                                   w.ip.str(), w.at->host(), w.vtep.valid() ? " behind " + w.vtep.str() : std::string());
            };
            for (auto& p : rows) {
                if (p.status == "local" || p.master) continue;
                uint64_t mk = mac_key(p.mac);
                auto wm = by_mac.find(mk);
                if (wm != by_mac.end() && wm->second->at != &m) {
                    const Want& w = *wm->second;
                    saw(w);
                    if (n_mac[mk] > 1) {
                        if (!dup_done.insert(mk).second) continue;
                        auto& f = peer_finding("PEER_DUP", Severity::Error, p.mac);
                        for (auto& q : rows)
                            if (mac_key(q.mac) == mk && q.status != "local" && !q.master) evidence(f, m.host(), q.to_json());
                        f.message = fmt::format("{}: {} holds {} rows for {} ({})", m.host(), vx, n_mac[mk], p.mac.str(), remote(w));
                        fdb_fix(f);
                        continue;
                    }
                    if (p.status == "learned") {
                        auto& f = peer_finding("LEARNED_SHADOWS_PERMANENT", Severity::Warning, p.mac);
                        evidence(f, m.host(), p.to_json());
                        f.message = fmt::format("{}: {} has a learned entry for {} via {} where the permanent peer of {} "
                                                "belongs", m.host(), vx, p.mac.str(), p.vtep.valid() ? p.vtep.str() : "-", remote(w));
                        fdb_fix(f);
                    } else if (p.status == "fdb-only" || p.status == "neigh-only") {
                        auto& f = peer_finding("FDB_HALF_ENTRY", Severity::Error, p.mac);
                        evidence(f, m.host(), p.to_json());
                        f.message = fmt::format("{}: {} has only the {} entry of the peer {}", m.host(), vx,
                                                p.status == "fdb-only" ? "fdb" : "neighbor", remote(w));
                        fdb_fix(f);
                    } else if (w.vtep.valid() && p.vtep.valid() && p.vtep != w.vtep) {
                        auto& f = peer_finding("PEER_WRONG_VTEP", Severity::Error, p.mac);
                        evidence(f, m.host(), p.to_json());
                        f.message = fmt::format("{}: {} sends {} to {}, not to {} ({})", m.host(), vx, p.mac.str(),
                                                p.vtep.str(), w.vtep.str(), remote(w));
                        fdb_fix(f);
                    } else if (p.ip.valid() && p.ip != w.ip) {
                        auto& f = peer_finding("PEER_WRONG_MAC", Severity::Error, p.mac);
                        evidence(f, m.host(), p.to_json());
                        f.message = fmt::format("{}: {} maps {} to {}, the MAC of {}", m.host(), vx, p.ip.str(), p.mac.str(), remote(w));
                        fdb_fix(f);
                    }
                    continue;
                }
                // A MAC no remote endpoint has (as the fixes converge them).
                if (p.ip.valid()) {
                    if (dup_ip.count(p.ip)) continue;
                    if (auto wi = by_ip.find(p.ip); wi != by_ip.end() && wi->second->at != &m) {
                        const Want& w = *wi->second;
                        saw(w);
                        auto& f = peer_finding("PEER_WRONG_MAC", Severity::Error, w.mac);
                        evidence(f, m.host(), p.to_json());
                        f.message = fmt::format("{}: {} maps {} to {}, not to {} ({})", m.host(), vx, p.ip.str(),
                                                p.mac.str(), w.mac.str(), remote(w));
                        fdb_fix(f);
                        continue;
                    }
                }
                if (dup_mac.count(mk) || maybe_unknown(p)) continue;
                auto& f = peer_finding("PEER_STALE", Severity::Warning, p.mac);
                evidence(f, m.host(), p.to_json());
                bool local = false;
                for (auto& e : m.net->endpoints) local |= mac_key(e.mac) == mk || (p.ip.valid() && std::any_of(e.addresses.begin(), e.addresses.end(), [&](auto& a) { return a.addr == p.ip; }));
                std::string who = local ? "a local endpoint of this node" : "no endpoint of network " + key + " on any node";
                if (p.status == "learned") {
                    // apply --prune removes permanent entries only; del removes this one.
                    f.message = fmt::format("{}: {} has a learned entry for {} via {}, {}", m.host(), vx, p.mac.str(),
                                            p.vtep.valid() ? p.vtep.str() : "-", who);
                    std::string rest = "del -d " + shq(vx) + " --mac " + p.mac.str();
                    if (p.vtep.valid()) rest += " --vtep " + p.vtep.str();
                    fix(f, m.host(), cmd("ovnet-fdb", *m.snap, m.net->netns, rest));
                } else {
                    f.message = fmt::format("{}: {} has a peer {} {} via {}: {}", m.host(), vx,
                                            p.ip.valid() ? p.ip.str() : "-", p.mac.str(), p.vtep.valid() ? p.vtep.str() : "-", who);
                    fdb_fix(f);
                }
            }
            for (auto& want : all) {
                auto* w = &want;
                if (w->at == &m || seen[size_t(w - all.data())]) continue;
                auto& f = peer_finding("PEER_MISSING", Severity::Error, w->mac);
                node(f, w->at->host());
                evidence(f, w->at->host(), w->ep->to_json());
                f.message = fmt::format("{}: {} has no peer for {} {} ({})", m.host(), vx, w->ip.str(), w->mac.str(), remote(*w));
                if (w->vtep.valid()) fdb_fix(f);
                else f.message += fmt::format("; the VTEP address of {} is unknown: no fix", w->at->host());
            }
        }
    }

    // ---- per node: IPVS, marks, services, published ports, xfrm, sysctls ----

    static std::string jstr(const json& o, const char* k) {
        auto& v = member(o, k);
        return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
    }
    static uint64_t jnum(const json& o, const char* k) {
        auto& v = member(o, k);
        return v.is_number_unsigned() ? v.get<uint64_t>() : v.is_number_integer() && v.get<int64_t>() >= 0 ? uint64_t(v.get<int64_t>()) : 0;
    }
    // The -f/-t/-u option naming a service for ovnet-ipvs.
    static std::string svc_opt(const json& svc) {
        std::string proto = jstr(svc, "protocol");
        if (proto == "fwm" || jnum(svc, "fwmark")) {
            return "-f " + std::to_string(jnum(svc, "fwmark")) + (jstr(svc, "family") == "ipv6" ? " -6" : "");
        }
        std::string a = jstr(svc, "address");
        if (a.find(':') != std::string::npos) a = "[" + a + "]";
        a += ":" + std::to_string(jnum(svc, "port"));
        return (proto == "udp" ? "-u " : proto == "sctp" ? "--sctp-service " : "-t ") + a;
    }
    // The mark a netfilter rule sets (-j MARK --set-xmark M/... or --set-mark M), 0 for none.
    static uint32_t rule_mark(const json& r) {
        std::string spec = jstr(r, "spec");
        for (const char* opt : {"--set-xmark ", "--set-mark "}) {
            auto p = spec.find(opt);
            if (p == std::string::npos) continue;
            try {
                return uint32_t(std::stoul(spec.substr(p + std::strlen(opt)), nullptr, 0));
            } catch (...) {
                return 0;
            }
        }
        return 0;
    }
    static constexpr uint32_t kEncryptMark = 0xd0c4e3;   // Docker's mark for encrypted VXLAN, not a service's

    void ipvs() {
        std::set<IpAddr> endpoint_ips;
        for (auto& s : snaps)
            for (auto& n : s.networks)
                for (auto& e : n.endpoints)
                    for (auto& a : e.addresses) endpoint_ips.insert(a.addr);
        for (auto& s : snaps)
            for (auto& [label, ns] : s.netns) {
                if (!ns.ipvs) continue;
                std::set<uint32_t> fw_services;
                for (auto& svc : *ns.ipvs) {
                    std::string key = jstr(svc, "key");
                    if (uint64_t m = jnum(svc, "fwmark")) fw_services.insert(uint32_t(m));
                    auto& dests = member(svc, "dests");
                    if (!dests.is_array()) continue;
                    for (auto& d : dests) {
                        std::string addr = jstr(d, "address");
                        IpAddr a;
                        if (!IpAddr::try_parse(addr, a)) continue;
                        uint64_t port = jnum(d, "port");
                        std::string target = a.family == AF_INET6 ? "[" + addr + "]" : addr;
                        if (port) target += ":" + std::to_string(port);
                        bool w0 = member(d, "weight").is_number() && jnum(d, "weight") == 0;
                        if (!w0 && endpoint_ips.count(a)) continue;
                        auto& f = add(w0 ? "IPVS_WEIGHT0_LEFTOVER" : "IPVS_DEST_UNKNOWN", Severity::Warning, std::nullopt);
                        node(f, s.host);
                        f.objects.push_back(s.host + ":" + label + " ipvs " + key + " dest " + target);
                        evidence(f, s.host, d);
                        f.message = w0 ? fmt::format("{}: IPVS service {} in {} keeps destination {} with weight 0 "
                                                     "(a drained task never removed)", s.host, key, label, target)
                                       : fmt::format("{}: IPVS service {} in {} sends to {}, which is no endpoint on any node",
                                                     s.host, key, label, target);
                        fix(f, s.host, cmd("ovnet-ipvs", s, label, "del " + svc_opt(svc) + " -r " + target));
                    }
                }
                if (!ns.rules) continue;
                std::set<uint32_t> marks;
                for (auto& r : *ns.rules)
                    if (jstr(r, "table") == "mangle")
                        if (uint32_t m = rule_mark(r); m && m != kEncryptMark) {
                            marks.insert(m);
                            if (fw_services.count(m)) continue;
                            auto& f = add("MARK_RULE_WITHOUT_SERVICE", Severity::Warning, std::nullopt);
                            node(f, s.host);
                            f.objects.push_back(fmt::format("{}:{} mangle {} {}", s.host, label, jstr(r, "chain"), jstr(r, "spec")));
                            evidence(f, s.host, r);
                            f.message = fmt::format("{}: {} marks packets {:#x} ({}) but has no IPVS service for that mark: "
                                                    "remove the rule with its owner's tool (ovnet-lb del, ovnet-publish del)",
                                                    s.host, label, m, m);
                        }
                for (uint32_t m : fw_services) {
                    if (marks.count(m)) continue;
                    auto& f = add("FWM_WITHOUT_MARK_RULE", Severity::Warning, std::nullopt);
                    node(f, s.host);
                    f.objects.push_back(fmt::format("{}:{} ipvs fwm {}", s.host, label, m));
                    for (auto& svc : *ns.ipvs)
                        if (jnum(svc, "fwmark") == m) evidence(f, s.host, svc);
                    f.message = fmt::format("{}: IPVS service fwm {} in {} has no mangle rule setting mark {:#x}: nothing "
                                            "reaches it; recreate it with its owner's tool (ovnet-lb add, ovnet-publish add)",
                                            s.host, m, label, m);
                }
            }
    }

    // A network's services and the node's published ports present on some nodes only.
    void partial() {
        std::map<std::string, std::vector<const AuditSnapshot*>> ports;   // "PORT/PROTO" -> nodes
        std::map<std::string, const json*> port_obj;
        for (auto& s : snaps) {
            std::set<std::string> mine;
            for (auto& [label, ns] : s.netns)
                for (auto& p : ns.published) {
                    std::string k = std::to_string(jnum(p, "port")) + "/" + jstr(p, "proto");
                    if (mine.insert(k).second) ports[k].push_back(&s), port_obj[k] = &p;
                }
        }
        for (auto& [k, have] : ports) {
            if (have.size() == snaps.size()) continue;
            for (auto& s : snaps) {
                if (std::find(have.begin(), have.end(), &s) != have.end()) continue;
                auto& f = add("PUBLISHED_PORT_PARTIAL", Severity::Warning, std::nullopt);
                node(f, s.host);
                for (auto* h : have) node(f, h->host), evidence(f, h->host, *port_obj[k]);
                f.objects.push_back(s.host + ":published " + k);
                f.message = fmt::format("{}: port {} is published on {} of {} nodes but not here: the routing mesh "
                                        "answers it only there; publish it here (ovnet-publish add) with the backends "
                                        "the other nodes have", s.host, k, have.size(), snaps.size());
            }
        }
    }
    // A published port whose DNAT rule leads to no IPVS service (IPVS read, none there).
    void dnat() {
        for (auto& s : snaps)
            for (auto& [label, ns] : s.netns)
                for (auto& p : ns.published) {
                    if (member(p, "backends").is_null() || !member(p, "ipvs").is_null()) continue;
                    std::string k = std::to_string(jnum(p, "port")) + "/" + jstr(p, "proto");
                    std::string sbox = jstr(p, "ingress_sbox");
                    auto& f = add("DNAT_WITHOUT_SERVICE", Severity::Warning, std::nullopt);
                    node(f, s.host);
                    f.objects.push_back(s.host + ":" + label + " published " + k);
                    evidence(f, s.host, p);
                    bool ours = jstr(p, "owner") == "ovnet";
                    f.message = fmt::format("{}: port {} is DNATed to the ingress sandbox {} but no IPVS service takes it "
                                            "there{}", s.host, k, sbox.empty() ? "-" : sbox,
                                            ours ? ": unpublish it (or publish it again with its backends)"
                                                 : ": Docker's rule; remove the service or restart its task (docker service update --force)");
                    if (ours)
                        fix(f, s.host, cmd("ovnet-publish", s, label, "del --port " + std::to_string(jnum(p, "port")) + " --proto " +
                                                                   shq(jstr(p, "proto")) + (sbox.empty() ? "" : " --ingress-sbox " + shq(sbox))));
                }
    }

    void services(const std::string& key, const std::vector<Member>& ms) {
        std::map<std::string, std::vector<const Member*>> vips;
        std::map<std::string, const json*> obj_of;
        for (auto& m : ms) {
            std::set<std::string> mine;
            for (auto& sv : m.net->services) {
                if (mine.insert(jstr(sv, "vip")).second) vips[jstr(sv, "vip")].push_back(&m), obj_of[jstr(sv, "vip")] = &sv;
            }
        }
        for (auto& [vip, have] : vips) {
            if (have.size() == ms.size()) continue;
            for (auto& m : ms) {
                if (std::find(have.begin(), have.end(), &m) != have.end()) continue;
                auto& f = add("SERVICE_PARTIAL", Severity::Warning, key);
                node(f, m.host());
                for (auto* h : have) node(f, h->host()), evidence(f, h->host(), *obj_of[vip]);
                f.objects.push_back(m.host() + ":" + m.net->bridge + " service " + vip);
                f.message = fmt::format("{}: service VIP {} of network {} is load-balanced on {} of {} nodes but not "
                                        "here: add it in this node's sandboxes on the network (ovnet-lb add) with the "
                                        "backends the other nodes have", m.host(), vip, key, have.size(), ms.size());
            }
        }
    }

    // xfrm between node pairs: an SA or policy one way only, SPIs or keys that differ.
    void xfrm() {
        struct Sa { std::string spi, fp; const json* obj; };
        struct Node { const AuditSnapshot* s; std::set<IpAddr> local; std::map<std::pair<IpAddr, IpAddr>, std::vector<Sa>> sa;
                      std::set<std::pair<IpAddr, IpAddr>> out_pol; bool read = false; };
        std::vector<Node> nodes;
        for (auto& s : snaps) {
            Node n{&s, {}, {}, {}, false};
            for (auto& net : s.networks)
                if (auto a = local_of(net, vtep_of(s, net)); a.valid()) n.local.insert(a);
            for (auto& [label, ns] : s.netns) {
                if (!ns.xfrm) continue;
                n.read = true;
                for (auto& st : member(*ns.xfrm, "states")) {
                    IpAddr a, b;
                    if (!IpAddr::try_parse(jstr(st, "src"), a) || !IpAddr::try_parse(jstr(st, "dst"), b)) continue;
                    std::string fp;
                    for (auto& al : member(st, "algs")) fp += jstr(al, "key_fingerprint") + ",";
                    n.sa[{a, b}].push_back({jstr(st, "spi"), fp, &st});
                }
                for (auto& po : member(*ns.xfrm, "policies")) {
                    if (jstr(po, "dir") != "out") continue;
                    for (auto& t : member(po, "templates")) {
                        IpAddr a, b;
                        if (IpAddr::try_parse(jstr(t, "src"), a) && IpAddr::try_parse(jstr(t, "dst"), b)) n.out_pol.insert({a, b});
                    }
                }
            }
            nodes.push_back(std::move(n));
        }
        auto holder = [&](const IpAddr& a) -> const Node* {
            for (auto& n : nodes)
                if (n.local.count(a)) return &n;
            return nullptr;
        };
        for (auto& A : nodes) {
            for (auto& [dir, sas] : A.sa) {
                // Each SA between A and another node B, checked on B (once: from the lower host).
                const Node* B = A.local.count(dir.first) ? holder(dir.second) : A.local.count(dir.second) ? holder(dir.first) : nullptr;
                if (!B || B == &A || !B->read) continue;
                auto it = B->sa.find(dir);
                std::string d = dir.first.str() + " -> " + dir.second.str();
                if (it == B->sa.end()) {
                    auto& f = add("SA_SP_ASYMMETRY", Severity::Error, std::nullopt);
                    node(f, B->s->host), node(f, A.s->host);
                    f.objects.push_back(B->s->host + ":xfrm state " + d);
                    for (auto& sa : sas) evidence(f, A.s->host, *sa.obj);
                    f.message = fmt::format("{} has the SA {} (spi {}) and {} none: encrypted traffic between them fails "
                                            "one way; no ovnet command programs xfrm: let Docker re-key the network "
                                            "(its keys come from the swarm)", A.s->host, d, sas[0].spi, B->s->host);
                    continue;
                }
                if (A.s->host > B->s->host) continue;
                bool common = false;
                for (auto& x : sas)
                    for (auto& y : it->second)
                        if (x.spi == y.spi) {
                            common = true;
                            if (x.fp != y.fp) {
                                auto& f = add("KEY_MISMATCH", Severity::Error, std::nullopt);
                                node(f, A.s->host), node(f, B->s->host);
                                f.objects.push_back(A.s->host + ":xfrm state " + d + " spi " + x.spi);
                                f.objects.push_back(B->s->host + ":xfrm state " + d + " spi " + y.spi);
                                evidence(f, A.s->host, *x.obj), evidence(f, B->s->host, *y.obj);
                                f.message = fmt::format("the SA {} spi {} has different keys on {} and {} (fingerprints "
                                                        "differ): no ovnet command programs xfrm: let Docker re-key",
                                                        d, x.spi, A.s->host, B->s->host);
                            }
                        }
                if (!common) {
                    auto& f = add("SPI_MISMATCH", Severity::Error, std::nullopt);
                    node(f, A.s->host), node(f, B->s->host);
                    f.objects.push_back(A.s->host + ":xfrm state " + d);
                    f.objects.push_back(B->s->host + ":xfrm state " + d);
                    for (auto& x : sas) evidence(f, A.s->host, *x.obj);
                    for (auto& y : it->second) evidence(f, B->s->host, *y.obj);
                    f.message = fmt::format("the SA {} has SPI {} on {} and {} on {}: no ovnet command programs xfrm: let "
                                            "Docker re-key", d, sas[0].spi, A.s->host, it->second[0].spi, B->s->host);
                }
            }
            for (auto& dir : A.out_pol) {
                const Node* B = holder(dir.second);
                if (!B || B == &A || !B->read || B->out_pol.count({dir.second, dir.first})) continue;
                auto& f = add("SA_SP_ASYMMETRY", Severity::Error, std::nullopt);
                node(f, B->s->host), node(f, A.s->host);
                f.objects.push_back(B->s->host + ":xfrm policy out " + dir.second.str() + " -> " + dir.first.str());
                f.message = fmt::format("{} encrypts toward {} ({} -> {}) but {} has no policy back: no ovnet command "
                                        "programs xfrm: let Docker re-key", A.s->host, B->s->host, dir.first.str(),
                                        dir.second.str(), B->s->host);
            }
        }
    }

    // The sysctls of each node's own namespace ("root", or the one labelled as the host) that
    // differ from what most nodes have.
    void sysctls() {
        std::vector<std::pair<const AuditSnapshot*, const AuditNetns*>> own;
        for (auto& s : snaps) {
            auto it = s.netns.find("root");
            if (it == s.netns.end()) it = s.netns.find(s.host);
            if (it != s.netns.end() && it->second.sysctls.is_object()) own.emplace_back(&s, &it->second);
        }
        if (own.size() < 2) return;
        std::set<std::string> keys;
        for (auto& [s, ns] : own)
            for (auto it = ns->sysctls.begin(); it != ns->sysctls.end(); ++it) keys.insert(it.key());
        for (auto& k : keys) {
            std::map<std::string, size_t> n;
            auto val = [&](const AuditNetns* ns) {
                if (!ns->sysctls.contains(k)) return std::string("absent");
                auto& v = ns->sysctls[k];
                return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string("absent") : v.dump();
            };
            for (auto& [s, ns] : own) n[val(ns)]++;
            if (n.size() < 2) continue;
            auto best = std::max_element(n.begin(), n.end(), [](auto& a, auto& b) { return a.second < b.second; });
            for (auto& [s, ns] : own) {
                auto v = val(ns);
                if (v == best->first) continue;
                auto& f = add("SYSCTL_DRIFT", Severity::Info, std::nullopt);
                node(f, s->host);
                f.objects.push_back(s->host + ":" + ns->label + " sysctl " + k);
                evidence(f, s->host, json{{k, ns->sysctls.contains(k) ? ns->sysctls[k] : json()}});
                f.message = fmt::format("{}: {} is {} in {}, {} on most nodes; no ovnet command sets a node's "
                                        "sysctl: sysctl -w {}={}", s->host, k, v, ns->label, best->first, k, best->first);
            }
        }
    }

    void run() {
        for (auto& s : snaps) r.nodes.push_back(s.host);
        vtep_addresses();
        // Networks matched across nodes by key; a node's second instance of a key is left out.
        std::map<std::string, std::vector<std::pair<const AuditSnapshot*, const AuditNetwork*>>> groups;
        for (auto& s : snaps)
            for (auto& n : s.networks) {
                auto& g = groups[n.key()];
                if (std::none_of(g.begin(), g.end(), [&](auto& x) { return x.first == &s; })) g.emplace_back(&s, &n);
            }
        for (auto& [key, g] : groups) {
            auto ms = members(g);
            AuditNetworkRef ref;
            ref.key = key;
            ref.id = g[0].second->id;
            ref.vni = majority(ms, [](const Member& m) { return m.net->vni; }, [](auto&, auto) { return true; }).value_or(0);
            for (auto& m : ms) ref.nodes.push_back(m.host());
            r.networks.push_back(std::move(ref));
            setting_mismatch(key, ms, "VNI_MISMATCH", "VNI", [](const Member& m) { return m.net->vni; });
            setting_mismatch(key, ms, "PORT_MISMATCH", "port", [](const Member& m) { return uint32_t(m.net->port); });
            mtus(key, ms);
            std::set<IpAddr> dup_ip;
            std::set<uint64_t> dup_mac;
            endpoints(key, ms, dup_ip, dup_mac);
            peers(key, ms, dup_ip, dup_mac);
            services(key, ms);
        }
        ipvs();
        dnat();
        partial();
        xfrm();
        sysctls();
    }
};

}  // namespace

AuditReport audit(const std::vector<AuditSnapshot>& snaps) {
    Auditor a{snaps, {}, {}, {}};
    a.run();
    return std::move(a.r);
}

}  // namespace ovnet
