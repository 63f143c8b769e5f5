// IPVS connections from /proc/net/ip_vs_conn: the kernel offers no netlink dump of them, and the
// file follows the network namespace of the thread that opens it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "ovnet/error.hpp"
#include "ovnet/fd.hpp"
#include "ovnet/ipvs.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

namespace {

/// Exactly `digits` hex digits (the kernel's %08X / %04X) into v.
bool hex_field(std::string_view s, size_t digits, uint32_t& v) {
    if (s.size() != digits) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    return ec == std::errc() && p == s.data() + s.size();
}

bool ip_field(std::string_view s, IpAddr& a) {
    uint32_t v = 0;
    if (!hex_field(s, 8, v)) return false;
    uint32_t be = htonl(v);
    a = IpAddr::from_bytes(AF_INET, &be);
    return true;
}

bool port_field(std::string_view s, uint16_t& p) {
    uint32_t v = 0;
    if (!hex_field(s, 4, v)) return false;
    p = uint16_t(v);
    return true;
}

}  // namespace

std::vector<IpvsConn> ipvs_conn_parse(std::string_view text) {
    std::vector<IpvsConn> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        std::string_view w[9];
        size_t n = 0;
        for (size_t i = 0; i < line.size() && n < 9;) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
            size_t j = i;
            while (j < line.size() && line[j] != ' ' && line[j] != '\t') j++;
            if (j > i) w[n++] = line.substr(i, j - i);
            i = j;
        }
        if (n < 9) continue;   // the header has 11 words, but its addresses are not hex
        IpvsConn c;
        c.proto = std::string(w[0]);
        c.state = std::string(w[7]);
        auto [p, ec] = std::from_chars(w[8].data(), w[8].data() + w[8].size(), c.expires);
        if (!ip_field(w[1], c.client) || !port_field(w[2], c.cport) || !ip_field(w[3], c.vaddr) || !port_field(w[4], c.vport) ||
            !ip_field(w[5], c.daddr) || !port_field(w[6], c.dport) || ec != std::errc() || p != w[8].data() + w[8].size())
            continue;
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<IpvsConn> ipvs_conn_read(const std::string& netns) {
    std::string text;
    {
        // /proc/net follows the reading thread's namespace when the file is opened
        NetnsGuard g(netns);
        int fd = ::open("/proc/thread-self/net/ip_vs_conn", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) return {};   // no IPVS in this kernel (or not loaded)
            throw_sys(errno, "open /proc/net/ip_vs_conn in " + (netns.empty() ? std::string("the current namespace") : netns));
        }
        Fd guard(fd);
        text = read_fd_all(fd, "/proc/net/ip_vs_conn");
    }
    return ipvs_conn_parse(text);
}

}  // namespace ovnet
