#include "ovnet/types.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "ovnet/error.hpp"

namespace ovnet {

namespace {
int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

bool Mac::try_parse(std::string_view s, Mac& out) {
    if (s.size() != 17) return false;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
        if (hi < 0 || lo < 0) return false;
        if (i < 5 && s[i * 3 + 2] != ':') return false;
        out.b[i] = uint8_t(hi << 4 | lo);
    }
    return true;
}

Mac Mac::parse(std::string_view s) {
    Mac m;
    if (!try_parse(s, m)) throw_input({}, "mac", std::string(s), "not a MAC address (aa:bb:cc:dd:ee:ff)");
    return m;
}

std::string Mac::str() const {
    std::string s;
    append_to(s);
    return s;
}

void Mac::append_to(std::string& out) const {
    static const char hex[] = "0123456789abcdef";
    char buf[17];
    for (size_t i = 0; i < 6; i++) {
        buf[i * 3] = hex[b[i] >> 4];
        buf[i * 3 + 1] = hex[b[i] & 15];
        if (i < 5) buf[i * 3 + 2] = ':';
    }
    out.append(buf, sizeof buf);
}

bool Mac::is_zero() const {
    for (auto x : b)
        if (x) return false;
    return true;
}

namespace {
// Plain dotted-quad IPv4 (what inet_pton accepts: four decimal octets, no leading zeros), parsed
// without a copy; anything else is left to inet_pton.
bool quad(std::string_view s, IpAddr& out) {
    uint8_t b[4];
    size_t i = 0, n = s.size();
    for (int k = 0; k < 4; k++) {
        if (k && (i >= n || s[i++] != '.')) return false;
        size_t d = i;
        unsigned v = 0;
        while (i < n && i - d < 3 && s[i] >= '0' && s[i] <= '9') v = v * 10 + unsigned(s[i++] - '0');
        if (i == d || v > 255 || (i - d > 1 && s[d] == '0')) return false;
        b[k] = uint8_t(v);
    }
    if (i != n) return false;
    out = IpAddr{};
    out.family = AF_INET;
    std::memcpy(out.b.data(), b, 4);
    return true;
}
}  // namespace

bool IpAddr::try_parse(std::string_view s, IpAddr& out) {
    if (quad(s, out)) return true;
    if (s.empty() || s.size() > 45) return false;
    char buf[64];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = 0;
    IpAddr a;
    if (s.find(':') != std::string_view::npos) {
        if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return false;
        a.family = AF_INET6;
    } else {
        if (inet_pton(AF_INET, buf, a.b.data()) != 1) return false;
        a.family = AF_INET;
    }
    out = a;
    return true;
}

IpAddr IpAddr::parse(std::string_view s) {
    IpAddr a;
    if (!try_parse(s, a)) throw_input({}, "ip", std::string(s), "not an IPv4 or IPv6 address");
    return a;
}

IpAddr IpAddr::from_bytes(int family, const void* data) {
    IpAddr a;
    a.family = family;
    std::memcpy(a.b.data(), data, family == AF_INET6 ? 16 : 4);
    return a;
}

std::string IpAddr::str() const {
    std::string s;
    append_to(s);
    return s;
}

void IpAddr::append_to(std::string& out) const {
    if (family == AF_INET) {  // inet_ntop formats IPv4 through sprintf: too slow for bulk output
        char buf[16], *p = buf;
        for (size_t i = 0; i < 4; i++) {
            p = std::to_chars(p, buf + sizeof buf, unsigned(b[i])).ptr;
            if (i < 3) *p++ = '.';
        }
        out.append(buf, size_t(p - buf));
    } else if (family) {
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(family, b.data(), buf, sizeof buf);
        out += buf;
    }
}

Prefix Prefix::parse(std::string_view s) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos)
        throw_input({}, "cidr", std::string(s), "not an address with a prefix length (10.0.0.2/24)");
    Prefix p;
    if (!IpAddr::try_parse(s.substr(0, slash), p.addr))
        throw_input({}, "cidr", std::string(s), "not an address with a prefix length (10.0.0.2/24)");
    auto len = s.substr(slash + 1);
    int v = -1;
    auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    int max = p.addr.family == AF_INET ? 32 : 128;
    if (len.empty() || len[0] < '0' || len[0] > '9' || ec != std::errc() || ptr != len.data() + len.size() || v < 0 || v > max)
        throw_input({}, "cidr", std::string(s), fmt::format("prefix length must be 0..{}", max));
    p.len = v;
    return p;
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(len); }

Prefix Prefix::network() const {
    Prefix p = *this;
    size_t n = addr.size();
    for (size_t i = 0; i < n; i++) {
        int bits = std::max(0, std::min(8, len - int(i) * 8));
        p.addr.b[i] &= uint8_t(0xff00 >> bits);
    }
    return p;
}

void validate_ifname(std::string_view name, const std::string& object, const std::string& field) {
    if (name.empty()) throw_input(object, field, std::string(name), "interface name is empty");
    if (name.size() > 15)
        throw_input(object, field, std::string(name),
                    fmt::format("interface name is {} bytes, the limit is 15", name.size()));
    if (name == "." || name == "..")
        throw_input(object, field, std::string(name), "not a valid interface name");
    for (char c : name)
        if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
            throw_input(object, field, std::string(name), "interface names cannot hold '/', ':' or spaces");
}

int netmask_to_prefix(uint32_t mask) {
    int plen = __builtin_popcount(mask);
    return mask == prefix_to_netmask(plen) ? plen : -1;
}

uint32_t prefix_to_netmask(int plen) { return plen <= 0 ? 0 : plen >= 32 ? ~uint32_t(0) : ~uint32_t(0) << (32 - plen); }

bool is_unicast_host(const IpAddr& a) {
    uint64_t w[2];
    std::memcpy(w, a.b.data(), sizeof w);
    if ((w[0] | w[1]) == 0) return false;
    return a.family == AF_INET ? (a.b[0] & 0xf0) != 0xe0 && a.b[0] != 255 : a.b[0] != 0xff;
}

Mac docker_mac(const IpAddr& ip) {
    Mac m;
    m.b = {0x02, 0x42, ip.b[0], ip.b[1], ip.b[2], ip.b[3]};
    return m;
}

}  // namespace ovnet
