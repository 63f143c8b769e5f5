// The IPVS planner: what converging the current services to a desired set takes, as a pure
// function of the two sets (no kernel), unit-tested without root. ipvs_execute() sends the plan.
//
// A plan is a list of small records pointing into the desired and current sets, plus the Change
// each write reports; messages are only encoded when their chunk is sent.
#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "ipvs_wire.hpp"
#include "ovnet/ipvs.hpp"

namespace ovnet {

using namespace ipvs_detail;

namespace {

struct Planner {
    IpvsPlan& p;
    // Consecutive writes mostly share a service: its key is made once per run.
    const IpvsService* keyed = nullptr;
    std::string key;

    const std::string& key_of(const IpvsService* s) {
        if (s != keyed) key = s->key(), keyed = s;
        return key;
    }
    void op(IpvsOp::Kind k, const IpvsService* s, const IpvsDest* d, const void* prev = nullptr) {
        p.ops.push_back({k, s, d, prev});
        static const Action acts[] = {Action::Added, Action::Changed, Action::Removed};
        Action a = acts[(k - (d ? IpvsOp::AddDest : IpvsOp::AddService))];
        const char* how = a == Action::Changed ? "edited" : nullptr;
        std::string obj;
        const std::string& sk = key_of(s);
        if (d) {
            std::string l = d->label();
            obj.reserve(9 + l.size() + sk.size());
            obj += "dest ", obj += l, obj += " of ", obj += sk;
        } else {
            obj.reserve(8 + sk.size());
            obj += "service ", obj += sk;
        }
        p.changes.emplace_back(a, std::move(obj), how);
        p.stats.count(a);
    }

    void service(const IpvsService& want, const IpvsService* cur, bool remove_dests) {
        if (!cur) {
            op(IpvsOp::AddService, &want, nullptr);
            // A new service has no destinations yet: no lookup needed.
            for (auto& d : want.dests) op(IpvsOp::AddDest, &want, &d);
            return;
        }
        if (!same_config(want, *cur)) {
            op(IpvsOp::EditService, &want, nullptr, cur);
        } else {
            p.stats.unchanged++;
            p.unchanged.push_back(want.key());
        }
        // Both sides sorted by address and port, then merged.
        std::vector<const IpvsDest*> w, c;
        w.reserve(want.dests.size());
        c.reserve(cur->dests.size());
        for (auto& d : want.dests) w.push_back(&d);
        for (auto& d : cur->dests) c.push_back(&d);
        auto less = [](const IpvsDest* a, const IpvsDest* b) { return dest_less(*a, *b); };
        std::sort(w.begin(), w.end(), less);
        std::sort(c.begin(), c.end(), less);
        size_t i = 0, j = 0;
        while (i < w.size() || j < c.size()) {
            if (j == c.size() || (i < w.size() && dest_less(*w[i], *c[j]))) {
                op(IpvsOp::AddDest, &want, w[i++]);
            } else if (i == w.size() || dest_less(*c[j], *w[i])) {
                if (remove_dests) op(IpvsOp::RemoveDest, &want, c[j]);
                j++;
            } else {
                if (!same_config(*w[i], *c[j])) op(IpvsOp::EditDest, &want, w[i], c[j]);
                else p.stats.unchanged++;
                i++, j++;
            }
        }
    }
};

}  // namespace

IpvsPlan ipvs_plan(const std::vector<IpvsService>& current, const std::vector<IpvsService>& desired, bool prune) {
    IpvsPlan p;
    Planner pl{p, nullptr, {}};
    p.ops.reserve(desired.size() * 11);
    p.changes.reserve(desired.size() * 11);
    std::unordered_map<std::string, const IpvsService*> cur;
    cur.reserve(current.size());
    for (auto& s : current) cur.emplace(s.key(), &s);
    if (prune && !current.empty()) {
        std::unordered_set<std::string> want;
        for (auto& s : desired) want.insert(s.key());
        for (auto& s : current)
            if (!want.count(s.key())) pl.op(IpvsOp::RemoveService, &s, nullptr);
    }
    for (auto& s : desired) {
        auto it = cur.empty() ? cur.end() : cur.find(s.key());
        pl.service(s, it == cur.end() ? nullptr : it->second, true);
    }
    return p;
}

namespace ipvs_detail {

IpvsPlan plan_one(const IpvsService& want, const IpvsService* cur) {
    IpvsPlan p;
    Planner{p, nullptr, {}}.service(want, cur, false);
    return p;
}

Changes plan_report(IpvsPlan&& p, bool summarize_unchanged) {
    if (!p.changes.empty()) return std::move(p.changes);
    Changes out;
    if (summarize_unchanged && p.unchanged.size() > 1)
        return {Change{Action::Unchanged, fmt::format("{} services", p.unchanged.size())}};
    for (auto& k : p.unchanged) out.push_back(Change{Action::Unchanged, "service " + k});
    if (out.empty()) out.push_back(Change{Action::Unchanged, "ipvs"});
    return out;
}

}  // namespace ipvs_detail

}  // namespace ovnet
