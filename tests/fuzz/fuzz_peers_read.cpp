// peers_read (the SAX reader of `ovnet-fdb apply`, 100,000 peers) against peers_from_json (the
// DOM path): the same input gives the same set or an error from both.
#include <sstream>

#include "fuzz.hpp"
#include "ovnet/fdb.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string s(ovnet_fuzz::text(data, size));
    std::optional<ovnet::IpAddr> vtep;
    if (size && (data[0] & 1)) vtep = ovnet::IpAddr::parse("192.0.2.12");
    std::vector<ovnet::PeerSpec> a;
    bool a_ok = false;
    ovnet_fuzz::guarded([&] {
        std::istringstream in(s);
        a = ovnet::peers_read(in, vtep);
        a_ok = true;
    });
    std::vector<ovnet::PeerSpec> b;
    bool b_ok = false;
    ovnet_fuzz::guarded([&] {
        std::istringstream in(s);
        b = ovnet::peers_from_json(ovnet::read_json_stream(in, "stdin"), vtep);
        b_ok = true;
    });
    if (a_ok != b_ok) ovnet_fuzz::fail("peers_read and peers_from_json disagree on acceptance", s.substr(0, 200));
    if (a_ok) {
        if (a.size() != b.size()) ovnet_fuzz::fail("peer sets differ in size", s.substr(0, 200));
        for (size_t i = 0; i < a.size(); i++)
            if (a[i].label() != b[i].label() || a[i].vtep != b[i].vtep) ovnet_fuzz::fail("peer sets differ", a[i].label());
    }
    return 0;
}
