// raw_ipvs: the baseline for bench/ipvs. Programs N TCP services x D masq destinations into IPVS with
// plain netlink sockets, many generic-netlink messages per sendmsg() and an ack only on the last
// one of each chunk (what a hand-written loop at its best does). No libnl, no JSON.
//   raw_ipvs N D      services 10.1.x.y:80 (i = 0..N-1), destinations 10.2.x.y:8080
#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
int fd;
uint32_t seq = 1;
std::vector<char> buf;

struct Msg {
    size_t start;
};
Msg begin(uint16_t type, uint8_t cmd, uint16_t flags) {
    Msg m{buf.size()};
    buf.resize(buf.size() + NLMSG_HDRLEN + GENL_HDRLEN);
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data() + m.start);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | flags;
    h->nlmsg_seq = seq++;
    h->nlmsg_pid = 0;
    auto* g = reinterpret_cast<genlmsghdr*>(buf.data() + m.start + NLMSG_HDRLEN);
    g->cmd = cmd;
    g->version = 1;
    g->reserved = 0;
    return m;
}
void end(Msg m) {
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data() + m.start);
    h->nlmsg_len = uint32_t(buf.size() - m.start);
    buf.resize(m.start + NLMSG_ALIGN(h->nlmsg_len), 0);
}
void put(uint16_t type, const void* data, size_t len) {
    size_t off = buf.size();
    buf.resize(off + NLA_ALIGN(NLA_HDRLEN + len), 0);
    auto* a = reinterpret_cast<nlattr*>(buf.data() + off);
    a->nla_type = type;
    a->nla_len = uint16_t(NLA_HDRLEN + len);
    std::memcpy(buf.data() + off + NLA_HDRLEN, data, len);
}
template <class T> void put_v(uint16_t type, T v) { put(type, &v, sizeof v); }
size_t nest_begin(uint16_t type) {
    size_t off = buf.size();
    put(type | NLA_F_NESTED, nullptr, 0);
    return off;
}
void nest_end(size_t off) { reinterpret_cast<nlattr*>(buf.data() + off)->nla_len = uint16_t(buf.size() - off); }

void put_svc(uint32_t ip, bool full) {
    size_t n = nest_begin(IPVS_CMD_ATTR_SERVICE);
    put_v<uint16_t>(IPVS_SVC_ATTR_AF, AF_INET);
    put_v<uint16_t>(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
    uint8_t a[16] = {};
    uint32_t be = htonl(ip);
    std::memcpy(a, &be, 4);
    put(IPVS_SVC_ATTR_ADDR, a, 16);
    put_v<uint16_t>(IPVS_SVC_ATTR_PORT, htons(80));
    if (full) {
        put(IPVS_SVC_ATTR_SCHED_NAME, "rr", 3);
        ip_vs_flags f{0, ~0u};
        put(IPVS_SVC_ATTR_FLAGS, &f, sizeof f);
        put_v<uint32_t>(IPVS_SVC_ATTR_TIMEOUT, 0);
        put_v<uint32_t>(IPVS_SVC_ATTR_NETMASK, 0xffffffff);
    }
    nest_end(n);
}

std::vector<char> rbuf(1 << 20);
// Waits for the ack of `last`; counts errors.
int wait(uint32_t last) {
    int errors = 0;
    for (;;) {
        ssize_t n = recv(fd, rbuf.data(), rbuf.size(), 0);
        if (n < 0) { perror("recv"); exit(1); }
        int len = int(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(rbuf.data()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_type == NLMSG_ERROR) {
                auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(r));
                if (e->error) errors++;
                if (r->nlmsg_seq == last) return errors;
            } else if (r->nlmsg_seq == last && r->nlmsg_type != NLMSG_DONE) {
                return errors;   // data reply (GETFAMILY)
            }
        }
    }
}
}  // namespace

int main(int argc, char** argv) {
    int N = argc > 1 ? atoi(argv[1]) : 1000, D = argc > 2 ? atoi(argv[2]) : 10;
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) { perror("netlink"); return 1; }
    int rcv = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
    auto t0 = std::chrono::steady_clock::now();
    // resolve "IPVS"
    Msg m = begin(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
    put(CTRL_ATTR_FAMILY_NAME, "IPVS", 5);
    end(m);
    send(fd, buf.data(), buf.size(), 0);
    int fam = 0;
    for (bool got = false; !got;) {
        ssize_t n = recv(fd, rbuf.data(), rbuf.size(), 0);
        int len = int(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(rbuf.data()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_type == NLMSG_ERROR) { fprintf(stderr, "no IPVS\n"); return 1; }
            auto* a = reinterpret_cast<nlattr*>(static_cast<char*>(NLMSG_DATA(r)) + GENL_HDRLEN);
            int rem = int(r->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
            while (rem >= int(NLA_HDRLEN)) {
                if (a->nla_type == CTRL_ATTR_FAMILY_ID) fam = *reinterpret_cast<uint16_t*>(reinterpret_cast<char*>(a) + NLA_HDRLEN);
                rem -= NLA_ALIGN(a->nla_len);
                a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(a) + NLA_ALIGN(a->nla_len));
            }
            got = true;
        }
    }
    buf.clear();
    int errors = 0, inchunk = 0;
    size_t msgs = 0;
    auto flush = [&] {
        if (!inchunk) return;
        // ack on the last message of the chunk
        size_t off = 0, last = 0;
        while (off < buf.size()) { last = off; off += NLMSG_ALIGN(reinterpret_cast<nlmsghdr*>(buf.data() + off)->nlmsg_len); }
        auto* h = reinterpret_cast<nlmsghdr*>(buf.data() + last);
        h->nlmsg_flags |= NLM_F_ACK;
        if (send(fd, buf.data(), buf.size(), 0) < 0) { perror("send"); exit(1); }
        errors += wait(h->nlmsg_seq);
        buf.clear();
        inchunk = 0;
    };
    for (int i = 0; i < N; i++) {
        uint32_t vip = (10u << 24) | (1u << 16) | uint32_t(i + 1);
        Msg s = begin(uint16_t(fam), IPVS_CMD_NEW_SERVICE, 0);
        put_svc(vip, true);
        end(s);
        inchunk++, msgs++;
        for (int d = 0; d < D; d++) {
            uint32_t rip = (10u << 24) | (2u << 16) | uint32_t(i * D + d + 1);
            Msg dm = begin(uint16_t(fam), IPVS_CMD_NEW_DEST, 0);
            put_svc(vip, false);
            size_t n = nest_begin(IPVS_CMD_ATTR_DEST);
            uint8_t a[16] = {};
            uint32_t be = htonl(rip);
            std::memcpy(a, &be, 4);
            put(IPVS_DEST_ATTR_ADDR, a, 16);
            put_v<uint16_t>(IPVS_DEST_ATTR_PORT, htons(8080));
            put_v<uint32_t>(IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
            put_v<uint32_t>(IPVS_DEST_ATTR_WEIGHT, 1);
            put_v<uint32_t>(IPVS_DEST_ATTR_U_THRESH, 0);
            put_v<uint32_t>(IPVS_DEST_ATTR_L_THRESH, 0);
            nest_end(n);
            end(dm);
            inchunk++, msgs++;
            if (inchunk >= 512 || buf.size() > 60000) flush();
        }
        if (inchunk >= 512 || buf.size() > 60000) flush();
    }
    flush();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    printf("raw_ipvs: %zu messages, %d errors, %.1f ms\n", msgs, errors, ms);
    return errors ? 1 : 0;
}
