// The value parsers behind every command-line option and JSON field: MAC, IP address, prefix,
// interface and namespace names, sysctl keys, firewall marks. Accepted values round-trip.
#include "fuzz.hpp"
#include "ovnet/lb.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    uint8_t which = data[0] % 7;
    std::string s(ovnet_fuzz::text(data + 1, size - 1));
    ovnet_fuzz::guarded([&] {
        switch (which) {
        case 0: {
            auto m = ovnet::Mac::parse(s);
            if (ovnet::Mac::parse(m.str()) != m) ovnet_fuzz::fail("mac round-trip", s);
            break;
        }
        case 1: {
            auto a = ovnet::IpAddr::parse(s);
            if (ovnet::IpAddr::parse(a.str()) != a) ovnet_fuzz::fail("ip round-trip", s);
            break;
        }
        case 2: {
            auto p = ovnet::Prefix::parse(s);
            if (ovnet::Prefix::parse(p.str()) != p) ovnet_fuzz::fail("prefix round-trip", s);
            break;
        }
        case 3: ovnet::validate_ifname(s, "link " + s); break;
        case 4: ovnet::validate_netns_name(s); break;
        case 5: ovnet::validate_sysctl_key(s); break;
        default: {
            uint32_t m = ovnet::lb_parse_fwmark("service", s);
            if (m == 0) ovnet_fuzz::fail("fwmark 0 accepted", s);
        }
        }
    });
    return 0;
}
