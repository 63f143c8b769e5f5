// ovnet-trace --probe from outside (--from client, --from NS --iif IFACE): a throwaway namespace
// whose veth sits on the bridge the start interface's peer is on, holding the packet's source
// address, with a route to the start interface's address and a default route through it. The
// namespace (and with it both ends of the veth) is removed when the Injector goes, also on throw.
#pragma once
#include <unistd.h>

#include <string>

#include "ovnet/addr.hpp"
#include "ovnet/error.hpp"
#include "ovnet/json.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"

namespace ovnet::tool {

class Injector {
public:
    /// `node` and `iif`: where the packet arrives (a trace's start); `links`: that namespace's
    /// links as the trace read them (inspect's form, with each veth's peer); `src`: the packet's
    /// source. Error(Input) when the interface is not a veth whose peer is a bridge port.
    Injector(const std::string& node, const std::string& iif, const json& links, const json& addresses, const IpAddr& src) {
        const json* l = nullptr;
        for (auto& x : links)
            if (x.value("name", "") == iif) l = &x;
        const json* peer = l && l->contains("peer") && (*l)["peer"].is_object() ? &(*l)["peer"] : nullptr;
        if (!peer || !(*peer)["master"].is_string())
            throw Error(ErrorKind::Input, "--probe: " + node + " " + iif +
                                              ": not a veth whose peer is on a bridge (nowhere to inject the packet from)");
        std::string bridge = (*peer)["master"].get<std::string>();
        std::string bns = (*peer)["netns"].is_string() ? (*peer)["netns"].get<std::string>() : std::string();
        if (bns.empty()) bns = node;
        IpAddr gw;
        for (auto& a : addresses)
            if (a.value("ifname", "") == iif) {
                Prefix p;
                std::string s = a.value("address", "");
                if (s.find('.') != std::string::npos) {
                    p = Prefix::parse(s);
                    gw = p.addr;
                    break;
                }
            }
        if (!gw.valid()) throw Error(ErrorKind::Input, "--probe: " + node + " " + iif + ": no IPv4 address to send to");
        name_ = "ovnet-probe-" + std::to_string(::getpid());
        netns_del(name_);   // a stale one left by a killed run with the same pid
        if (!netns_add(name_)) throw Error(ErrorKind::Runtime, "--probe: namespace " + name_ + " exists");
        made_ = true;
        NetnsFile mine = netns_open(name_);
        NetnsFile there = netns_open(bns == "root" ? std::string("/proc/1/ns/net") : bns);
        std::string port = "ovp" + std::to_string(::getpid());
        if (port.size() > 15) port.resize(15);
        {
            Handle h(there);
            auto br = link_get(h, bridge);
            if (!br) throw Error(ErrorKind::Runtime, "--probe: bridge " + bridge + " in " + bns + ": gone");
            LinkSpec s;
            s.name = port, s.kind = "veth", s.peer_name = "probe0", s.peer_netns_fd = mine.fd();
            link_add(h, s);
            port_ = port, port_ns_ = bns;
            auto p = link_get(h, port);
            if (!p) throw Error(ErrorKind::Runtime, "--probe: " + port + " in " + bns + ": gone");
            LinkChange c;
            c.master = br->ifindex, c.up = true;
            link_set(h, p->ifindex, c, "link " + port);
        }
        Handle h(mine);
        auto lo = link_get(h, "lo");
        auto dev = link_get(h, "probe0");
        if (!lo || !dev) throw Error(ErrorKind::Runtime, "--probe: probe0 in " + name_ + ": gone");
        LinkChange up;
        up.up = true;
        link_set(h, lo->ifindex, up, "link lo");
        link_set(h, dev->ifindex, up, "link probe0");
        addr_add(h, dev->ifindex, Prefix{src, 32}, "link probe0");
        Route onlink;
        onlink.dst = Prefix{gw, 32}, onlink.oif = dev->ifindex;
        route_replace(h, onlink, "route " + gw.str());
        Route def;
        def.dst = Prefix::parse("0.0.0.0/0"), def.gateway = gw, def.oif = dev->ifindex;
        route_replace(h, def, "route default");
        // wait for the carrier (both ends up), as the kernel reports it
        for (int i = 0; i < 400; i++) {
            auto d = link_get(h, "probe0");
            if (d && d->operstate == "up") break;
            ::usleep(5000);
        }
    }
    ~Injector() {
        // the bridge's end first (both ends go with it), so that nothing waits for the kernel's
        // namespace cleanup; then the namespace
        if (!port_.empty()) try {
                Handle h(port_ns_ == "root" ? std::string("/proc/1/ns/net") : port_ns_);
                if (auto p = link_get(h, port_)) link_del(h, p->ifindex, "link " + port_);
            } catch (...) {
            }
        if (made_) try {
                netns_del(name_);
            } catch (...) {
            }
    }
    Injector(const Injector&) = delete;
    Injector& operator=(const Injector&) = delete;
    /// The namespace to send from (a label netns_open() takes).
    const std::string& netns() const { return name_; }
    std::string where() const { return port_ns_ + " " + port_; }

private:
    std::string name_, port_, port_ns_;
    bool made_ = false;
};

}  // namespace ovnet::tool
