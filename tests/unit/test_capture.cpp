// decode_frame (ovnet-capture): a VXLAN packet of the overlay (outer IPv4/UDP 4789, VNI 4097,
// the inner frame's MACs, inner IPv4 and ICMP echo), ESP, a truncated frame.
#include "helpers.hpp"

#include <vector>

#include "ovnet/capture.hpp"

using namespace ovnet;

namespace {
void put16(std::vector<uint8_t>& v, uint16_t x) { v.push_back(uint8_t(x >> 8)), v.push_back(uint8_t(x)); }
void eth(std::vector<uint8_t>& v, const std::vector<uint8_t>& dst, const std::vector<uint8_t>& src, uint16_t type) {
    v.insert(v.end(), dst.begin(), dst.end());
    v.insert(v.end(), src.begin(), src.end());
    put16(v, type);
}
void ip(std::vector<uint8_t>& v, uint8_t proto, std::vector<uint8_t> s, std::vector<uint8_t> d, uint16_t len, bool df) {
    v.insert(v.end(), {0x45, 0, uint8_t(len >> 8), uint8_t(len), 0, 1, uint8_t(df ? 0x40 : 0), 0, 64, proto, 0, 0});
    v.insert(v.end(), s.begin(), s.end());
    v.insert(v.end(), d.begin(), d.end());
}
}  // namespace

TEST_CASE("capture: a VXLAN packet decoded down to the inner ping", "[capture]") {
    std::vector<uint8_t> f;
    eth(f, {2, 0x42, 0xc0, 0, 2, 12}, {2, 0x42, 0xc0, 0, 2, 11}, 0x0800);
    ip(f, 17, {192, 0, 2, 11}, {192, 0, 2, 12}, 20 + 8 + 8 + 14 + 28, false);
    put16(f, 51234), put16(f, 4789), put16(f, 8 + 8 + 14 + 28), put16(f, 0);
    f.insert(f.end(), {0x08, 0, 0, 0, 0x00, 0x10, 0x01, 0});   // VNI 4097
    eth(f, {2, 0x42, 10, 0, 0, 3}, {2, 0x42, 10, 0, 0, 2}, 0x0800);
    ip(f, 1, {10, 0, 0, 2}, {10, 0, 0, 3}, 28, true);
    f.insert(f.end(), {8, 0, 0, 0, 0, 7, 0, 1});
    json j = decode_frame(f.data(), f.size(), f.size());
    CHECK(j["len"] == f.size());
    CHECK(j["ip"]["src"] == "192.0.2.11");
    CHECK(j["ip"]["dst"] == "192.0.2.12");
    CHECK(j["udp"]["dport"] == 4789);
    CHECK(j["vxlan"]["vni"] == 4097);
    CHECK(j["inner"]["eth"]["src"] == "02:42:0a:00:00:02");
    CHECK(j["inner"]["eth"]["dst"] == "02:42:0a:00:00:03");
    CHECK(j["inner"]["ip"]["src"] == "10.0.0.2");
    CHECK(j["inner"]["ip"]["df"] == true);
    CHECK(j["inner"]["icmp"]["type"] == 8);
    CHECK(j["inner"]["icmp"]["seq"] == 1);
    CHECK_FALSE(j.contains("truncated"));

    // cut inside the inner IP header
    json t = decode_frame(f.data(), f.size() - 20, f.size());
    CHECK(t["vxlan"]["vni"] == 4097);
    CHECK(t["inner"]["truncated"] == true);
}

TEST_CASE("capture: ESP's SPI and sequence", "[capture]") {
    std::vector<uint8_t> f;
    eth(f, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1}, 0x0800);
    ip(f, 50, {192, 0, 2, 11}, {192, 0, 2, 12}, 20 + 8, true);
    f.insert(f.end(), {0, 0, 0x01, 0x01, 0, 0, 0, 5});
    json j = decode_frame(f.data(), f.size(), f.size());
    CHECK(j["ip"]["proto"] == "esp");
    CHECK(j["esp"]["spi"] == "0x00000101");
    CHECK(j["esp"]["seq"] == 5);
}
