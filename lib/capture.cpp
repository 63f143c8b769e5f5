// Frame decoding for ovnet-capture (include/ovnet/capture.hpp). Pure.
#include "ovnet/capture.hpp"

#include <arpa/inet.h>
#include <cstdio>

#include "ovnet/types.hpp"

namespace ovnet {

namespace {

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

std::string mac_at(const uint8_t* p) {
    Mac m;
    for (int i = 0; i < 6; i++) m.b[size_t(i)] = p[i];
    return m.str();
}

std::string hex16(uint16_t v) {
    char b[8];
    std::snprintf(b, sizeof b, "0x%04x", v);
    return b;
}

// Ethernet at data[0..n): fills o["eth"], then the layers above. depth 0 = outer.
void decode_eth(const uint8_t* d, size_t n, json& o, const DecodeOptions& opt, int depth);

void decode_ip(const uint8_t* d, size_t n, json& o, const DecodeOptions& opt, int depth) {
    if (n < 20 || (d[0] >> 4) != 4) {
        o["truncated"] = true;
        return;
    }
    size_t ihl = size_t(d[0] & 0x0f) * 4;
    if (ihl < 20 || n < ihl) {
        o["truncated"] = true;
        return;
    }
    uint8_t proto = d[9];
    const char* pname = proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp" : proto == 50 ? "esp" : nullptr;
    o["ip"] = {{"src", IpAddr::from_bytes(AF_INET, d + 12).str()},
               {"dst", IpAddr::from_bytes(AF_INET, d + 16).str()},
               {"proto", pname ? json(pname) : json(proto)},
               {"len", be16(d + 2)},
               {"ttl", d[8]},
               {"df", (be16(d + 6) & 0x4000) != 0}};
    // later fragments carry no transport header
    if (be16(d + 6) & 0x1fff) {
        o["ip"]["fragment_offset"] = (be16(d + 6) & 0x1fff) * 8;
        return;
    }
    const uint8_t* t = d + ihl;
    size_t tn = n - ihl;
    if (proto == 6) {
        if (tn < 20) { o["truncated"] = true; return; }
        std::string flags;
        const char* names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};
        for (int i = 0; i < 6; i++)
            if (t[13] & (1 << i)) flags += (flags.empty() ? "" : ",") + std::string(names[i]);
        o["tcp"] = {{"sport", be16(t)}, {"dport", be16(t + 2)}, {"seq", be32(t + 4)}, {"flags", flags}};
    } else if (proto == 17) {
        if (tn < 8) { o["truncated"] = true; return; }
        uint16_t dport = be16(t + 2);
        o["udp"] = {{"sport", be16(t)}, {"dport", dport}, {"len", be16(t + 4)}};
        if (depth == 0 && dport == opt.vxlan_port) {
            if (tn < 16) { o["truncated"] = true; return; }
            const uint8_t* v = t + 8;
            o["vxlan"] = {{"flags", v[0]}, {"vni", uint32_t(v[4]) << 16 | uint32_t(v[5]) << 8 | v[6]}};
            json in = json::object();
            decode_eth(v + 8, tn - 16, in, opt, depth + 1);
            o["inner"] = std::move(in);
        }
    } else if (proto == 1) {
        if (tn < 8) { o["truncated"] = true; return; }
        o["icmp"] = {{"type", t[0]}, {"code", t[1]}};
        if (t[0] == 0 || t[0] == 8) o["icmp"]["id"] = be16(t + 4), o["icmp"]["seq"] = be16(t + 6);
    } else if (proto == 50) {
        if (tn < 8) { o["truncated"] = true; return; }
        char spi[16];
        std::snprintf(spi, sizeof spi, "0x%08x", be32(t));
        o["esp"] = {{"spi", spi}, {"seq", be32(t + 4)}};
    }
}

void decode_eth(const uint8_t* d, size_t n, json& o, const DecodeOptions& opt, int depth) {
    if (n < 14) {
        o["truncated"] = true;
        return;
    }
    uint16_t type = be16(d + 12);
    size_t off = 14;
    json eth = {{"src", mac_at(d + 6)}, {"dst", mac_at(d)}, {"type", hex16(type)}};
    if (type == 0x8100 && n >= 18) {   // one VLAN tag
        eth["vlan"] = be16(d + 14) & 0x0fff;
        type = be16(d + 16);
        eth["type"] = hex16(type);
        off = 18;
    }
    o["eth"] = std::move(eth);
    if (type == 0x0800) decode_ip(d + off, n - off, o, opt, depth);
    else if (type == 0x0806 && n >= off + 28) {
        const uint8_t* a = d + off;
        o["arp"] = {{"op", be16(a + 6) == 1 ? "request" : be16(a + 6) == 2 ? "reply" : std::to_string(be16(a + 6))},
                    {"sender", IpAddr::from_bytes(AF_INET, a + 14).str()},
                    {"target", IpAddr::from_bytes(AF_INET, a + 24).str()}};
    }
}

}  // namespace

json decode_frame(const uint8_t* data, size_t caplen, size_t len, const DecodeOptions& opt) {
    json o = json::object();
    o["len"] = len;
    decode_eth(data, caplen, o, opt, 0);
    return o;
}

}  // namespace ovnet
