// split_nodes: one machine's snapshot as the snapshots of the nodes its namespaces stand for.
#include <map>
#include <set>
#include <vector>

#include "ovnet/error.hpp"
#include "ovnet/inspect.hpp"

namespace ovnet {

std::vector<Snapshot> split_nodes(const Snapshot& machine, const std::string& prefix) {
    const auto& all = machine.netns;
    std::vector<std::string> hosts;
    for (auto& [label, ns] : all)
        if (label.compare(0, prefix.size(), prefix) == 0) hosts.push_back(label);
    if (hosts.empty()) throw_input("host-prefix \"" + prefix + "\": no namespace's name starts with it");

    // joins[Y]: the namespaces that join whichever node Y is in. A peer label "" is the
    // namespace itself; labels the snapshot does not hold (unnamed namespaces) lead nowhere.
    std::map<std::string, std::set<std::string>> joins;
    auto edge = [&](const std::string& from, const std::string& to) {
        if (from != to && all.count(from) && all.count(to)) joins[from].insert(to);
    };
    for (auto& [label, ns] : all) {
        for (auto& br : ns.bridges)
            for (auto& port : br.ports)
                if (port.kind == "veth" && port.peer && !port.peer->netns.empty()) edge(label, port.peer->netns);
        // The same link seen from the other end (a bridge port read as a veth whose peer has a master).
        for (auto& l : ns.links)
            if (l.kind == "veth" && l.peer && !l.peer->master.empty() && !l.peer->netns.empty())
                edge(l.peer->netns, label);
        for (auto& v : ns.vteps)
            if (!v.link_netns.empty()) edge(v.link_netns, label);
    }

    std::set<std::string> host_set(hosts.begin(), hosts.end());
    std::map<std::string, std::vector<std::string>> members;   // host -> its namespaces, BFS order
    std::map<std::string, int> claims;
    for (auto& h : hosts) {
        auto& m = members[h];
        std::set<std::string> seen{h};
        m.push_back(h);
        for (size_t i = 0; i < m.size(); ++i) {
            auto it = joins.find(m[i]);
            if (it == joins.end()) continue;
            for (auto& to : it->second)
                if (!host_set.count(to) && seen.insert(to).second) m.push_back(to);
        }
        for (size_t i = 1; i < m.size(); ++i) ++claims[m[i]];
    }

    std::vector<Snapshot> out;
    out.reserve(hosts.size());
    for (auto& h : hosts) {
        Snapshot s;
        s.host = h;
        s.time = machine.time;
        for (auto& label : members[h])
            if (label == h || claims[label] == 1) s.netns.emplace(label, all.at(label));
        s.networks = networks_view(s.netns);
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace ovnet
