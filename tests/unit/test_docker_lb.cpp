// Docker's load-balancing state read from a real Swarm node (Docker 20.10.24, Debian 12, IPVS):
// the iptables-save text of the host, ingress_sbox and lb_<id>, cut from
// /work/shared/reference/docker-node/one-node-ipvs.txt into tests/fixtures/docker-node/, and
// their IPVS firewall-mark services (the .ipvsadm files there) built by hand.
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "ovnet/lb.hpp"
#include "ovnet/schema.hpp"

using namespace ovnet;

namespace {
IpAddr ip(const char* s) { return IpAddr::parse(s); }

IptState fixture(const std::string& name) {
    std::ifstream in(std::string(OVNET_FIXTURES_DIR) + "/docker-node/" + name + ".iptables-save");
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return IptState::parse(ss.str());
}

// ipvsadm -Ln of lb_dufsaehw5 and ingress_sbox.
std::vector<IpvsService> lb_ipvs() {
    return {lb_ipvs_service(256, "rr", {ip("10.0.1.7"), ip("10.0.1.8")}),
            lb_ipvs_service(258, "rr", {ip("10.0.1.3"), ip("10.0.1.4")})};
}
std::vector<IpvsService> sbox_ipvs() { return {lb_ipvs_service(257, "rr", {ip("10.0.0.4"), ip("10.0.0.5")})}; }

std::vector<std::string> addrs(const json& backends) {
    std::vector<std::string> v;
    for (auto& d : backends) v.push_back(d["address"].get<std::string>());
    return v;
}
}  // namespace

TEST_CASE("docker lb_<id>: two VIPs with marks SNAT and IPVS backends") {
    auto st = fixture("lb_dufsaehw5");
    auto ipvs = lb_ipvs();
    auto rows = docker_lb_services(st, &ipvs, "lb_dufsaehw5");
    REQUIRE(rows.size() == 2);
    auto a = rows[0].to_json(), b = rows[1].to_json();
    CHECK(a["owner"] == "docker");
    CHECK(a["netns"] == "lb_dufsaehw5");
    CHECK(a["vip"] == "10.0.1.6");
    CHECK(a["fwmark"] == 256);
    CHECK(a["fwmark_hex"] == "0x100");
    CHECK(a["subnet"] == "10.0.1.0/24");
    CHECK(a["lb_ip"] == "10.0.1.5");
    CHECK(a["scheduler"] == "rr");
    CHECK(addrs(a["backends"]) == std::vector<std::string>{"10.0.1.7", "10.0.1.8"});
    CHECK(a["ipvs"]["netns"] == "lb_dufsaehw5");
    CHECK(a["ipvs"]["fwmark"] == 256);
    CHECK(a["rules"] == json{"mangle INPUT -d 10.0.1.6/32 -j MARK --set-xmark 0x100/0xffffffff",
                             "nat POSTROUTING -d 10.0.1.0/24 -m ipvs --ipvs -j SNAT --to-source 10.0.1.5"});
    CHECK(b["vip"] == "10.0.1.2");
    CHECK(b["fwmark"] == 258);
    CHECK(b["lb_ip"] == "10.0.1.5");
    CHECK(addrs(b["backends"]) == std::vector<std::string>{"10.0.1.3", "10.0.1.4"});
    // The bulk writer writes the same bytes.
    std::string text;
    schema::to_text(text, rows[0]);
    CHECK(text == a.dump());
}

TEST_CASE("docker lb_<id> without IPVS: the iptables half with ipvs and backends null") {
    auto rows = docker_lb_services(fixture("lb_dufsaehw5"), nullptr, "lb_dufsaehw5");
    REQUIRE(rows.size() == 2);
    auto a = rows[0].to_json();
    CHECK(a["vip"] == "10.0.1.6");
    CHECK(a["subnet"] == "10.0.1.0/24");
    CHECK(a["lb_ip"] == "10.0.1.5");
    CHECK(a["scheduler"] == "-");
    CHECK(a["backends"].is_null());
    CHECK(a["ipvs"].is_null());
    // IPVS readable but no service of that mark: an empty list, not null.
    std::vector<IpvsService> none;
    CHECK(docker_lb_services(fixture("lb_dufsaehw5"), &none, "x")[0].to_json()["backends"] == json::array());
}

TEST_CASE("docker ingress_sbox as a load balancer: the ingress VIP") {
    auto ipvs = sbox_ipvs();
    auto rows = docker_lb_services(fixture("ingress_sbox"), &ipvs, "ingress_sbox");
    REQUIRE(rows.size() == 1);
    auto a = rows[0].to_json();
    CHECK(a["vip"] == "10.0.0.3");
    CHECK(a["fwmark"] == 257);
    CHECK(a["subnet"] == "10.0.0.0/24");
    CHECK(a["lb_ip"] == "10.0.0.2");
    CHECK(addrs(a["backends"]) == std::vector<std::string>{"10.0.0.4", "10.0.0.5"});
}

TEST_CASE("docker published port 30000: host DNAT joined with ingress_sbox marks SNAT and IPVS") {
    auto host = fixture("host"), sbox = fixture("ingress_sbox");
    auto ipvs = sbox_ipvs();
    auto rows = docker_published_ports(host, sbox, &ipvs, "", "ingress_sbox");
    REQUIRE(rows.size() == 1);
    auto p = rows[0].to_json();
    CHECK(p["owner"] == "docker");
    CHECK(p["netns"] == "");
    CHECK(p["proto"] == "tcp");
    CHECK(p["port"] == 30000);
    CHECK(p["ingress_sbox"] == "ingress_sbox");
    CHECK(p["gw_ip"] == "172.18.0.2");
    CHECK(p["gw_bridge"] == "docker_gwbridge");
    CHECK(p["fwmark"] == 257);
    CHECK(p["fwmark_hex"] == "0x101");
    CHECK(p["ingress_vip"] == "10.0.0.3");
    CHECK(p["subnet"] == "10.0.0.0/24");
    CHECK(p["lb_ip"] == "10.0.0.2");
    CHECK(p["scheduler"] == "rr");
    CHECK(addrs(p["backends"]) == std::vector<std::string>{"10.0.0.4", "10.0.0.5"});
    CHECK(p["ipvs"]["netns"] == "ingress_sbox");
    CHECK(p["rules"] ==
          json{"host: nat DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000",
               "host: filter DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j ACCEPT",
               "host: filter DOCKER-INGRESS -p tcp -m state --state RELATED,ESTABLISHED -m tcp --sport 30000 -j ACCEPT",
               "host: nat POSTROUTING -o docker_gwbridge -m addrtype --src-type LOCAL -j MASQUERADE",
               "ingress_sbox: mangle PREROUTING -p tcp -m tcp --dport 30000 -j MARK --set-xmark 0x101/0xffffffff",
               "ingress_sbox: mangle INPUT -d 10.0.0.3/32 -j MARK --set-xmark 0x101/0xffffffff",
               "ingress_sbox: nat POSTROUTING -d 10.0.0.0/24 -m ipvs --ipvs -j SNAT --to-source 10.0.0.2"});
    std::string text;
    schema::to_text(text, rows[0]);
    CHECK(text == p.dump());
    // Without IPVS: the same iptables half, ipvs and backends null.
    auto q = docker_published_ports(host, sbox, nullptr, "", "ingress_sbox")[0].to_json();
    CHECK(q["ipvs"].is_null());
    CHECK(q["backends"].is_null());
    CHECK(q["scheduler"] == "-");
    CHECK(q["fwmark"] == 257);
    CHECK(q["subnet"] == "10.0.0.0/24");
    CHECK(q["rules"] == p["rules"]);
}

TEST_CASE("docker published port: a sandbox without marks leaves the sandbox half empty") {
    auto rows = docker_published_ports(fixture("host"), IptState{}, nullptr, "h", "sb");
    REQUIRE(rows.size() == 1);
    auto p = rows[0].to_json();
    CHECK(p["fwmark"] == 0);
    CHECK(p["ingress_vip"].is_null());
    CHECK(p["subnet"].is_null());
    CHECK(p["lb_ip"].is_null());
    CHECK(p["rules"][0] == "h: nat DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000");
    // Docker's container sandboxes (REDIRECT, DNS DNAT) and the host hold no VIP of Docker's.
    CHECK(docker_lb_services(fixture("host"), nullptr, "").empty());
    CHECK(docker_published_ports(fixture("lb_dufsaehw5"), fixture("ingress_sbox"), nullptr, "", "s").empty());
}

TEST_CASE("docker marks are never handed out and both backends merge") {
    CHECK(docker_used_marks(fixture("lb_dufsaehw5")) == std::set<uint32_t>{256, 258});
    CHECK(docker_used_marks(fixture("ingress_sbox")) == std::set<uint32_t>{257});
    CHECK(docker_used_marks(fixture("host")).empty());
    // nft holds one VIP, legacy the other (and a rule both print): merged, nft first, once each.
    auto nft = IptState::parse("*mangle\n:INPUT ACCEPT [0:0]\n-A INPUT -d 10.0.1.6/32 -j MARK --set-xmark 0x100/0xffffffff\nCOMMIT\n");
    auto legacy = IptState::parse(
        "*mangle\n:INPUT ACCEPT [0:0]\n-A INPUT -d 10.0.1.6/32 -j MARK --set-xmark 0x100/0xffffffff\n"
        "-A INPUT -d 10.0.1.2/32 -j MARK --set-xmark 0x102/0xffffffff\nCOMMIT\n"
        "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -d 10.0.1.0/24 -m ipvs --ipvs -j SNAT --to-source 10.0.1.5\nCOMMIT\n");
    auto all = ipt_merge(nft, legacy);
    auto rows = docker_lb_services(all, nullptr, "x");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].vip == ip("10.0.1.6"));
    CHECK(rows[1].vip == ip("10.0.1.2"));
    CHECK(rows[0].lb_ip == ip("10.0.1.5"));
    CHECK(all.table("mangle").chain_rules("INPUT").size() == 2);
}

TEST_CASE("ovnet rows carry owner ovnet and the new keys") {
    LbService s;
    s.vip = ip("10.0.0.5");
    s.fwmark = 256;
    auto j = s.to_json();
    CHECK(j["owner"] == "ovnet");
    auto& keys = schema::keys<LbService>();
    CHECK(std::string(keys[1].name) == "owner");
    CHECK(keys[1].access == schema::ReadOnly);
    PublishSpec p;
    p.port = 30000;
    auto pj = p.to_json();
    CHECK(pj["owner"] == "ovnet");
    CHECK(pj["ingress_vip"].is_null());
    CHECK(pj["backends"] == json::array());
}
