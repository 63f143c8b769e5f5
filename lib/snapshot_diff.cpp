// snapshot_diff: two ovnet-inspect snapshots compared object by object, keyed by identity.
#include "ovnet/snapshot_diff.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "ovnet/error.hpp"

namespace ovnet {
namespace {

// Keys that count rather than configure; compared only with --counters.
bool is_counter(const std::string& k) {
    return k == "packets" || k == "bytes" || k == "stats" || k == "active" || k == "inactive" ||
           k == "persistent_conns";
}

// v without counters (recursively), for comparison.
json strip(const json& v, bool counters) {
    if (counters) return v;
    if (v.is_object()) {
        json o = json::object();
        for (auto it = v.begin(); it != v.end(); ++it)
            if (!is_counter(it.key())) o[it.key()] = strip(it.value(), false);
        return o;
    }
    if (v.is_array()) {
        json a = json::array();
        for (auto& x : v) a.push_back(strip(x, false));
        return a;
    }
    return v;
}

std::string str(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "-";
    return v.dump();
}

using Keyed = std::vector<std::pair<std::string, const json*>>;
using Id = std::function<std::string(const json&)>;

// The objects of a list with their identities. An identity that repeats in either snapshot (`also`,
// the other side's list) gets the second key in both; one still repeated gets "#2", "#3".
Keyed keyed(const json& list, const Id& id, const Id& second = {}, const json* also = nullptr) {
    Keyed out;
    if (!list.is_array()) return out;
    std::map<std::string, int> n, m;
    for (auto& x : list) n[id(x)]++;
    if (also && also->is_array())
        for (auto& x : *also) m[id(x)]++;
    std::map<std::string, int> seen;
    for (auto& x : list) {
        std::string k = id(x);
        if ((n[k] > 1 || m[k] > 1) && second) k += " " + second(x);
        if (int s = ++seen[k]; s > 1) k += " #" + std::to_string(s);
        out.emplace_back(std::move(k), &x);
    }
    return out;
}

struct Differ {
    const SnapshotDiffOptions& opt;
    std::vector<SnapshotChange>& out;

    void add(Action a, const std::string& ns, const char* kind, const std::string& id, const json* before,
             const json* after, std::vector<std::string> fields = {}, bool moved = false) {
        SnapshotChange c;
        c.action = a;
        c.moved = moved;
        c.netns = ns;
        c.kind = kind;
        c.object = id;
        c.before = before ? *before : json(nullptr);
        c.after = after ? *after : json(nullptr);
        c.fields = std::move(fields);
        out.push_back(std::move(c));
    }

    // The keys of two objects whose values differ, ignoring `skip` (and counters).
    std::vector<std::string> fields(const json& a, const json& b, std::initializer_list<const char*> skip = {}) {
        std::vector<std::string> f;
        auto skipped = [&](const std::string& k) {
            if (!opt.counters && is_counter(k)) return true;
            for (auto* s : skip)
                if (k == s) return true;
            return false;
        };
        if (!a.is_object() || !b.is_object()) {
            if (strip(a, opt.counters) != strip(b, opt.counters)) f.push_back("value");
            return f;
        }
        for (auto it = a.begin(); it != a.end(); ++it) {
            if (skipped(it.key())) continue;
            auto jt = b.find(it.key());
            if (jt == b.end() || strip(*it, opt.counters) != strip(*jt, opt.counters)) f.push_back(it.key());
        }
        for (auto jt = b.begin(); jt != b.end(); ++jt)
            if (!skipped(jt.key()) && !a.contains(jt.key())) f.push_back(jt.key());
        return f;
    }

    // Added, removed and changed objects of two keyed lists (b's order for added ones).
    void lists(const std::string& ns, const char* kind, const Keyed& a, const Keyed& b,
               std::initializer_list<const char*> skip = {}) {
        std::map<std::string, const json*> ia(a.begin(), a.end()), ib(b.begin(), b.end());
        for (auto& [k, x] : a) {
            auto it = ib.find(k);
            if (it == ib.end()) {
                add(Action::Removed, ns, kind, k, x, nullptr);
                continue;
            }
            if (auto f = fields(*x, *it->second, skip); !f.empty())
                add(Action::Changed, ns, kind, k, x, it->second, std::move(f));
        }
        for (auto& [k, x] : b)
            if (!ia.count(k)) add(Action::Added, ns, kind, k, nullptr, x);
    }

    // Netfilter rules: per table/chain, by rule text; a common rule whose order relative to the
    // other common rules changed is "moved" (the fewest: those off a longest increasing run).
    void rules(const std::string& ns, const Keyed& a, const Keyed& b) {
        lists(ns, "netfilter-rule", a, b, {"position"});
        std::map<std::string, size_t> rank_b;
        std::map<std::string, std::vector<std::string>> order_b;
        auto chain_of = [](const json& r) { return str(r.value("table", json())) + " " + str(r.value("chain", json())); };
        for (auto& [k, x] : b) order_b[chain_of(*x)].push_back(k);
        std::map<std::string, const json*> ib(b.begin(), b.end());
        for (auto& [c, ks] : order_b)
            for (size_t i = 0; i < ks.size(); ++i) rank_b[ks[i]] = i;
        std::map<std::string, std::vector<std::pair<std::string, const json*>>> common;   // per chain, a's order
        for (auto& [k, x] : a)
            if (rank_b.count(k)) common[chain_of(*x)].emplace_back(k, x);
        for (auto& [c, rs] : common) {
            // Longest increasing subsequence of b's ranks, in a's order (patience, with parents).
            std::vector<size_t> r;
            for (auto& [k, x] : rs) r.push_back(rank_b[k]);
            std::vector<size_t> tails, parent(r.size(), SIZE_MAX);
            for (size_t i = 0; i < r.size(); ++i) {
                auto pos = std::lower_bound(tails.begin(), tails.end(), r[i], [&](size_t t, size_t v) { return r[t] < v; });
                if (pos != tails.begin()) parent[i] = *(pos - 1);
                if (pos == tails.end()) tails.push_back(i); else *pos = i;
            }
            std::vector<bool> keep(r.size(), false);
            for (size_t i = tails.empty() ? SIZE_MAX : tails.back(); i != SIZE_MAX; i = parent[i]) keep[i] = true;
            for (size_t i = 0; i < rs.size(); ++i)
                if (!keep[i]) add(Action::Changed, ns, "netfilter-rule", rs[i].first, rs[i].second, ib[rs[i].first], {"position"}, true);
        }
    }

    void netns(const std::string& ns, const json& a, const json& b) {
        static const auto arr = [](const json& o, const char* k) -> const json& {
            static const json empty = json::array();
            auto it = o.find(k);
            return it != o.end() && it->is_array() ? *it : empty;
        };
        auto name = [](const char* k) { return [k](const json& x) { return str(x.value(k, json())); }; };
        // The namespace's own fields.
        json ha = json::object(), hb = json::object();
        for (auto* k : {"name", "path", "source", "container", "ipvs_error", "netfilter_error", "xfrm_error"}) {
            ha[k] = a.value(k, json());
            hb[k] = b.value(k, json());
        }
        if (auto f = fields(ha, hb); !f.empty()) add(Action::Changed, ns, "netns", ns, &ha, &hb, std::move(f));

        lists(ns, "link", keyed(arr(a, "links"), name("name")), keyed(arr(b, "links"), name("name")));
        lists(ns, "bridge", keyed(arr(a, "bridges"), name("name")), keyed(arr(b, "bridges"), name("name")), {"ports"});
        // The ports of bridges on both sides (a bridge added or removed holds its own).
        auto ports = [&](const json& o, const json& other) {
            Keyed k;
            std::set<std::string> there;
            for (auto& br : arr(other, "bridges")) there.insert(str(br.value("name", json())));
            for (auto& br : arr(o, "bridges")) {
                if (!there.count(str(br.value("name", json())))) continue;
                for (auto& p : keyed(arr(br, "ports"), name("name")))
                    k.emplace_back(str(br.value("name", json())) + " " + p.first, p.second);
            }
            return k;
        };
        lists(ns, "bridge-port", ports(a, b), ports(b, a));
        lists(ns, "vtep", keyed(arr(a, "vteps"), name("name")), keyed(arr(b, "vteps"), name("name")));
        lists(ns, "address", keyed(arr(a, "addresses"), name("address"), name("ifname"), &arr(b, "addresses")),
              keyed(arr(b, "addresses"), name("address"), name("ifname"), &arr(a, "addresses")));
        auto route = [](const json& r) {
            std::string k = str(r.value("dst", json()));
            if (r.contains("table")) k += " table " + str(r["table"]);
            return k;
        };
        auto route_dev = [](const json& r) { return "dev " + str(r.value("dev", json())); };
        lists(ns, "route", keyed(arr(a, "routes"), route, route_dev, &arr(b, "routes")),
              keyed(arr(b, "routes"), route, route_dev, &arr(a, "routes")));
        auto peers = [&](const json& o, const json& other) {
            Keyed k;
            auto it = o.find("peers");
            if (it == o.end() || !it->is_object()) return k;
            auto ot = other.find("peers");
            for (auto v = it->begin(); v != it->end(); ++v) {
                const json* also = ot != other.end() && ot->is_object() && ot->contains(v.key()) ? &(*ot)[v.key()] : nullptr;
                for (auto& p : keyed(*v, name("mac"), name("ip"), also)) k.emplace_back(v.key() + " " + p.first, p.second);
            }
            return k;
        };
        lists(ns, "peer", peers(a, b), peers(b, a));
        lists(ns, "ipvs-service", keyed(arr(a, "ipvs"), name("key")), keyed(arr(b, "ipvs"), name("key")), {"dests"});
        // The destinations of services on both sides (a service added or removed holds its own).
        auto dests = [&](const json& o, const json& other) {
            Keyed k;
            std::set<std::string> there;
            for (auto& s : arr(other, "ipvs")) there.insert(str(s.value("key", json())));
            for (auto& s : arr(o, "ipvs")) {
                if (!there.count(str(s.value("key", json())))) continue;
                auto addr = [](const json& d) { return str(d.value("address", json())) + ":" + str(d.value("port", json())); };
                for (auto& d : keyed(arr(s, "dests"), addr))
                    k.emplace_back(str(s.value("key", json())) + " " + d.first, d.second);
            }
            return k;
        };
        lists(ns, "ipvs-dest", dests(a, b), dests(b, a));
        auto nf = [&](const json& o, const char* k) -> const json& {
            static const json empty = json::array();
            auto it = o.find("netfilter");
            return it != o.end() && it->is_object() ? arr(*it, k) : empty;
        };
        auto chain = [](const json& c) { return str(c.value("table", json())) + " " + str(c.value("chain", json())); };
        lists(ns, "netfilter-chain", keyed(nf(a, "chains"), chain), keyed(nf(b, "chains"), chain));
        auto rule = [&](const json& r) { return chain(r) + " " + str(r.value("spec", json())); };
        rules(ns, keyed(nf(a, "rules"), rule), keyed(nf(b, "rules"), rule));
        auto xf = [&](const json& o, const char* k) -> const json& {
            static const json empty = json::array();
            auto it = o.find("xfrm");
            return it != o.end() && it->is_object() ? arr(*it, k) : empty;
        };
        auto state = [](const json& s) {
            return str(s.value("src", json())) + " " + str(s.value("dst", json())) + " " + str(s.value("proto", json())) +
                   " " + str(s.value("spi", json()));
        };
        lists(ns, "xfrm-state", keyed(xf(a, "states"), state), keyed(xf(b, "states"), state));
        auto policy = [](const json& p) {
            std::string k;
            for (auto* f : {"dir", "src", "dst", "proto", "sport", "dport"}) k += str(p.value(f, json())) + " ";
            return k + str(p.value("mark", json())) + "/" + str(p.value("mark_mask", json()));
        };
        lists(ns, "xfrm-policy", keyed(xf(a, "policies"), policy), keyed(xf(b, "policies"), policy));
        auto sysctls = [](const json& o) {
            Keyed k;
            auto it = o.find("sysctls");
            if (it != o.end() && it->is_object())
                for (auto v = it->begin(); v != it->end(); ++v) k.emplace_back(v.key(), &*v);
            return k;
        };
        lists(ns, "sysctl", sysctls(a), sysctls(b));
        auto lb = [](const json& s) { return str(s.value("vip", json())) + " fwmark " + str(s.value("fwmark", json())); };
        lists(ns, "lb-service", keyed(arr(a, "lb_services"), lb), keyed(arr(b, "lb_services"), lb));
        auto pub = [](const json& p) { return str(p.value("port", json())) + "/" + str(p.value("proto", json())); };
        lists(ns, "published", keyed(arr(a, "published"), pub), keyed(arr(b, "published"), pub));
    }
};

}  // namespace

void check_snapshot(const json& doc, const std::string& what) {
    if (!doc.is_object())
        throw Error(ErrorKind::Input, what + ": not an ovnet-inspect snapshot (a JSON " + doc.type_name() +
                                          ", not an object)");
    auto it = doc.find("schema");
    if (it == doc.end())
        throw Error(ErrorKind::Input, what + ": not an ovnet-inspect snapshot (no \"schema\": \"" +
                                          kSnapshotSchema + "\")");
    if (!it->is_string() || it->get<std::string>() != kSnapshotSchema)
        throw Error(ErrorKind::Input, what + ": schema " + (it->is_string() ? "\"" + shown_value(*it) + "\"" : shown_value(*it)) +
                                          " is not \"" + kSnapshotSchema + "\"");
    auto ns = doc.find("netns");
    auto nets = doc.find("networks");
    if (ns == doc.end() || !ns->is_object() || nets == doc.end() || !nets->is_array())
        throw Error(ErrorKind::Input, what + ": not an ovnet-inspect snapshot (no \"netns\" object or "
                                             "\"networks\" array)");
}

std::vector<SnapshotChange> snapshot_diff(const json& a, const json& b, const SnapshotDiffOptions& opt) {
    std::vector<SnapshotChange> out;
    Differ d{opt, out};
    // The node's own fields.
    json ha = json::object(), hb = json::object();
    ha["host"] = a.value("host", json());
    hb["host"] = b.value("host", json());
    if (opt.counters) {
        ha["time"] = a.value("time", json());
        hb["time"] = b.value("time", json());
    }
    if (auto f = d.fields(ha, hb); !f.empty()) d.add(Action::Changed, "", "host", str(hb["host"]), &ha, &hb, std::move(f));

    const json& na = a["netns"];
    const json& nb = b["netns"];
    for (auto it = na.begin(); it != na.end(); ++it) {
        auto jt = nb.find(it.key());
        if (jt == nb.end()) d.add(Action::Removed, it.key(), "netns", it.key(), &*it, nullptr);
        else d.netns(it.key(), *it, *jt);
    }
    for (auto jt = nb.begin(); jt != nb.end(); ++jt)
        if (!na.contains(jt.key())) d.add(Action::Added, jt.key(), "netns", jt.key(), nullptr, &*jt);

    // Networks: their own fields; endpoints, peers, services and published ports are derived from
    // the namespaces' objects, compared above.
    auto net = [](const json& n) {
        return "vni " + str(n.value("vni", json())) + " bridge " + str(n.value("netns", json())) + "/" +
               str(n.value("bridge", json()));
    };
    d.lists("", "network", keyed(a["networks"], net), keyed(b["networks"], net),
            {"endpoints", "peers", "peer_hosts", "services", "published"});
    return out;
}

json SnapshotChange::to_json() const {
    json j = json::object();
    j["action"] = word();
    j["netns"] = netns;
    j["kind"] = kind;
    j["object"] = object;
    j["before"] = before;
    j["after"] = after;
    j["fields"] = fields;
    return j;
}

Change SnapshotChange::to_change() const {
    std::string f = "\"netns\":" + json(netns).dump() + ",\"kind\":" + json(kind).dump();
    return Change(action, (netns.empty() ? "" : "netns " + netns + " ") + kind + " " + object,
                  moved ? "moved" : nullptr, std::move(f));
}

json snapshot_diff_report(const std::vector<SnapshotChange>& changes) {
    json r = json::object();
    r["equal"] = changes.empty();
    json list = json::array();
    size_t added = 0, removed = 0, changed = 0, moved = 0;
    for (auto& c : changes) {
        list.push_back(c.to_json());
        if (c.moved) ++moved;
        else if (c.action == Action::Added) ++added;
        else if (c.action == Action::Removed) ++removed;
        else ++changed;
    }
    r["changes"] = std::move(list);
    r["stats"] = {{"added", added}, {"removed", removed}, {"changed", changed}, {"moved", moved}};
    return r;
}

}  // namespace ovnet
