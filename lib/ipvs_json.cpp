// The JSON schema of IPVS objects: from_json (the one reader), validate, write_json (the bulk
// form of the schema's bytes) and ipvs_read, the SAX reader of a set. The keys themselves are
// listed once, in the fields() of each type (include/ovnet/ipvs.hpp).
#include <algorithm>
#include <array>
#include <cstring>
#include <fmt/format.h>
#include <map>

#include "ipvs_wire.hpp"
#include "ovnet/error.hpp"
#include "ovnet/ipvs.hpp"

namespace ovnet {

using namespace ipvs_detail;

const std::vector<std::string>& ipvs_schedulers() {
    static const std::vector<std::string> s = {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                               "sh", "sed", "nq", "fo", "ovf", "mh"};
    return s;
}

const char* ipvs_fwd_name(IpvsFwd f) {
    switch (f) {
    case IpvsFwd::Masq: return "masq";
    case IpvsFwd::Local: return "local";
    case IpvsFwd::Tunnel: return "tunnel";
    case IpvsFwd::Route: return "dr";
    }
    return "?";
}

std::string IpvsDest::label() const { return addr_port(addr, port); }

std::string IpvsService::key() const {
    if (is_fwmark()) return fmt::format("{} {}", af == AF_INET6 ? "fwm6" : "fwm", fwmark);
    return protocol + " " + addr_port(addr, port);
}

void IpvsService::write_json(std::string& out, const std::string& netns) const {
    out += '{';
    if (!netns.empty()) {
        out += "\"netns\":";
        json_append(out, std::string_view(netns));
        out += ',';
    }
    schema::TextWriter w(out);
    fields(w);
    out += '}';
}

namespace {

// ---- reading services: one set of rules for DOM objects and the SAX reader ----

// The input keys of a destination, in the order of its schema (IpvsDest::fields); dest_from
// reads them by these indexes. dest_key_index() checks them against the schema.
enum DestKey { kDAddr, kDPort, kDFwd, kDWeight, kDUth, kDLth, kDTunType, kDTunPort, kDestKeys };
constexpr const char* kDestKeyNames[kDestKeys] = {"address", "port", "forward", "weight",
                                                  "u_threshold", "l_threshold", "tun_type", "tun_port"};

// The schema's destination keys: >= 0 an input key (its DestKey), -2 read-only (accepted, ignored).
struct DestKeyTable {
    std::vector<std::pair<std::string_view, int>> keys;
    DestKeyTable() {
        for (auto& k : schema::keys<IpvsDest>()) {
            int ix = -2;
            if (k.access == schema::Input) {
                ix = -1;
                for (int i = 0; i < kDestKeys; i++)
                    if (std::string_view(k.name) == kDestKeyNames[i]) ix = i;
                // A key added to IpvsDest::fields() must be read here too.
                if (ix < 0) throw std::logic_error(std::string("IpvsDest input key without a reader: ") + k.name);
            }
            keys.emplace_back(k.name, ix);
        }
    }
};

// >= 0: a DestKey; -2: read-only; -1: unknown.
int dest_key_index(std::string_view k) {
    static const DestKeyTable t;
    for (auto& [name, ix] : t.keys)
        if (k == name) return ix;
    return -1;
}
// A destination's fields (null when absent), pointing into a DOM or into a SAX record.
using DestFields = std::array<const json*, kDestKeys>;

// The name of dests[i], made only when an error needs it.
struct DestName {
    const std::string& svc;
    size_t i;
    operator std::string() const { return fmt::format("{}: dests[{}]", svc, i); }
};

const json* present(const json* v) { return v && !v->is_null() ? v : nullptr; }

const std::string* f_string(const json* v, const char* key, const DestName& n) {
    if (!present(v)) return nullptr;
    if (!v->is_string()) throw_input(n, key, shown_value(*v), fmt::format("must be a string, not {}", v->type_name()));
    return &v->get_ref<const std::string&>();
}

std::optional<uint64_t> f_uint(const json* v, const char* key, uint64_t min, uint64_t max, const DestName& n) {
    if (!present(v)) return std::nullopt;
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0)) {
        if (v->is_number_integer()) throw_input(n, key, shown_value(*v), fmt::format("must be in {}..{}", min, max));
        throw_input(n, key, shown_value(*v), fmt::format("must be an integer, not {}", v->type_name()));
    }
    uint64_t x = v->get<uint64_t>();
    if (x < min || x > max) throw_input(n, key, shown_value(*v), fmt::format("must be in {}..{}", min, max));
    return x;
}

IpvsDest dest_from(const DestFields& f, const std::string& obj, size_t i, uint16_t svc_port) {
    DestName n{obj, i};
    IpvsDest d;
    auto a = f_string(f[kDAddr], "address", n);
    if (!a || a->empty()) throw_input(n, "address", "", "required");
    if (!IpAddr::try_parse(*a, d.addr)) throw_input(n, "address", *a, "not an IPv4 or IPv6 address");
    auto p = f_uint(f[kDPort], "port", 0, 65535, n);
    d.port = p ? uint16_t(*p) : svc_port;
    if (auto fw = f_string(f[kDFwd], "forward", n)) {
        const std::string& x = *fw;
        if (x == "masq" || x == "nat" || x == "m") d.fwd = IpvsFwd::Masq;
        else if (x == "dr" || x == "route" || x == "droute" || x == "g") d.fwd = IpvsFwd::Route;
        else if (x == "tunnel" || x == "tun" || x == "ipip" || x == "i") d.fwd = IpvsFwd::Tunnel;
        else if (x == "local") d.fwd = IpvsFwd::Local;
        else throw_input(n, "forward", x, "must be masq, dr or tunnel");
    }
    if (auto w = f_uint(f[kDWeight], "weight", 0, 65535, n)) d.weight = uint32_t(*w);
    if (auto v = f_uint(f[kDUth], "u_threshold", 0, 0xffffffffULL, n)) d.u_thresh = uint32_t(*v);
    if (auto v = f_uint(f[kDLth], "l_threshold", 0, 0xffffffffULL, n)) d.l_thresh = uint32_t(*v);
    if (auto v = f_string(f[kDTunType], "tun_type", n)) d.tun_type = *v;
    if (auto v = f_uint(f[kDTunPort], "tun_port", 0, 65535, n)) d.tun_port = uint16_t(*v);
    if (d.fwd == IpvsFwd::Tunnel && d.tun_type.empty()) d.tun_type = "ipip";
    return d;
}

DestFields dest_fields(const json& dj, const std::string& obj, size_t i) {
    if (!dj.is_object()) require_object(dj, DestName{obj, i});
    DestFields f{};
    for (auto it = dj.begin(); it != dj.end(); ++it) {
        int k = dest_key_index(it.key());
        if (k == -1) throw_input(DestName{obj, i}, it.key(), shown_value(it.value()), "unknown field");
        if (k >= 0) f[size_t(k)] = &it.value();
    }
    return f;
}

// The service's own fields come from `j`; its destinations from j["dests"] or, for the SAX
// reader, from `sax_dests` (then j has no "dests").
IpvsService service_from(const json& j, const std::vector<DestFields>* sax_dests) {
    std::string obj = "service";
    require_object(j, obj);
    IpvsService s;
    // Name the service as early as possible so every error carries its key.
    if (j.contains("fwmark") && j["fwmark"].is_number_unsigned()) obj = "service fwm " + j["fwmark"].dump();
    else if (j.contains("address") && j["address"].is_string())
        obj = fmt::format("service {} {}:{}", j.value("protocol", std::string("tcp")),
                          j["address"].get<std::string>(), j.contains("port") ? j["port"].dump() : "?");
    schema::check_keys<IpvsService>(j, obj, {"netns"});
    std::string fam = opt_string(j, "family", obj).value_or("");
    if (!fam.empty() && fam != "ipv4" && fam != "ipv6" && fam != "inet" && fam != "inet6")
        throw_input(obj, "family", fam, "must be ipv4 or ipv6");
    bool fam6 = fam == "ipv6" || fam == "inet6";
    std::string proto = opt_string(j, "protocol", obj).value_or("");
    bool has_fwm = j.contains("fwmark") && !j["fwmark"].is_null();
    if (has_fwm || proto == "fwm") {
        if (!proto.empty() && proto != "fwm")
            throw_input(obj, "protocol", proto, "a firewall-mark service has no protocol (use \"fwm\" or leave it out)");
        if (!has_fwm) throw_input(obj, "fwmark", "", "required for protocol fwm");
        if (j.contains("address") && !j["address"].is_null())
            throw_input(obj, "address", j["address"].dump(), "a firewall-mark service has no address");
        if (j.contains("port") && !j["port"].is_null() && j["port"] != 0)
            throw_input(obj, "port", j["port"].dump(), "a firewall-mark service has no port");
        auto fm = opt_uint(j, "fwmark", 0, 0xffffffffULL, obj);
        s.protocol = "fwm";
        s.fwmark = uint32_t(*fm);
        s.af = fam6 ? AF_INET6 : AF_INET;
        if (s.fwmark == 0) throw_input(obj, "fwmark", "0", "must be in 1..4294967295");
    } else {
        if (proto.empty()) proto = "tcp";
        if (!proto_num(proto)) throw_input(obj, "protocol", proto, "must be tcp, udp, sctp or fwm");
        s.protocol = proto;
        auto a = opt_string(j, "address", obj);
        if (!a || a->empty()) throw_input(obj, "address", "", "required (or give a fwmark)");
        if (!IpAddr::try_parse(*a, s.addr)) throw_input(obj, "address", *a, "not an IPv4 or IPv6 address");
        s.af = s.addr.family;
        if (!fam.empty() && fam6 != (s.af == AF_INET6))
            throw_input(obj, "family", fam, "does not match the address " + *a);
        auto p = opt_uint(j, "port", 0, 65535, obj);
        if (!p) throw_input(obj, "port", "", "required for a " + proto + " service");
        s.port = uint16_t(*p);
    }
    obj = "service " + s.key();
    if (auto v = opt_string(j, "scheduler", obj)) s.scheduler = *v;
    auto pers = opt_bool(j, "persistent", obj);
    auto to = opt_uint(j, "timeout", 0, 0xffffffffULL, obj);
    s.persistent = pers.value_or(to && *to > 0);
    if (s.persistent) s.timeout = to && *to ? uint32_t(*to) : kDefaultPersist;
    else if (to && *to) throw_input(obj, "timeout", std::to_string(*to), "set only for a persistent service");
    if (j.contains("netmask") && !j["netmask"].is_null()) {
        auto& nm = j["netmask"];
        if (nm.is_string()) {
            s.netmask = ipvs_parse_netmask(nm.get<std::string>(), s.af, obj);
        } else {
            s.netmask = int(*opt_uint(j, "netmask", 0, 128, obj));
            if (s.netmask == max_plen(s.af)) s.netmask = -1;
        }
    }
    if (auto v = opt_bool(j, "onepacket", obj)) s.onepacket = *v;
    if (auto v = opt_bool(j, "sh_fallback", obj)) s.sh_fallback = *v;
    if (auto v = opt_bool(j, "sh_port", obj)) s.sh_port = *v;
    if (auto v = opt_string(j, "pe", obj)) s.pe = *v;
    if (sax_dests) {
        s.dests.reserve(sax_dests->size());
        for (size_t i = 0; i < sax_dests->size(); i++) s.dests.push_back(dest_from((*sax_dests)[i], obj, i, s.port));
    } else if (j.contains("dests") && !j["dests"].is_null()) {
        auto& ds = j["dests"];
        if (!ds.is_array()) throw_input(obj, "dests", ds.dump().substr(0, 40), "must be an array");
        s.dests.reserve(ds.size());
        size_t i = 0;
        for (auto& dj : ds) {
            s.dests.push_back(dest_from(dest_fields(dj, obj, i), obj, i, s.port));
            i++;
        }
    }
    s.validate();
    return s;
}

}  // namespace

IpvsService IpvsService::from_json(const json& j) { return service_from(j, nullptr); }

void IpvsService::validate() const {
    std::string obj = "service " + key();
    if (af != AF_INET && af != AF_INET6) throw_input(obj, "family", std::to_string(af), "must be ipv4 or ipv6");
    if (protocol == "fwm" || fwmark) {
        if (fwmark == 0) throw_input(obj, "fwmark", "0", "must be in 1..4294967295");
        if (addr.valid()) throw_input(obj, "address", addr.str(), "a firewall-mark service has no address");
        if (port) throw_input(obj, "port", std::to_string(port), "a firewall-mark service has no port");
    } else {
        if (!proto_num(protocol)) throw_input(obj, "protocol", protocol, "must be tcp, udp, sctp or fwm");
        if (!addr.valid()) throw_input(obj, "address", "", "required (or give a fwmark)");
        if (addr.family != af) throw_input(obj, "address", addr.str(), "does not match the service's family");
        if (!is_unicast_host(addr)) throw_input(obj, "address", addr.str(), "must be a unicast address");
        if (port == 0 && !persistent)
            throw_input(obj, "port", "0", "port 0 is only allowed for persistent services");
    }
    auto& sc = ipvs_schedulers();
    if (std::find(sc.begin(), sc.end(), scheduler) == sc.end())
        throw_input(obj, "scheduler", scheduler, "unknown scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh)");
    if (persistent && timeout == 0) throw_input(obj, "timeout", "0", "a persistent service needs a timeout of 1 second or more");
    if (!persistent && timeout) throw_input(obj, "timeout", std::to_string(timeout), "set only for a persistent service");
    if (netmask > max_plen(af)) throw_input(obj, "netmask", std::to_string(netmask), fmt::format("must be in 0..{}", max_plen(af)));
    if (netmask >= 0 && netmask != max_plen(af) && !persistent)
        throw_input(obj, "netmask", std::to_string(netmask), "set only for a persistent service");
    if (af == AF_INET6 && netmask == 0) throw_input(obj, "netmask", "0", "must be in 1..128");
    if ((sh_fallback || sh_port) && !sched_has_flags(scheduler))
        throw_input(obj, sh_fallback ? "sh_fallback" : "sh_port", "true", "only for the sh and mh schedulers, not " + scheduler);
    if (!pe.empty() && pe != "sip") throw_input(obj, "pe", pe, "the only persistence engine is sip");
    if (!pe.empty() && !persistent) throw_input(obj, "pe", pe, "a persistence engine needs a persistent service");
    // The first destination that repeats an earlier one (by address and port), found by sorting.
    size_t dup_at = dests.size(), dup_of = 0;
    if (dests.size() > 1) {
        std::vector<size_t> ix(dests.size());
        for (size_t i = 0; i < ix.size(); i++) ix[i] = i;
        std::sort(ix.begin(), ix.end(), [&](size_t x, size_t y) {
            int c = dest_cmp(dests[x], dests[y]);
            return c ? c < 0 : x < y;
        });
        for (size_t k = 1; k < ix.size(); k++) {
            if (ix[k] < dup_at && dest_cmp(dests[ix[k - 1]], dests[ix[k]]) == 0) {
                // ix[k] repeats the group's first member: walk back to it.
                size_t first = k - 1;
                while (first > 0 && dest_cmp(dests[ix[first - 1]], dests[ix[k]]) == 0) first--;
                dup_at = ix[k], dup_of = ix[first];
            }
        }
    }
    for (size_t i = 0; i < dests.size(); i++) {
        auto& d = dests[i];
        DestName dobj{obj, i};
        if (!d.addr.valid()) throw_input(dobj, "address", "", "required");
        if (d.addr.family != af)
            throw_input(dobj, "address", d.addr.str(),
                        fmt::format("is {} but the service is {}", d.addr.family == AF_INET6 ? "IPv6" : "IPv4",
                                    af == AF_INET6 ? "IPv6" : "IPv4"));
        if (!is_unicast_host(d.addr)) throw_input(dobj, "address", d.addr.str(), "must be a unicast address");
        if (d.weight > 65535) throw_input(dobj, "weight", std::to_string(d.weight), "must be in 0..65535");
        if (d.l_thresh > d.u_thresh)
            throw_input(dobj, "l_threshold", std::to_string(d.l_thresh),
                        fmt::format("is above the upper threshold {}", d.u_thresh));
        if (d.fwd == IpvsFwd::Masq && d.port == 0 && !fwmark && !persistent)
            throw_input(dobj, "port", "0", "a masq destination of a port service needs a port");
        if (d.fwd == IpvsFwd::Tunnel) {
            std::string t = d.tun_type.empty() ? "ipip" : d.tun_type;
            if (tun_num(t) < 0) throw_input(dobj, "tun_type", t, "must be ipip, gue or gre");
            if (t == "gue" && d.tun_port == 0) throw_input(dobj, "tun_port", "0", "required for gue (1..65535)");
            if (t != "gue" && d.tun_port) throw_input(dobj, "tun_port", std::to_string(d.tun_port), "only for gue tunnels");
        } else if (!d.tun_type.empty() || d.tun_port) {
            throw_input(dobj, "tun_type", d.tun_type, "only for tunnel forwarding");
        }
        if (i == dup_at)
            throw_input(dobj, "address", d.label(), fmt::format("appears twice (dests[{}] and dests[{}])", dup_of, i));
    }
}

// ---------------------------------------------------------------------------------------------
// reading a set
//
// A set of 1,000 services x 10 destinations costs more as a DOM than programming it does, so
// ipvs_read() parses with SAX: each service's own fields still become a small DOM object, its
// destinations become DestFields records, and both go through service_from(), the rules of
// from_json(). Shapes the fast path does not take (a non-object where a service or destination
// belongs, an unknown destination field, nested values other than "stats") make it give up on
// that document and read it as from_json() does, so errors are the same whichever path runs.

namespace {

// The services of a set as they are read, numbered from 1. The first invalid one is kept and
// raised once the whole text is read: a syntax error further on wins, as with a DOM.
struct SetOut {
    std::vector<IpvsService> services;
    std::vector<json> stubs;   // per service, its "netns" if any
    size_t count = 0;
    std::exception_ptr first_error;

    template <class Build>
    void add(const json& obj, Build build) {
        count++;
        json stub = json::object();
        if (obj.is_object() && obj.contains("netns")) stub["netns"] = obj["netns"];
        stubs.push_back(std::move(stub));
        if (first_error) return;
        try {
            services.push_back(build());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Input) throw;
            first_error = std::make_exception_ptr(
                Error(ErrorKind::Input, fmt::format("service #{}: {}", count, e.what()), 0, {}, e.object(), e.field()));
        }
    }
};

struct SetSax : nlohmann::json_sax<json> {
    struct DestRec {
        std::array<json, kDestKeys> v;
        DestFields fields() const {
            DestFields f{};
            for (size_t k = 0; k < f.size(); k++) f[k] = v[k].is_null() ? nullptr : &v[k];
            return f;
        }
    };
    enum State { Top, TopArray, Svc, Dests, Dest };

    SetOut& set;
    State st = Top;
    int skip = 0;              // depth inside an ignored value ("stats")
    std::string cur_key;
    json svc;
    bool has_dests = false;
    std::vector<DestRec> recs;
    int dest_key = -1;         // field of the current destination, -2 ignored

    explicit SetSax(SetOut& o) : set(o) {}

    void finish_service() {
        set.add(svc, [&] {
            std::vector<DestFields> f;
            f.reserve(recs.size());
            for (auto& r : recs) f.push_back(r.fields());
            return service_from(svc, &f);
        });
    }
    bool scalar(json v) {
        if (skip) return true;
        switch (st) {
        case Svc:
            if (cur_key == "dests") return false;
            svc[cur_key] = std::move(v);
            return true;
        case Dest:
            if (dest_key >= 0) recs.back().v[size_t(dest_key)] = std::move(v);
            return true;
        default: return false;   // a scalar where a service or a destination belongs
        }
    }
    bool null() override { return scalar(json()); }
    bool boolean(bool x) override { return scalar(json(x)); }
    bool number_integer(json::number_integer_t x) override { return scalar(json(x)); }
    bool number_unsigned(json::number_unsigned_t x) override { return scalar(json(x)); }
    bool number_float(json::number_float_t x, const std::string&) override { return scalar(json(x)); }
    bool string(std::string& x) override { return scalar(json(std::move(x))); }
    bool binary(json::binary_t&) override { return false; }
    bool key(std::string& k) override {
        if (skip) return true;
        if (st == Dest) {
            dest_key = dest_key_index(k);
            return dest_key != -1;
        }
        cur_key.assign(k);
        return true;
    }
    bool start_object(std::size_t) override {
        if (skip) { skip++; return true; }
        switch (st) {
        case Top: case TopArray:
            svc = json::object();
            has_dests = false;
            recs.clear();
            st = Svc;
            return true;
        case Svc:
            if (cur_key != "stats") return false;
            skip = 1;
            return true;
        case Dests:
            recs.emplace_back();
            st = Dest;
            return true;
        case Dest:
            if (dest_key != -2) return false;
            skip = 1;
            return true;
        }
        return false;
    }
    bool end_object() override {
        if (skip) { skip--; return true; }
        if (st == Dest) { st = Dests; return true; }
        finish_service();
        st = depth_top ? TopArray : Top;
        return true;
    }
    bool depth_top = false;    // inside a top-level array
    bool start_array(std::size_t) override {
        if (skip) { skip++; return true; }
        if (st == Top) { st = TopArray; depth_top = true; return true; }
        if (st == Svc && cur_key == "dests" && !has_dests) { has_dests = true; st = Dests; return true; }
        if (st == Svc && cur_key == "stats") { skip = 1; return true; }
        if (st == Dest && dest_key == -2) { skip = 1; return true; }
        return false;
    }
    bool end_array() override {
        if (skip) { skip--; return true; }
        if (st == Dests) { st = Svc; return true; }
        st = Top;
        depth_top = false;
        return true;
    }
    // Syntax errors are left to the nlohmann reading that follows a false from json_sax_fast.
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

}  // namespace

std::vector<IpvsService> ipvs_read(std::istream& in, const std::string& what, std::vector<json>* stubs_out) {
    std::string text = read_all(in);
    SetOut set;
    SetSax whole(set);
    // The whole stream in one pass (most sets); when the fast reader gives up, what it delivered
    // is dropped and every document is read as from_json() reads it.
    json_sax_read(text, what, whole, [&] { set = SetOut{}; }, [&](std::string_view span, size_t) {
        json j = json::parse(span.begin(), span.end());
        if (!j.is_array()) j = json::array({std::move(j)});
        for (auto& d : j) set.add(d, [&] { return IpvsService::from_json(d); });
    });
    if (set.first_error) std::rethrow_exception(set.first_error);
    if (stubs_out) *stubs_out = std::move(set.stubs);
    return std::move(set.services);
}


}  // namespace ovnet
