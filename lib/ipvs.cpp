// IPVS services and destinations: the typed API over the "IPVS" generic netlink family (moby/ipvs's
// ipvs_linux.go): the handle, list/get, the verbs, and executing a plan (lib/ipvs_plan.cpp) in one
// batch with rollback. Messages are encoded and parsed in lib/ipvs_wire.cpp.
#include "ovnet/ipvs.hpp"

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <thread>
#include <unordered_set>

#include "ipvs_wire.hpp"
#include "ovnet/error.hpp"

namespace ovnet {

using namespace ipvs_detail;

namespace {

std::vector<IpvsDest> list_dests(IpvsHandle& h, const IpvsService& s) {
    std::vector<IpvsDest> out;
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_DEST, 0);
    put_service(m.get(), s, false);
    h.nl().dump(
        m,
        [&](const nlmsghdr* r) {
            if (auto d = parse_dest_msg(r, s.af)) out.push_back(std::move(*d));
        },
        [&] { out.clear(); });
    std::sort(out.begin(), out.end(), dest_less);
    return out;
}

// The current state of one service (nullopt when it does not exist), with its destinations.
std::optional<IpvsService> get_service(IpvsHandle& h, const IpvsService& key) {
    std::optional<IpvsService> out;
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_SERVICE, 0);
    put_service(m.get(), key, false);
    std::string ext;
    int err = h.nl().get(std::move(m), [&](const nlmsghdr* r) { out = parse_service_msg(r); }, &ext);
    if (err == ESRCH || err == ENOENT) return std::nullopt;
    if (err) throw_sys(err, "get IPVS service", ext, "service " + key.key());
    if (out) out->dests = list_dests(h, *out);
    return out;
}

// ---- executing a plan ----

uint8_t cmd_of(IpvsOp::Kind k) {
    static const uint8_t cmds[] = {IPVS_CMD_NEW_SERVICE, IPVS_CMD_SET_SERVICE, IPVS_CMD_DEL_SERVICE,
                                   IPVS_CMD_NEW_DEST, IPVS_CMD_SET_DEST, IPVS_CMD_DEL_DEST};
    return cmds[k];
}

std::string op_object(const IpvsOp& o) {
    return o.dest ? "dest " + o.dest->label() + " of " + o.svc->key() : "service " + o.svc->key();
}

std::vector<BatchError> send_ops(IpvsHandle& h, const std::vector<IpvsOp>& ops) {
    int fam = h.family();
    // Destination requests of one service repeat its key attributes: encode them once per
    // service and append the bytes.
    NlMsg scratch(nlmsg_alloc_size(512));
    if (!scratch) throw_sys(ENOMEM, "allocate netlink message");
    const IpvsService* keyed = nullptr;
    std::vector<char> key_attrs;
    return h.nl().batch_fill(ops.size(), [&](size_t i, nl_msg* m) {
        const IpvsOp& o = ops[i];
        bool full = o.kind != IpvsOp::RemoveService && o.kind != IpvsOp::RemoveDest;
        set_genl_hdr(nl_reuse(m, fam, 0, GENL_HDRLEN), cmd_of(o.kind));
        if (!o.dest) return put_service(m, *o.svc, full);
        if (o.svc != keyed) {
            nl_reuse(scratch.get(), fam, 0, GENL_HDRLEN);
            put_service(scratch.get(), *o.svc, false);
            nlmsghdr* sh = nlmsg_hdr(scratch.get());
            auto* b = static_cast<char*>(nlmsg_data(sh)) + GENL_HDRLEN;
            key_attrs.assign(b, static_cast<char*>(nlmsg_tail(sh)));
            keyed = o.svc;
        }
        if (nlmsg_append(m, key_attrs.data(), key_attrs.size(), NLMSG_ALIGNTO) < 0) throw_sys(ENOMEM, "build netlink message");
        put_dest(m, *o.dest, full);
    });
}

// The requests that undo the ones that succeeded, newest first.
std::vector<IpvsOp> undo_ops(const std::vector<IpvsOp>& ops, const std::vector<BatchError>& errs) {
    std::vector<bool> failed(ops.size(), false);
    for (auto& e : errs) failed[e.index] = true;
    std::unordered_set<const IpvsService*> added;   // removing a new service removes its destinations
    for (size_t i = 0; i < ops.size(); i++)
        if (!failed[i] && ops[i].kind == IpvsOp::AddService) added.insert(ops[i].svc);
    std::vector<IpvsOp> undo;
    for (size_t i = ops.size(); i-- > 0;) {
        if (failed[i]) continue;
        const IpvsOp& o = ops[i];
        switch (o.kind) {
        case IpvsOp::AddService: undo.push_back({IpvsOp::RemoveService, o.svc}); break;
        case IpvsOp::AddDest:
            if (!added.count(o.svc)) undo.push_back({IpvsOp::RemoveDest, o.svc, o.dest});
            break;
        case IpvsOp::EditService:
            undo.push_back({IpvsOp::EditService, static_cast<const IpvsService*>(o.prev)});
            break;
        case IpvsOp::EditDest:
            undo.push_back({IpvsOp::EditDest, o.svc, static_cast<const IpvsDest*>(o.prev)});
            break;
        case IpvsOp::RemoveDest: undo.push_back({IpvsOp::AddDest, o.svc, o.dest}); break;
        case IpvsOp::RemoveService:
            // o.svc is the current service with its destinations: put both back.
            undo.push_back({IpvsOp::AddService, o.svc});
            for (auto& d : o.svc->dests) undo.push_back({IpvsOp::AddDest, o.svc, &d});
            break;
        }
    }
    return undo;
}

const char* op_verb(IpvsOp::Kind k) {
    static const char* verbs[] = {"add", "edit", "remove"};
    return verbs[k % 3];
}
const char* op_word(IpvsOp::Kind k) {
    static const char* words[] = {"added", "edited", "removed"};
    return words[k % 3];
}

void check_unique(const std::vector<IpvsService>& set) {
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < set.size(); i++) {
        set[i].validate();
        auto [it, ok] = seen.emplace(set[i].key(), i);
        if (!ok)
            throw_input(fmt::format("service #{}", i + 1), "key", set[i].key(),
                        fmt::format("appears twice in the set (services #{} and #{})", it->second + 1, i + 1));
    }
}

}  // namespace

void ipvs_execute(IpvsHandle& h, const IpvsPlan& p, ChangeStats* stats) {
    if (stats) stats->writes = 0;
    if (p.ops.empty()) return;
    auto errs = send_ops(h, p.ops);
    if (stats) stats->writes = p.ops.size();
    if (errs.empty()) return;
    // Leave the kernel as it was: undo what went through, then report the first failure.
    auto undo = undo_ops(p.ops, errs);
    std::string rolled;
    if (!undo.empty()) {
        auto uerrs = send_ops(h, undo);
        rolled = uerrs.empty() ? fmt::format("; the {} request{} that had gone through {} undone", undo.size(),
                                             undo.size() == 1 ? "" : "s", undo.size() == 1 ? "was" : "were")
                               : fmt::format("; undoing what had gone through failed for {} of {} requests "
                                             "(first: {} {}: {})", uerrs.size(), undo.size(),
                                             op_word(undo[uerrs[0].index].kind), op_object(undo[uerrs[0].index]),
                                             std::strerror(uerrs[0].err));
    }
    auto& e = errs.front();
    const IpvsOp& o = p.ops[e.index];
    std::string obj = op_object(o);
    std::string more = errs.size() > 1 ? fmt::format(" ({} of {} requests failed)", errs.size(), p.ops.size()) : "";
    std::string why = e.extack.empty() ? "" : " (kernel: " + e.extack + ")";
    // The kernel takes an IPv4 destination only if a route lookup calls it unicast, and in a
    // namespace without any IPv4 address (loopback down, as `ip netns add` leaves it) the
    // lookup has no table: every destination is refused with a bare EINVAL.
    if (e.err == EINVAL && e.extack.empty() && o.dest && o.kind == IpvsOp::AddDest && o.dest->addr.family == AF_INET)
        why = " (the kernel refuses IPv4 destinations in a namespace that has no IPv4 address yet: is its "
              "loopback up? ovnet-sbox add brings it up)";
    throw Error(ErrorKind::Runtime,
                fmt::format("{}: {}{}: {}{}{}", obj, op_verb(o.kind), more, std::strerror(e.err), why, rolled),
                e.err, e.extack, obj);
}

// ---------------------------------------------------------------------------------------------
// handle

IpvsHandle::IpvsHandle(const std::string& netns) : h_(netns, NETLINK_GENERIC) {
    int id = 0;
    std::string ext;
    int err = h_.get(family_msg(), [&](const nlmsghdr* r) { id = parse_family_msg(r); }, &ext);
    if (err == ENOENT || (!err && !id)) throw Error(ErrorKind::Runtime, "the kernel has no IPVS (modprobe ip_vs)", ENOENT);
    if (err) throw_sys(err, "resolve the IPVS generic netlink family", ext);
    family_ = id;
}

namespace {
void info(IpvsHandle& h, uint32_t& version, uint32_t& size) {
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_INFO, 0);
    std::string ext;
    int err = h.nl().get(std::move(m), [&](const nlmsghdr* r) { parse_info_msg(r, version, size); }, &ext);
    if (err) throw_sys(err, "get IPVS info", ext);
}
}  // namespace

std::string IpvsHandle::version() {
    uint32_t v = 0, s = 0;
    info(*this, v, s);
    return fmt::format("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

uint32_t IpvsHandle::conn_tab_size() {
    uint32_t v = 0, s = 0;
    info(*this, v, s);
    return s;
}


// ---------------------------------------------------------------------------------------------
// operations

std::vector<IpvsService> ipvs_list(IpvsHandle& h) {
    std::vector<IpvsService> out;
    NlMsg m = genl_msg(h.family(), IPVS_CMD_GET_SERVICE, 0);
    h.nl().dump(
        m,
        [&](const nlmsghdr* r) {
            if (auto s = parse_service_msg(r)) out.push_back(std::move(*s));
        },
        [&] { out.clear(); });
    std::sort(out.begin(), out.end(), svc_less);
    for (auto& s : out) s.dests = list_dests(h, s);
    return out;
}

std::optional<IpvsService> ipvs_get(IpvsHandle& h, const IpvsService& key) { return get_service(h, key); }

Changes ipvs_add_service(IpvsHandle& h, const IpvsService& s) {
    s.validate();
    auto cur = get_service(h, s);
    auto p = plan_one(s, cur ? &*cur : nullptr);
    ipvs_execute(h, p);
    return plan_report(std::move(p), false);
}

Changes ipvs_edit_service(IpvsHandle& h, const IpvsService& s) {
    s.validate();
    auto cur = get_service(h, s);
    if (!cur) throw_input("service " + s.key(), "key", s.key(), "no such service");
    if (same_config(s, *cur)) return {Change{Action::Unchanged, "service " + s.key()}};
    h.nl().request(svc_msg(h.family(), IPVS_CMD_SET_SERVICE, s, true), "service " + s.key());
    return {Change{Action::Changed, "service " + s.key(), "edited"}};
}

Changes ipvs_del_service(IpvsHandle& h, const IpvsService& key) {
    auto cur = get_service(h, key);
    if (!cur) return {Change::with_detail(Action::Unchanged, "service " + key.key(), json{{"reason", "no such service"}})};
    h.nl().request(svc_msg(h.family(), IPVS_CMD_DEL_SERVICE, key, false), "service " + key.key());
    return {Change{Action::Removed, "service " + key.key()}};
}

namespace {
IpvsService require_service(IpvsHandle& h, const IpvsService& key, const IpvsDest& d, bool full = true) {
    IpvsService probe = key;
    probe.dests = {d};
    if (full) {
        probe.validate();
    } else {
        probe.dests.clear();
        probe.validate();
        if (!d.addr.valid() || d.addr.family != key.af)
            throw_input("dest " + d.label() + " of " + key.key(), "address", d.addr.str(), "address family differs from the service's");
    }
    auto cur = get_service(h, key);
    if (!cur) throw_input("service " + key.key(), "key", key.key(), "no such service (add it first)");
    return *cur;
}
const IpvsDest* find_dest(const IpvsService& s, const IpvsDest& d) {
    for (auto& x : s.dests)
        if (x.label() == d.label()) return &x;
    return nullptr;
}
}  // namespace

Changes ipvs_add_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d) {
    auto cur = require_service(h, key, d);
    std::string obj = "dest " + d.label() + " of " + key.key();
    auto* x = find_dest(cur, d);
    if (x && same_config(d, *x)) return {Change{Action::Unchanged, obj}};
    h.nl().request(dest_msg(h.family(), x ? IPVS_CMD_SET_DEST : IPVS_CMD_NEW_DEST, cur, d, true), obj);
    return {Change{x ? Action::Changed : Action::Added, obj, x ? "edited" : nullptr}};
}

Changes ipvs_edit_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d) {
    auto cur = require_service(h, key, d);
    std::string obj = "dest " + d.label() + " of " + key.key();
    auto* x = find_dest(cur, d);
    if (!x) throw_input(obj, "address", d.label(), "no such destination");
    if (same_config(d, *x)) return {Change{Action::Unchanged, obj}};
    h.nl().request(dest_msg(h.family(), IPVS_CMD_SET_DEST, cur, d, true), obj);
    return {Change{Action::Changed, obj, "edited"}};
}

Changes ipvs_del_dest(IpvsHandle& h, const IpvsService& key, const IpvsDest& d, unsigned drain_seconds) {
    auto cur = require_service(h, key, d, false);
    std::string obj = "dest " + d.label() + " of " + key.key();
    auto* x = find_dest(cur, d);
    if (!x) return {Change::with_detail(Action::Unchanged, obj, json{{"reason", "no such destination"}})};
    Changes ch;
    if (drain_seconds) {
        IpvsDest z = *x;
        z.weight = 0;
        if (x->weight != 0) h.nl().request(dest_msg(h.family(), IPVS_CMD_SET_DEST, cur, z, true), obj);
        ch.push_back(Change::with_detail(Action::Changed, obj, json{{"seconds", drain_seconds}, {"weight_was", x->weight}}, "drained"));
        std::this_thread::sleep_for(std::chrono::seconds(drain_seconds));
    }
    std::string ext;
    int err = h.nl().request_errno(dest_msg(h.family(), IPVS_CMD_DEL_DEST, cur, *x, false), &ext);
    if (err == ENOENT && drain_seconds) return ch;  // removed by someone else while draining
    if (err) throw_sys(err, "remove " + obj, ext, obj);
    ch.push_back(Change{Action::Removed, obj});
    return ch;
}


Changes ipvs_apply_set(IpvsHandle& h, const std::vector<IpvsService>& desired, bool prune, ChangeStats* stats,
                       const std::vector<IpvsService>* current) {
    check_unique(desired);
    // The plan points into the listing: it must outlive the plan's execution.
    std::vector<IpvsService> listed;
    if (!current) listed = ipvs_list(h);
    auto p = ipvs_plan(current ? *current : listed, desired, prune);
    ChangeStats st = p.stats;
    ipvs_execute(h, p, &st);
    if (stats) *stats = st;
    // Only report per-object "unchanged" lines when nothing else happens (a summary otherwise).
    return plan_report(std::move(p), true);
}

Changes ipvs_zero(IpvsHandle& h, const std::optional<IpvsService>& key) {
    NlMsg m = genl_msg(h.family(), IPVS_CMD_ZERO, 0);
    std::string obj = key ? "service " + key->key() : "ipvs";
    if (key) {
        if (!get_service(h, *key)) throw_input(obj, "key", key->key(), "no such service");
        put_service(m.get(), *key, false);
    }
    h.nl().request(std::move(m), obj);
    return {Change{Action::Changed, obj, "zeroed"}};
}

Changes ipvs_flush(IpvsHandle& h) {
    auto cur = ipvs_list(h);
    if (cur.empty()) return {Change::with_detail(Action::Unchanged, "ipvs", json{{"reason", "no services"}})};
    h.nl().request(genl_msg(h.family(), IPVS_CMD_FLUSH, 0), "ipvs");
    return {Change{Action::Removed, fmt::format("ipvs ({} services)", cur.size()), "flushed"}};
}

IpvsTimeouts ipvs_get_timeouts(IpvsHandle& h) {
    IpvsTimeouts t;
    std::string ext;
    int err = h.nl().get(genl_msg(h.family(), IPVS_CMD_GET_CONFIG, 0),
                         [&](const nlmsghdr* r) { parse_timeouts_msg(r, t); }, &ext);
    if (err) throw_sys(err, "get IPVS timeouts", ext);
    return t;
}


Changes ipvs_set_timeouts(IpvsHandle& h, const IpvsTimeouts& t) {
    auto cur = ipvs_get_timeouts(h);
    if ((!t.tcp || t.tcp == cur.tcp) && (!t.tcp_fin || t.tcp_fin == cur.tcp_fin) && (!t.udp || t.udp == cur.udp))
        return {Change{Action::Unchanged, "timeouts"}};
    h.nl().request(timeouts_msg(h.family(), t), "timeouts");
    IpvsTimeouts now{t.tcp ? t.tcp : cur.tcp, t.tcp_fin ? t.tcp_fin : cur.tcp_fin, t.udp ? t.udp : cur.udp};
    return {Change::with_detail(Action::Changed, "timeouts", now.to_json(), "set")};
}

}  // namespace ovnet
