// ovnet-inspect's pure parts: the networks view of a hand-made snapshot, Docker's network ids in
// names, and the structured netfilter rules of iptables-save -c text.
#include "helpers.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

#include "ovnet/inspect.hpp"

using namespace ovnet;

namespace {

IpAddr ip(const char* s) { return IpAddr::parse(s); }
Mac mac(const char* s) { return Mac::parse(s); }

PeerEntry peer(const char* status, const char* i, const char* m, const char* vtep) {
    PeerEntry p;
    p.status = status;
    if (*i) p.ip = ip(i);
    p.mac = mac(m);
    if (*vtep) p.vtep = ip(vtep);
    return p;
}

// Host h1 of the README's three-host overlay, its container c1, and an unrelated namespace.
std::map<std::string, NetnsState> three_hosts_h1() {
    std::map<std::string, NetnsState> m;
    NetnsState& h1 = m["h1"];
    h1.label = h1.name = "h1";
    Bridge br;
    br.netns = "h1";
    br.name = "ov-001001-7672d";
    br.mtu = 1450;
    BridgePort vx;
    vx.name = "vx-001001-7672d";
    vx.kind = "vxlan";
    BridgePort veth;
    veth.name = "veth1234567";
    veth.kind = "veth";
    veth.peer = PeerRef{"c1", 5, "eth0", ""};
    br.ports = {vx, veth};
    h1.bridges.push_back(br);
    Bridge lonely;   // a bridge without a VXLAN port is no overlay
    lonely.name = "docker0";
    h1.bridges.push_back(lonely);
    Vtep v;
    v.name = "vx-001001-7672d";
    v.master = br.name;
    v.vxlan.vni = 4097;
    v.vxlan.port = 4789;
    v.vxlan.local = ip("192.0.2.11");
    h1.vteps.push_back(v);
    h1.peers[v.name] = {peer("peer", "10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12"),
                        peer("peer", "10.0.0.4", "02:42:0a:00:00:04", "192.0.2.13"),
                        peer("fdb-only", "", "02:42:0a:00:00:05", "192.0.2.13"),
                        peer("local", "", "aa:bb:cc:dd:ee:01", "")};
    LbService s;
    s.vip = ip("10.0.0.100");
    s.fwmark = 256;
    s.netns = "h1";
    h1.lb_services.push_back(s);
    LbService other;
    other.vip = ip("10.9.0.100");
    other.netns = "h1";
    h1.lb_services.push_back(other);
    LbService elsewhere;   // on the subnet, but in a namespace not attached to the overlay
    elsewhere.vip = ip("10.0.0.101");
    elsewhere.netns = "ul";
    h1.lb_services.push_back(elsewhere);

    NetnsState& c1 = m["c1"];
    c1.label = c1.name = "c1";
    c1.container = "web.1";
    Endpoint e;
    e.ifname = "eth0";
    e.ifindex = 5;
    e.kind = "veth";
    e.mac = mac("02:42:0a:00:00:02");
    e.addresses = {Prefix::parse("10.0.0.2/24")};
    c1.interfaces.push_back(e);
    m["ul"].label = "ul";
    return m;
}

}  // namespace

TEST_CASE("networks view: one overlay per bridge with a VXLAN port, endpoints, peers, peer hosts", "[inspect]") {
    auto nets = networks_view(three_hosts_h1());
    REQUIRE(nets.size() == 1);
    auto& n = nets[0];
    CHECK(n.netns == "h1");
    CHECK(n.bridge == "ov-001001-7672d");
    CHECK(n.vtep == "vx-001001-7672d");
    CHECK(n.vni == 4097);
    CHECK(n.mtu == 1450);
    CHECK(n.port == 4789);
    CHECK(n.local.str() == "192.0.2.11");
    REQUIRE(n.id);
    CHECK(*n.id == "7672d");
    CHECK(!n.encrypted);   // h1's rules were not read
    REQUIRE(n.endpoints.size() == 1);
    auto& e = n.endpoints[0];
    CHECK(e.sandbox == "c1");
    CHECK(e.container == std::optional<std::string>("web.1"));
    CHECK(e.ifname == "eth0");
    CHECK(e.host_ifname == "veth1234567");
    CHECK(e.mac.str() == "02:42:0a:00:00:02");
    REQUIRE(e.addresses.size() == 1);
    CHECK(e.addresses[0].str() == "10.0.0.2/24");
    REQUIRE(n.subnets.size() == 1);
    CHECK(n.subnets[0].str() == "10.0.0.0/24");
    CHECK(n.peers.size() == 3);   // the local row is left out
    REQUIRE(n.peer_hosts.size() == 2);
    CHECK(n.peer_hosts[0].str() == "192.0.2.12");
    CHECK(n.peer_hosts[1].str() == "192.0.2.13");
    REQUIRE(n.services.size() == 1);   // 10.9.0.100 is on no subnet of the overlay, ul is not attached
    CHECK(n.services[0].vip.str() == "10.0.0.100");
    CHECK(n.published.empty());

    json j = schema::to_dom(n);
    CHECK(j["peers"][0] == n.peers[0].to_json());   // the peer's own schema
    CHECK(j["endpoints"][0]["mac"] == "02:42:0a:00:00:02");
    CHECK(j["encrypted"].is_null());
}

TEST_CASE("networks view: a sandbox not read leaves the endpoint's MAC and addresses unknown", "[inspect]") {
    auto m = three_hosts_h1();
    m.erase("c1");
    auto nets = networks_view(m);
    REQUIRE(nets.size() == 1);
    REQUIRE(nets[0].endpoints.size() == 1);
    auto j = schema::to_dom(nets[0].endpoints[0]);
    CHECK(j["sandbox"] == "c1");
    CHECK(j["ifname"] == "eth0");
    CHECK(j["mac"].is_null());
    CHECK(j["container"].is_null());
    CHECK(j["addresses"].empty());
    CHECK(nets[0].subnets.empty());
    CHECK(nets[0].services.empty());
}

TEST_CASE("networks view: Docker's layout names the network by its namespace", "[inspect]") {
    std::map<std::string, NetnsState> m;
    NetnsState& ns = m["1-3x1kqjqsbz"];
    ns.label = ns.name = "1-3x1kqjqsbz";
    Bridge br;
    br.name = "br0";
    br.mtu = 1450;
    ns.bridges.push_back(br);
    Vtep v;
    v.name = "vxlan0";
    v.master = "br0";
    v.vxlan.vni = 4098;
    ns.vteps.push_back(v);
    auto nets = networks_view(m);
    REQUIRE(nets.size() == 1);
    CHECK(nets[0].id == std::optional<std::string>("3x1kqjqsbz"));
    CHECK(nets[0].vni == 4098);
    CHECK(nets[0].peer_hosts.empty());
}

TEST_CASE("Docker's network id in device and namespace names", "[inspect]") {
    CHECK(docker_network_id("ov-001001-7672d") == std::optional<std::string>("7672d"));
    CHECK(docker_network_id("vx-001001-7672d") == std::optional<std::string>("7672d"));
    CHECK(docker_network_id("1-3x1kqjqsbz") == std::optional<std::string>("3x1kqjqsbz"));
    CHECK(!docker_network_id("br0"));
    CHECK(!docker_network_id("ov-00100g-7672d"));
    CHECK(!docker_network_id("ov-001001-"));
    CHECK(!docker_network_id("1-"));
    CHECK(!docker_network_id("ingress_sbox"));
}

TEST_CASE("netfilter: rules structured, counters kept, both backends merged", "[inspect]") {
    std::string nft =
        "# Generated by iptables-nft-save\n"
        "*nat\n"
        ":PREROUTING ACCEPT [10:600]\n"
        ":DOCKER-INGRESS - [0:0]\n"
        "[3:180] -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS\n"
        "[1:60] -A DOCKER-INGRESS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:8080\n"
        "[0:0] -A DOCKER-INGRESS -j RETURN\n"
        "COMMIT\n"
        "*security\n"
        ":INPUT ACCEPT [0:0]\n"
        "COMMIT\n";
    std::string legacy =
        "*filter\n"
        ":FORWARD DROP [0:0]\n"
        "-A FORWARD -i br0 ! -o br0 -m comment --comment \"a b\" -j ACCEPT\n"
        "COMMIT\n"
        "*nat\n"
        ":PREROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS\n"
        "COMMIT\n";
    auto nf = Netfilter::parse({{"iptables-nft-save", nft}, {"iptables-legacy-save", legacy}});
    CHECK(nf.backends == std::vector<std::string>{"iptables-nft-save", "iptables-legacy-save"});
    CHECK(nf.text.at("iptables-legacy-save") == legacy);
    REQUIRE(nf.rules.size() == 4);   // the PREROUTING jump both print is listed once; no security table
    const NfRule* dnat = nullptr;
    for (auto& r : nf.rules)
        if (r.target == "DNAT") dnat = &r;
    REQUIRE(dnat);
    CHECK(dnat->table == "nat");
    CHECK(dnat->chain == "DOCKER-INGRESS");
    CHECK(dnat->position == 1);
    CHECK(dnat->protocol == "tcp");
    CHECK(dnat->matches == std::vector<std::string>{"tcp"});
    CHECK(dnat->packets == std::optional<uint64_t>(1));
    CHECK(dnat->bytes == std::optional<uint64_t>(60));
    CHECK(dnat->backend == "iptables-nft-save");
    const NfRule* fwd = nullptr;
    for (auto& r : nf.rules)
        if (r.chain == "FORWARD") fwd = &r;
    REQUIRE(fwd);
    CHECK(fwd->in_iface == "br0");
    CHECK(fwd->out_iface == "!br0");
    CHECK(fwd->matches == std::vector<std::string>{"comment"});
    CHECK(fwd->target == "ACCEPT");
    CHECK(!fwd->packets);   // printed without counters
    CHECK(fwd->backend == "iptables-legacy-save");
    bool policy = false;
    for (auto& c : nf.chains)
        if (c.table == "nat" && c.name == "PREROUTING") {
            policy = true;
            CHECK(c.policy == "ACCEPT");
            CHECK(c.packets == std::optional<uint64_t>(10));
        } else if (c.name == "DOCKER-INGRESS") {
            CHECK(c.policy.empty());
            CHECK(!c.packets);
        }
    CHECK(policy);
    json j = schema::to_dom(nf);
    CHECK(j["rules"][0].contains("spec"));
    CHECK(j["text"]["iptables-nft-save"] == nft);
}

TEST_CASE("networks view: encrypted from Docker's mark rule in the VTEP socket's namespace", "[inspect]") {
    auto m = three_hosts_h1();
    m["h1"].netfilter = Netfilter::parse({{"iptables-save", "*mangle\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"}});
    auto nets = networks_view(m);
    REQUIRE(nets.size() == 1);
    CHECK(nets[0].encrypted == std::optional<bool>(false));
    // Docker's rule for VNI 4097 (0x1001 << 8 = 0x100100), in the namespace of the VTEP's socket.
    m["h1"].vteps[0].link_netns = "ul";
    m["ul"].netfilter = Netfilter::parse({{"iptables-save",
        "*mangle\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p udp -m udp --dport 4789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc&0xffffff00=0x100100\" "
        "-j MARK --set-xmark 0xd0c4e3/0xffffffff\nCOMMIT\n"}});
    CHECK(networks_view(m)[0].encrypted == std::optional<bool>(true));
    m["h1"].vteps[0].vxlan.vni = 4098;
    CHECK(networks_view(m)[0].encrypted == std::optional<bool>(false));
}

TEST_CASE("key fingerprints are SHA-256's first 16 hex digits", "[inspect]") {
    auto fp = [](const std::string& s) { return key_fingerprint(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
    CHECK(fp("") == "e3b0c44298fc1c14");
    CHECK(fp("abc") == "ba7816bf8f01cfea");
    CHECK(fp("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8");   // two blocks
    CHECK(fp(std::string(1000, 'a')) == "41edece42d63e8d9");
}

TEST_CASE("xfrm: an SA's key is written as its length and fingerprint only", "[inspect]") {
    // XFRM_MSG_NEWSA: xfrm_usersa_info, then XFRMA_ALG_AEAD (20-byte key: AES-128-GCM + salt) and XFRMA_MARK.
    std::vector<uint8_t> key(20);
    for (size_t i = 0; i < key.size(); i++) key[i] = uint8_t(i + 1);
    std::vector<uint8_t> buf(NLMSG_SPACE(sizeof(xfrm_usersa_info)));
    auto put_attr = [&](uint16_t type, const void* data, size_t len) {
        size_t off = buf.size();
        buf.resize(off + NLA_ALIGN(NLA_HDRLEN + len));
        nlattr a{uint16_t(NLA_HDRLEN + len), type};
        std::memcpy(&buf[off], &a, sizeof a);
        std::memcpy(&buf[off + NLA_HDRLEN], data, len);
    };
    std::vector<uint8_t> aead(sizeof(xfrm_algo_aead) + key.size());
    auto* al = reinterpret_cast<xfrm_algo_aead*>(aead.data());
    std::strcpy(al->alg_name, "rfc4106(gcm(aes))");
    al->alg_key_len = 160;
    al->alg_icv_len = 128;
    std::memcpy(aead.data() + sizeof(xfrm_algo_aead), key.data(), key.size());
    put_attr(XFRMA_ALG_AEAD, aead.data(), aead.size());
    xfrm_mark mk{0xd0c4e3, 0xffffffff};
    put_attr(XFRMA_MARK, &mk, sizeof mk);
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    h->nlmsg_len = uint32_t(buf.size());
    h->nlmsg_type = XFRM_MSG_NEWSA;
    auto* p = static_cast<xfrm_usersa_info*>(NLMSG_DATA(h));
    p->family = AF_INET;
    IpAddr src = ip("192.0.2.1"), dst = ip("192.0.2.2");
    std::memcpy(&p->saddr.a4, src.b.data(), 4);
    std::memcpy(&p->id.daddr.a4, dst.b.data(), 4);
    p->id.proto = IPPROTO_ESP;
    p->id.spi = htonl(0xf6465bbe);
    p->reqid = 0xd0c4e3;
    p->mode = XFRM_MODE_TRANSPORT;
    XfrmState s;
    REQUIRE(xfrm_state_parse(h, s));
    json j = schema::to_dom(s);
    CHECK(j["src"] == "192.0.2.1");
    CHECK(j["dst"] == "192.0.2.2");
    CHECK(j["proto"] == "esp");
    CHECK(j["spi"] == "0xf6465bbe");
    CHECK(j["reqid"] == 0xd0c4e3);
    CHECK(j["mode"] == "transport");
    CHECK(j["mark"] == "0x00d0c4e3");
    REQUIRE(j["algs"].size() == 1);
    CHECK(j["algs"][0]["name"] == "rfc4106(gcm(aes))");
    CHECK(j["algs"][0]["key_bits"] == 160);
    CHECK(j["algs"][0]["icv_bits"] == 128);
    CHECK(j["algs"][0]["key_fingerprint"] == key_fingerprint(key.data(), key.size()));
    // The key's bytes appear nowhere in the output, in any spelling.
    std::string text = j.dump();
    CHECK(text.find("0102030405") == std::string::npos);
    CHECK(text.find("\x01\x02\x03") == std::string::npos);
    std::string t2;
    schema::to_text(t2, s);
    CHECK(t2 == text);
    XfrmPolicy pol;
    CHECK(!xfrm_policy_parse(h, pol));   // not a policy message
}

TEST_CASE("snapshot: to_text and to_file write the DOM's bytes (maps as objects, escaped keys)", "[inspect]") {
    Snapshot snap;
    snap.host = "node-1";
    snap.time = "2026-11-26T02:00:00Z";
    snap.netns = three_hosts_h1();
    NetnsState& h1 = snap.netns.at("h1");
    // Enough peers on a second VTEP for several 64 KiB pieces of to_file, and a key that needs escaping.
    auto& many = h1.peers["vx\"odd"];
    for (int i = 0; i < 3000; i++) {
        char a[32], m[32];
        std::snprintf(a, sizeof a, "10.1.%d.%d", i / 256, i % 256);
        std::snprintf(m, sizeof m, "02:42:0a:01:%02x:%02x", i / 256, i % 256);
        many.push_back(peer("peer", a, m, "192.0.2.13"));
    }
    h1.sysctls["net.ipv4.ip_forward"] = "1";
    h1.sysctls["net.ipv4.vs.conntrack"] = std::nullopt;
    Netfilter nf;
    nf.backends = {"iptables-nft-save", "iptables-legacy-save"};
    nf.text["iptables-nft-save"] = "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
    nf.text["iptables-legacy-save"] = "";
    h1.netfilter = nf;
    snap.networks = networks_view(snap.netns);
    std::string dom = snap.to_json().dump();
    CHECK(dom.find("\"vx\\\"odd\":[{") != std::string::npos);
    CHECK(dom.find("\"sysctls\":{\"net.ipv4.ip_forward\":\"1\",\"net.ipv4.vs.conntrack\":null}") != std::string::npos);
    CHECK(dom.find("\"text\":{\"iptables-legacy-save\":\"\",\"iptables-nft-save\":\"*nat\\n") != std::string::npos);
    std::string text;
    schema::to_text(text, snap);
    CHECK(text == dom);
    REQUIRE(dom.size() > 3 * (1u << 16));
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    CHECK(schema::to_file(f, snap));
    CHECK(schema::TextWriter::sink == nullptr);
    std::string back(size_t(std::ftell(f)), '\0');
    std::rewind(f);
    CHECK(std::fread(back.data(), 1, back.size(), f) == back.size());
    std::fclose(f);
    CHECK(back == dom);
}

// ---- split_nodes: one machine, several nodes ----------------------------------------------------

namespace {

// A veth link of `ns` whose peer is the port `port` of bridge `master` in namespace `peer_ns`.
void veth_to(NetnsState& ns, const char* name, const char* peer_ns, const char* port, const char* master) {
    LinkView l;
    l.name = name;
    l.kind = "veth";
    l.peer = PeerRef{peer_ns, 7, port, master};
    ns.links.push_back(l);
}

// Adds host `h` (underlay address `local`) of the three-host overlay with its container `c`
// (10.0.0.N, port of the host's bridge), attached to the underlay bridge ul0 in "ul".
void add_host(Snapshot& m, const std::string& h, const std::string& c, int n) {
    NetnsState& hs = m.netns[h];
    hs.label = hs.name = h;
    Bridge br;
    br.netns = h;
    br.name = "ov-001001-7672d";
    br.mtu = 1450;
    BridgePort vx;
    vx.name = "vx-001001-7672d";
    vx.kind = "vxlan";
    BridgePort veth;
    veth.name = "veth" + c;
    veth.kind = "veth";
    veth.peer = PeerRef{c, 5, "eth0", ""};
    br.ports = {vx, veth};
    hs.bridges.push_back(br);
    Vtep v;
    v.name = vx.name;
    v.master = br.name;
    v.vxlan.vni = 4097;
    v.vxlan.port = 4789;
    v.vxlan.local = ip(("192.0.2.1" + std::to_string(n)).c_str());
    hs.vteps.push_back(v);
    veth_to(hs, "ul0", "ul", ("veth-" + h).c_str(), "ul0");
    NetnsState& cs = m.netns[c];
    cs.label = cs.name = c;
    Endpoint e;
    e.ifname = "eth0";
    e.ifindex = 5;
    e.kind = "veth";
    e.mac = mac(("02:42:0a:00:00:0" + std::to_string(n + 1)).c_str());
    e.addresses = {Prefix::parse(("10.0.0." + std::to_string(n + 1) + "/24").c_str())};
    cs.interfaces.push_back(e);
    veth_to(cs, "eth0", h.c_str(), veth.name.c_str(), br.name.c_str());
    BridgePort up;
    up.name = "veth-" + h;
    up.kind = "veth";
    up.peer = PeerRef{h, 3, "ul0", ""};
    m.netns["ul"].bridges[0].ports.push_back(up);
}

Snapshot lab_machine() {
    Snapshot m;
    m.host = "lab";
    m.time = "2026-11-26T02:00:00Z";
    NetnsState& ul = m.netns["ul"];
    ul.label = ul.name = "ul";
    Bridge ul0;
    ul0.netns = "ul";
    ul0.name = "ul0";
    ul.bridges.push_back(ul0);
    add_host(m, "lab-h1", "lab-c1", 1);
    add_host(m, "lab-h2", "lab-c2", 2);
    add_host(m, "lab-h3", "lab-c3", 3);
    m.netns["root"].label = "root";
    m.networks = networks_view(m.netns);
    return m;
}

std::vector<std::string> labels(const Snapshot& s) {
    std::vector<std::string> v;
    for (auto& [l, ns] : s.netns) v.push_back(l);
    return v;
}

}  // namespace

TEST_CASE("split_nodes: one snapshot per host namespace with its containers and not the underlay", "[inspect]") {
    auto nodes = split_nodes(lab_machine(), "lab-h");
    REQUIRE(nodes.size() == 3);
    for (int i = 0; i < 3; ++i) {
        std::string n = std::to_string(i + 1);
        auto& s = nodes[size_t(i)];
        CHECK(s.host == "lab-h" + n);
        CHECK(s.time == "2026-11-26T02:00:00Z");
        CHECK(labels(s) == std::vector<std::string>{"lab-c" + n, "lab-h" + n});
        // The networks view is the node's own: one network, its one endpoint with MAC and IP.
        REQUIRE(s.networks.size() == 1);
        CHECK(s.networks[0].netns == "lab-h" + n);
        CHECK(s.networks[0].local.str() == "192.0.2.1" + n);
        REQUIRE(s.networks[0].endpoints.size() == 1);
        CHECK(s.networks[0].endpoints[0].sandbox == "lab-c" + n);
        CHECK(s.networks[0].endpoints[0].mac.str() == "02:42:0a:00:00:0" + std::to_string(i + 2));
        CHECK(s.networks[0].subnets.size() == 1);
        // Same schema and labels as the machine's document: the parts are copied, not rewritten.
        CHECK(s.to_json()["netns"]["lab-h" + n] == lab_machine().to_json()["netns"]["lab-h" + n]);
        CHECK(s.to_json()["schema"] == "ovnet-inspect/1");
    }
}

TEST_CASE("split_nodes: Docker's layout joins through the VTEP socket and the overlay bridge", "[inspect]") {
    Snapshot m = lab_machine();
    // Node lab-h1 also runs Docker's way: 1-<id> holds br0 + vxlan0 (socket in lab-h1), a task's
    // sandbox and lb_<id> are ports of br0, ingress_sbox hangs off a bridge of lab-h1.
    NetnsState& sb = m.netns["1-3x1kqjqsbz"];
    sb.label = sb.name = "1-3x1kqjqsbz";
    Bridge br0;
    br0.name = "br0";
    BridgePort p1;
    p1.name = "veth0";
    p1.kind = "veth";
    p1.peer = PeerRef{"abc123", 9, "eth0", ""};
    BridgePort p2 = p1;
    p2.name = "veth1";
    p2.peer = PeerRef{"lb_3x1kqjqsb", 9, "eth0", ""};
    br0.ports = {p1, p2};
    sb.bridges.push_back(br0);
    Vtep v;
    v.name = "vxlan0";
    v.master = "br0";
    v.vxlan.vni = 4098;
    v.link_netns = "lab-h1";
    sb.vteps.push_back(v);
    m.netns["abc123"].label = "abc123";
    m.netns["lb_3x1kqjqsb"].label = "lb_3x1kqjqsb";
    NetnsState& ing = m.netns["ingress_sbox"];
    ing.label = "ingress_sbox";
    veth_to(ing, "eth1", "lab-h1", "vething", "docker_gwbridge");
    auto nodes = split_nodes(m, "lab-h");
    REQUIRE(nodes.size() == 3);
    CHECK(labels(nodes[0]) == std::vector<std::string>{"1-3x1kqjqsbz", "abc123", "ingress_sbox", "lab-c1", "lab-h1",
                                                       "lb_3x1kqjqsb"});
    REQUIRE(nodes[0].networks.size() == 2);
    CHECK(nodes[0].networks[0].vni == 4098);
    CHECK(nodes[0].networks[0].endpoints.size() == 2);
    CHECK(labels(nodes[1]) == std::vector<std::string>{"lab-c2", "lab-h2"});
}

TEST_CASE("split_nodes: a namespace two nodes claim and another host are no part of a node", "[inspect]") {
    Snapshot m = lab_machine();
    // "shared" has a veth into a bridge of lab-h1 and one into a bridge of lab-h2.
    NetnsState& sh = m.netns["shared"];
    sh.label = "shared";
    veth_to(sh, "a", "lab-h1", "va", "brx");
    veth_to(sh, "b", "lab-h2", "vb", "brx");
    // A bridge port of lab-h1 whose peer is lab-h3 (a host namespace): lab-h3 stays its own node.
    BridgePort x;
    x.name = "vx13";
    x.kind = "veth";
    x.peer = PeerRef{"lab-h3", 4, "to-h1", ""};
    m.netns["lab-h1"].bridges[0].ports.push_back(x);
    auto nodes = split_nodes(m, "lab-h");
    REQUIRE(nodes.size() == 3);
    CHECK(labels(nodes[0]) == std::vector<std::string>{"lab-c1", "lab-h1"});
    CHECK(labels(nodes[1]) == std::vector<std::string>{"lab-c2", "lab-h2"});
    CHECK(labels(nodes[2]) == std::vector<std::string>{"lab-c3", "lab-h3"});
}

TEST_CASE("split_nodes: a prefix that matches no namespace is bad input naming it", "[inspect]") {
    try {
        split_nodes(lab_machine(), "nope-");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Input);
        CHECK(std::string(e.what()).find("\"nope-\"") != std::string::npos);
    }
    // Node-name order, whatever the map holds besides.
    CHECK(split_nodes(lab_machine(), "lab-h2").size() == 1);
}
