// libpcap plumbing shared by ovnet-capture and ovnet-trace --probe: a capture handle opened inside
// a namespace (the packet socket captures in the namespace it is created in), RAII.
#pragma once
#include <pcap/pcap.h>

#include <memory>
#include <optional>
#include <string>

#include "ovnet/error.hpp"
#include "ovnet/netns.hpp"

namespace ovnet::tool {

struct PcapCloser { void operator()(pcap_t* p) const noexcept { pcap_close(p); } };
using Pcap = std::unique_ptr<pcap_t, PcapCloser>;

/// An activated capture on `iface` in namespace `netns` ("" = the caller's), with `filter`
/// (tcpdump syntax, "" = everything). Error(Input) for no such interface or a bad filter.
inline Pcap pcap_open_in(const std::string& netns, const std::string& iface, const std::string& filter) {
    char err[PCAP_ERRBUF_SIZE] = {};
    Pcap pc;
    {
        std::optional<NetnsGuard> guard;
        NetnsFile nsf;
        if (!netns.empty()) {
            nsf = netns_open(netns);
            guard.emplace(nsf);
        }
        pc.reset(pcap_create(iface.c_str(), err));
        if (!pc) throw Error(ErrorKind::Runtime, "capture: " + iface + ": " + err);
        pcap_set_snaplen(pc.get(), 262144);
        pcap_set_promisc(pc.get(), 0);
        pcap_set_immediate_mode(pc.get(), 1);
        pcap_set_timeout(pc.get(), 100);
        int rc = pcap_activate(pc.get());
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            throw Error(ErrorKind::Input, "capture: --interface \"" + iface + "\": no such interface in " +
                                              (netns.empty() ? std::string("this namespace") : netns));
        if (rc < 0) throw Error(ErrorKind::Runtime, "capture: " + iface + ": " + pcap_geterr(pc.get()));
    }
    if (!filter.empty()) {
        bpf_program prog{};
        if (pcap_compile(pc.get(), &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) < 0)
            throw Error(ErrorKind::Input, "capture: filter \"" + filter + "\": " + pcap_geterr(pc.get()));
        int rc = pcap_setfilter(pc.get(), &prog);
        pcap_freecode(&prog);
        if (rc < 0) throw Error(ErrorKind::Runtime, "capture: filter: " + std::string(pcap_geterr(pc.get())));
    }
    return pc;
}

}  // namespace ovnet::tool
