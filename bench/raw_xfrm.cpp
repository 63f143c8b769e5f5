// raw_xfrm LOCAL N KEYHEX [NETNS]: the baseline of bench/crypt. Writes what `ovnet-crypt apply` writes for N
// peers (192.0.2.x from LOCAL+1 on; Docker's SPIs, key and salt, one key with tag 1): per peer an
// outbound and an inbound rfc4106(gcm(aes)) SA and the outbound policy, as one batched NETLINK_XFRM
// loop (many messages per sendmsg, an ack asked only for the last of each chunk). libc only. With
// NETNS (a name under /run/netns) it enters that namespace itself, as `ovnet-crypt -n` does, so
// neither side pays for an `ip netns exec`.
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

uint32_t spi_of(uint32_t src, uint32_t dst, uint32_t tag) {   // addresses in network order
    uint8_t b[36] = {};
    b[10] = b[11] = 0xff;
    std::memcpy(b + 12, &src, 4);
    b[16] = uint8_t(tag >> 24), b[17] = uint8_t(tag >> 16), b[18] = uint8_t(tag >> 8), b[19] = uint8_t(tag);
    b[30] = b[31] = 0xff;
    std::memcpy(b + 32, &dst, 4);
    uint32_t h = 2166136261u;
    for (uint8_t c : b) h = (h ^ c) * 16777619u;
    return h;
}

struct Buf {
    std::vector<char> b;
    size_t msgs = 0;
    nlmsghdr* start(uint16_t type, uint16_t flags, size_t hdr) {
        size_t off = b.size();
        b.resize(off + NLMSG_ALIGN(NLMSG_LENGTH(hdr)), 0);
        auto* h = reinterpret_cast<nlmsghdr*>(b.data() + off);
        h->nlmsg_len = NLMSG_LENGTH(hdr);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | flags;
        h->nlmsg_seq = uint32_t(++msgs);
        last = off;
        return h;
    }
    void attr(uint16_t type, const void* d, size_t len) {
        size_t off = b.size();
        b.resize(off + NLA_ALIGN(NLA_HDRLEN + len), 0);
        auto* a = reinterpret_cast<nlattr*>(b.data() + off);
        a->nla_type = type;
        a->nla_len = uint16_t(NLA_HDRLEN + len);
        std::memcpy(b.data() + off + NLA_HDRLEN, d, len);
        hdr()->nlmsg_len = uint32_t(b.size() - last);
    }
    nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(b.data() + last); }
    size_t last = 0;
};

void sa(Buf& m, uint32_t src, uint32_t dst, const uint8_t* key) {
    auto* h = m.start(XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL, sizeof(xfrm_usersa_info));
    auto* p = static_cast<xfrm_usersa_info*>(NLMSG_DATA(h));
    uint32_t spi = spi_of(src, dst, 1);
    p->saddr.a4 = src;
    p->id.daddr.a4 = dst;
    p->id.spi = htonl(spi);
    p->id.proto = IPPROTO_ESP;
    p->family = AF_INET;
    p->mode = XFRM_MODE_TRANSPORT;
    p->reqid = 0xD0C4E3;
    p->lft.soft_byte_limit = p->lft.hard_byte_limit = XFRM_INF;
    p->lft.soft_packet_limit = p->lft.hard_packet_limit = XFRM_INF;
    char buf[sizeof(xfrm_algo_aead) + 20] = {};
    auto* a = reinterpret_cast<xfrm_algo_aead*>(buf);
    std::strcpy(a->alg_name, "rfc4106(gcm(aes))");
    a->alg_key_len = 160;
    a->alg_icv_len = 64;
    std::memcpy(buf + sizeof(xfrm_algo_aead), key, 16);
    uint32_t salt = htonl(spi);
    std::memcpy(buf + sizeof(xfrm_algo_aead) + 16, &salt, 4);
    m.attr(XFRMA_ALG_AEAD, buf, sizeof buf);
}

void policy(Buf& m, uint32_t src, uint32_t dst, uint16_t port) {
    auto* h = m.start(XFRM_MSG_UPDPOLICY, NLM_F_CREATE, sizeof(xfrm_userpolicy_info));
    auto* p = static_cast<xfrm_userpolicy_info*>(NLMSG_DATA(h));
    p->sel.saddr.a4 = src;
    p->sel.daddr.a4 = dst;
    p->sel.family = AF_INET;
    p->sel.prefixlen_s = p->sel.prefixlen_d = 32;
    p->sel.proto = IPPROTO_UDP;
    p->sel.dport = htons(port);
    p->sel.dport_mask = 0xffff;
    p->dir = XFRM_POLICY_OUT;
    p->action = XFRM_POLICY_ALLOW;
    p->lft.soft_byte_limit = p->lft.hard_byte_limit = XFRM_INF;
    p->lft.soft_packet_limit = p->lft.hard_packet_limit = XFRM_INF;
    xfrm_user_tmpl t{};
    t.id.daddr.a4 = dst;
    t.saddr.a4 = src;
    t.id.spi = htonl(spi_of(src, dst, 1));
    t.id.proto = IPPROTO_ESP;
    t.family = AF_INET;
    t.reqid = 0xD0C4E3;
    t.mode = XFRM_MODE_TRANSPORT;
    t.aalgos = t.ealgos = t.calgos = ~0u;
    m.attr(XFRMA_TMPL, &t, sizeof t);
    xfrm_mark mk{0xD0C4E3, 0xffffffff};
    m.attr(XFRMA_MARK, &mk, sizeof mk);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4 || std::strlen(argv[3]) != 32) {
        std::fprintf(stderr, "usage: raw_xfrm LOCAL N KEYHEX(32) [NETNS]\n");
        return 2;
    }
    if (argc > 4) {
        std::string path = std::string("/run/netns/") + argv[4];
        int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) { std::perror(path.c_str()); return 1; }
        close(ns);
    }
    timespec t0{}, t1{};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    in_addr local{};
    if (inet_pton(AF_INET, argv[1], &local) != 1) return 2;
    int n = std::atoi(argv[2]);
    uint8_t key[16];
    for (int i = 0; i < 16; i++) std::sscanf(argv[3] + 2 * i, "%2hhx", &key[i]);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
    if (fd < 0) { std::perror("socket"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    uint32_t base = ntohl(local.s_addr);
    std::vector<Buf> chunks(1);
    size_t per_chunk = 0;
    auto next = [&] {
        if (++per_chunk == 256) chunks.back().hdr()->nlmsg_flags |= NLM_F_ACK, chunks.emplace_back(), per_chunk = 0;
    };
    for (int i = 1; i <= n; i++) {
        uint32_t peer = htonl(base + uint32_t(i));
        sa(chunks.back(), local.s_addr, peer, key), next();
        sa(chunks.back(), peer, local.s_addr, key), next();
        policy(chunks.back(), local.s_addr, peer, 4789), next();
    }
    if (chunks.back().b.empty()) chunks.pop_back();
    else chunks.back().hdr()->nlmsg_flags |= NLM_F_ACK;
    int errors = 0;
    std::vector<char> rbuf(1 << 16);
    for (auto& c : chunks) {
        if (send(fd, c.b.data(), c.b.size(), 0) < 0) { std::perror("send"); return 1; }
        // Errors come as NLMSG_ERROR for failing messages; the last message's ack ends the chunk.
        for (bool done = false; !done;) {
            ssize_t r = recv(fd, rbuf.data(), rbuf.size(), 0);
            if (r < 0) { std::perror("recv"); return 1; }
            for (auto* h = reinterpret_cast<nlmsghdr*>(rbuf.data()); NLMSG_OK(h, size_t(r)); h = NLMSG_NEXT(h, r)) {
                if (h->nlmsg_type != NLMSG_ERROR) continue;
                auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
                if (e->error) errors++;
                if (h->nlmsg_seq == reinterpret_cast<nlmsghdr*>(c.b.data() + c.last)->nlmsg_seq) done = true;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    std::printf("%d peers: %d SAs, %d policies, %d errors, %.1f ms in process\n", n, 2 * n, n, errors,
                double(t1.tv_sec - t0.tv_sec) * 1e3 + double(t1.tv_nsec - t0.tv_nsec) / 1e6);
    return errors ? 1 : 0;
}
