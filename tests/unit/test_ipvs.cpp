// IPVS objects without a kernel: IpvsService from_json / validate / to_json, and the ipvsadm -S format.
#include <sstream>


#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;

namespace {
IpvsService svc(const std::string& text) { return IpvsService::from_json(json::parse(text)); }
}  // namespace

TEST_CASE("ipvs: from_json accepts a firewall-mark service with destinations") {
    auto s = svc(R"({"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"},{"address":"10.255.0.7","weight":2}]})");
    CHECK(s.key() == "fwm 258");
    CHECK(s.protocol == "fwm");
    REQUIRE(s.dests.size() == 2);
    CHECK(s.dests[0].label() == "10.255.0.6:0");
    CHECK(s.dests[1].weight == 2);
    CHECK(s.dests[0].fwd == IpvsFwd::Masq);
    auto t = svc(R"({"protocol":"tcp","address":"fd00::1","port":443,"persistent":true,"timeout":60,"netmask":64,
                     "dests":[{"address":"fd00::2"}]})");
    CHECK(t.key() == "tcp [fd00::1]:443");
    CHECK(t.dests[0].port == 443);
    CHECK(t.netmask == 64);
    CHECK(svc(R"({"fwmark":7,"family":"ipv6"})").key() == "fwm6 7");
}

TEST_CASE("ipvs: to_json round trip") {
    auto s = svc(R"({"protocol":"udp","address":"10.0.0.5","port":53,"scheduler":"sh","sh_fallback":true,"sh_port":true,
                     "onepacket":true,"persistent":true,"timeout":30,"netmask":"255.255.255.0","pe":"sip",
                     "dests":[{"address":"10.0.0.2","port":5353,"forward":"tunnel","tun_type":"gue","tun_port":6080,
                               "weight":3,"u_threshold":100,"l_threshold":10},{"address":"10.0.0.3","forward":"dr"}]})");
    json j = s.to_json();
    CHECK(j["netmask"] == 24);
    auto back = IpvsService::from_json(j);
    CHECK(back.to_json() == j);
    CHECK(back.dests[0].tun_type == "gue");
    CHECK(back.dests[0].tun_port == 6080);
    CHECK(back.dests[1].fwd == IpvsFwd::Route);
}

TEST_CASE("ipvs: from_json refuses bad input") {
    const char* cases[][2] = {
        {R"({"fwmark":258,"scheduler":"foo"})", "scheduler \"foo\""},
        {R"({"fwmark":0})", "fwmark \"0\""},
        {R"({"protocol":"tcp","address":"10.0.0.5","port":70000})", "port"},
        {R"({"fwmark":258,"dests":[{"address":"fd00::2"}]})", "is IPv6 but the service is IPv4"},
        {R"({"fwmark":258,"dests":[{"weight":1}]})", "address"},
        {R"({"fwmark":258,"dests":[{"address":"10.0.0.2","weight":70000}]})", "weight"},
        {R"({"fwmark":258,"dests":[{"address":"10.0.0.2","u_threshold":5,"l_threshold":10}]})", "l_threshold"},
        {R"({"protocol":"icmp","address":"10.0.0.5","port":1})", "protocol \"icmp\""},
        {R"({"protocol":"tcp","port":80})", "address"},
        {R"({"protocol":"tcp","address":"10.0.0.5"})", "port"},
        {R"({"protocol":"tcp","address":"10.0.0.500","port":80})", "address"},
        {R"({"protocol":"tcp","address":"224.0.0.1","port":80})", "unicast"},
        {R"({"fwmark":258,"address":"10.0.0.5"})", "no address"},
        {R"({"fwmark":258,"colour":"red"})", "colour"},
        {R"({"fwmark":258,"scheduler":"rr","sh_port":true})", "sh_port"},
        {R"({"fwmark":258,"dests":[{"address":"10.0.0.2","forward":"tunnel","tun_type":"vxlan"}]})", "tun_type"},
        {R"({"fwmark":258,"dests":[{"address":"10.0.0.2","forward":"tunnel","tun_type":"gue"}]})", "tun_port"},
        {R"({"fwmark":258,"dests":[{"address":"10.0.0.2","forward":"bounce"}]})", "forward"},
        {R"({"fwmark":258,"dests":[{"address":"10.0.0.2"},{"address":"10.0.0.2"}]})", "appears twice"},
        {R"({"fwmark":258,"pe":"sip"})", "pe"},
        {R"({"fwmark":258,"persistent":true,"netmask":40})", "netmask"},
        {R"({"protocol":"tcp","address":"10.0.0.5","port":80,"family":"ipv6"})", "family"},
        {R"({"fwmark":258,"dests":"10.0.0.2"})", "dests"},
        {R"({"fwmark":258,"timeout":30,"persistent":false})", "timeout"},
    };
    for (auto& c : cases) {
        INFO(c[0]);
        require_input_error([&] { svc(c[0]); }, c[1]);
    }
}

namespace {
// The error ipvs_read() gives for a text, and the one from_json() gives (the reference).
std::string read_error(const std::string& text) {
    std::istringstream in(text);
    try {
        ipvs_read(in, "stdin");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Input);
        return e.what();
    }
    return "(no error)";
}
std::string dom_error(const std::string& text, size_t n = 1) {
    try {
        auto docs = json::parse(text);
        if (docs.is_array()) {
            for (auto& d : docs) IpvsService::from_json(d), n++;
        } else {
            IpvsService::from_json(docs);
        }
    } catch (const Error& e) {
        return "service #" + std::to_string(n) + ": " + e.what();
    }
    return "(no error)";
}
}  // namespace

TEST_CASE("ipvs: ipvs_read (SAX) reads what from_json reads, in every shape") {
    std::string one = R"({"netns":"lb_x","key":"tcp 10.0.0.5:80","family":"ipv4","protocol":"tcp","address":"10.0.0.5","port":80,
        "scheduler":"wrr","persistent":true,"timeout":60,"netmask":24,"onepacket":false,
        "dests":[{"address":"10.0.0.2","port":8080,"forward":"masq","weight":3,"u_threshold":100,"l_threshold":10,
                  "active":1,"inactive":2,"persistent_conns":0,"stats":{"conns":5,"inpkts":1}},
                 {"address":"10.0.0.3","forward":"tunnel","tun_type":"gue","tun_port":6080}],
        "stats":{"conns":5,"cps":0}})";
    std::string two = R"({"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"}]})";
    for (auto text : {one + "\n" + two, "[" + one + "," + two + "]", one + two, "[" + one + "]\n[" + two + "]"}) {
        INFO(text);
        std::istringstream in(text);
        std::vector<json> stubs;
        auto set = ipvs_read(in, "stdin", &stubs);
        REQUIRE(set.size() == 2);
        CHECK(set[0].to_json() == IpvsService::from_json(json::parse(one)).to_json());
        CHECK(set[1].to_json() == IpvsService::from_json(json::parse(two)).to_json());
        REQUIRE(stubs.size() == 2);
        CHECK(stubs[0] == json({{"netns", "lb_x"}}));
        CHECK(stubs[1] == json::object());
    }
    // Shapes the SAX path leaves to the DOM path still read the same.
    for (auto text : {std::string(R"({"fwmark":258,"dests":null})"), std::string(R"({"fwmark":258,"dests":[]})"),
                      std::string(R"({"fwmark":258,"dests":[{"address":"10.0.0.2","stats":[1,2]}]})")}) {
        INFO(text);
        std::istringstream in(text);
        auto set = ipvs_read(in);
        REQUIRE(set.size() == 1);
        CHECK(set[0].to_json() == IpvsService::from_json(json::parse(text)).to_json());
    }
}

TEST_CASE("ipvs: ipvs_read errors are from_json's, numbered") {
    const char* cases[] = {
        R"({"fwmark":258,"scheduler":"foo"})",
        R"({"fwmark":258,"dests":[{"address":"10.0.0.2","colour":"red"}]})",
        R"({"fwmark":258,"dests":[{"address":"10.0.0.2","port":{"x":1}}]})",
        R"({"fwmark":258,"dests":[{"address":"10.0.0.2","port":-1}]})",
        R"({"fwmark":258,"dests":[{"address":"10.0.0.2","weight":"heavy"}]})",
        R"({"fwmark":258,"dests":[{"address":["10.0.0.2"]}]})",
        R"({"fwmark":258,"dests":[{"address":"10.0.0.2"},{"address":"10.0.0.3"},{"address":"10.0.0.2"},{"address":"10.0.0.3"}]})",
        R"({"fwmark":258,"dests":[{"address":"10.0.0.2"},"10.0.0.3"]})",
        R"({"fwmark":258,"dests":[[{"address":"10.0.0.2"}]]})",
        R"({"fwmark":258,"dests":"10.0.0.2"})",
        R"({"fwmark":258,"scheduler":{"name":"rr"}})",
        R"([{"fwmark":258},{"fwmark":258,"timeout":30,"persistent":false}])",
        R"([{"fwmark":258},17])",
        R"("fwm 258")",
    };
    for (auto c : cases) {
        INFO(c);
        CHECK(read_error(c) == dom_error(c));
    }
    // Syntax errors: the byte offset in the stream; a syntax error after an invalid service still
    // wins, as with a DOM (the whole stream is read before any service is checked).
    CHECK_THAT(read_error(R"({"fwmark":258}{"fwmark":)"), Catch::Matchers::Contains("malformed JSON at byte"));
    CHECK_THAT(read_error(R"({"fwmark":0}{"fwmark":)"), Catch::Matchers::Contains("malformed JSON at byte"));
}

TEST_CASE("ipvs: ipvs_read and the DOM path agree on mangled input") {
    // The reference: every document through nlohmann's DOM and from_json, numbered.
    auto reference = [](const std::string& text, std::string& err) {
        std::vector<IpvsService> out;
        try {
            std::istringstream in(text);
            auto docs = read_json_stream(in, "stdin");
            size_t n = 0;
            for (auto& d : docs) {
                n++;
                try {
                    out.push_back(IpvsService::from_json(d));
                } catch (const Error& e) {
                    throw Error(ErrorKind::Input, "service #" + std::to_string(n) + ": " + e.what());
                }
            }
        } catch (const Error& e) {
            err = e.what();
        }
        return out;
    };
    const std::string base =
        R"({"netns":"x","fwmark":258,"scheduler":"rr","persistent":true,"timeout":60,"dests":[{"address":"10.255.0.6","weight":2},)"
        R"({"address":"10.255.0.7","port":0,"forward":"dr","stats":{"conns":1}}],"stats":{"conns":2}})"
        "\n"
        R"([{"protocol":"udp","address":"fd00::1","port":53,"scheduler":"sh","sh_port":true,"dests":[{"address":"fd00::2","port":5353,"forward":"tunnel","tun_type":"gue","tun_port":6080}]}])";
    size_t same_ok = 0, same_err = 0;
    ovnet_test::for_each_mangled(base, 3000, [&](const std::string& t) {
        std::string want_err, got_err;
        auto want = reference(t, want_err);
        std::vector<IpvsService> got;
        try {
            std::istringstream in(t);
            got = ipvs_read(in, "stdin");
        } catch (const Error& e) {
            got_err = e.what();
        }
        INFO(t);
        REQUIRE(got_err == want_err);
        if (want_err.empty()) {
            REQUIRE(got.size() == want.size());
            for (size_t i = 0; i < got.size(); i++) REQUIRE(got[i].to_json() == want[i].to_json());
            same_ok++;
        } else {
            same_err++;
        }
    });
    CHECK(same_ok > 50);   // the mangling leaves enough valid sets to compare
    CHECK(same_err > 1000);
}

TEST_CASE("ipvs: write_json writes what to_json().dump() writes") {
    std::vector<IpvsService> v = {
        svc(R"({"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"},{"address":"10.255.0.7","weight":2}]})"),
        svc(R"({"fwmark":7,"family":"ipv6","scheduler":"lc","persistent":true})"),
        svc(R"({"protocol":"udp","address":"10.0.0.5","port":53,"scheduler":"sh","sh_fallback":true,"sh_port":true,
                "onepacket":true,"persistent":true,"timeout":30,"netmask":"255.255.255.0","pe":"sip",
                "dests":[{"address":"10.0.0.2","port":5353,"forward":"tunnel","tun_type":"gue","tun_port":6080,
                          "weight":3,"u_threshold":100,"l_threshold":10},{"address":"10.0.0.3","forward":"dr"},
                         {"address":"10.0.0.4","forward":"tunnel"}]})"),
        svc(R"({"protocol":"tcp","address":"fd00::1","port":443,"persistent":true,"timeout":60,"netmask":64,
                "dests":[{"address":"fd00::2"}]})"),
        svc(R"({"protocol":"sctp","address":"192.0.2.9","port":9,"scheduler":"mh","sh_port":true})"),
    };
    v[0].stats.conns = 5, v[0].stats.outbps = 18446744073709551615ULL;
    v[0].dests[1].active = 3, v[0].dests[1].inactive = 4, v[0].dests[1].persistent = 1, v[0].dests[1].stats.inpkts = 9;
    for (auto& s : v) {
        for (std::string ns : {"", "lb_abc", "weird \"name\"\\"}) {
            std::string out;
            s.write_json(out, ns);
            json j = s.to_json();
            if (!ns.empty()) {
                json k = json::object();
                k["netns"] = ns;
                k.update(j);
                j = std::move(k);
            }
            CHECK(out == j.dump());
        }
    }
}

namespace {
namespace golden {
// Taken from the binaries before the schema refactor (commit 523cca9); since issue 9 every key is on
// every row (null where it does not apply to the service or destination).
const char* kFwmNs =
    R"({"netns":"lb_x","key":"fwm 258","family":"ipv4","protocol":"fwm","fwmark":258,"address":null,"port":null,"scheduler":"rr","persistent":false,"timeout":null,"netmask":null,"onepacket":false,"sh_fallback":false,"sh_port":false,"pe":null,"dests":[{"address":"10.255.0.6","port":0,"forward":"masq","weight":1,"u_threshold":0,"l_threshold":0,"tun_type":null,"tun_port":null,"active":0,"inactive":0,"persistent_conns":0,"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}},{"address":"10.255.0.7","port":0,"forward":"masq","weight":2,"u_threshold":0,"l_threshold":0,"tun_type":null,"tun_port":null,"active":3,"inactive":4,"persistent_conns":1,"stats":{"conns":0,"inpkts":9,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}}],"stats":{"conns":5,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":18446744073709551615}})";
const char* kFwmDom =
    R"({"key":"fwm 258","family":"ipv4","protocol":"fwm","fwmark":258,"address":null,"port":null,"scheduler":"rr","persistent":false,"timeout":null,"netmask":null,"onepacket":false,"sh_fallback":false,"sh_port":false,"pe":null,"dests":[{"address":"10.255.0.6","port":0,"forward":"masq","weight":1,"u_threshold":0,"l_threshold":0,"tun_type":null,"tun_port":null,"active":0,"inactive":0,"persistent_conns":0,"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}},{"address":"10.255.0.7","port":0,"forward":"masq","weight":2,"u_threshold":0,"l_threshold":0,"tun_type":null,"tun_port":null,"active":3,"inactive":4,"persistent_conns":1,"stats":{"conns":0,"inpkts":9,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}}],"stats":{"conns":5,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":18446744073709551615}})";
const char* kUdpNs =
    R"({"netns":"lb_x","key":"udp 10.0.0.5:53","family":"ipv4","protocol":"udp","fwmark":null,"address":"10.0.0.5","port":53,"scheduler":"sh","persistent":true,"timeout":30,"netmask":24,"onepacket":true,"sh_fallback":true,"sh_port":true,"pe":"sip","dests":[{"address":"10.0.0.2","port":5353,"forward":"tunnel","weight":3,"u_threshold":100,"l_threshold":10,"tun_type":"gue","tun_port":6080,"active":0,"inactive":0,"persistent_conns":0,"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}},{"address":"10.0.0.3","port":53,"forward":"dr","weight":1,"u_threshold":0,"l_threshold":0,"tun_type":null,"tun_port":null,"active":0,"inactive":0,"persistent_conns":0,"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}},{"address":"10.0.0.4","port":53,"forward":"tunnel","weight":1,"u_threshold":0,"l_threshold":0,"tun_type":"ipip","tun_port":null,"active":0,"inactive":0,"persistent_conns":0,"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}}],"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}})";
const char* kTcp6 =
    R"({"key":"tcp [fd00::1]:443","family":"ipv6","protocol":"tcp","fwmark":null,"address":"fd00::1","port":443,"scheduler":"wlc","persistent":true,"timeout":60,"netmask":64,"onepacket":false,"sh_fallback":false,"sh_port":false,"pe":null,"dests":[{"address":"fd00::2","port":443,"forward":"masq","weight":1,"u_threshold":0,"l_threshold":0,"tun_type":null,"tun_port":null,"active":0,"inactive":0,"persistent_conns":0,"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}}],"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}})";
const char* kSctp =
    R"({"key":"sctp 192.0.2.9:9","family":"ipv4","protocol":"sctp","fwmark":null,"address":"192.0.2.9","port":9,"scheduler":"mh","persistent":false,"timeout":null,"netmask":null,"onepacket":false,"sh_fallback":false,"sh_port":true,"pe":null,"dests":[],"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}})";
const char* kTimeouts =
    R"({"tcp":900,"tcp_fin":120,"udp":300})";
const char* kIpvsadm =
    "-A -u 10.0.0.5:53 -s sh -p 30 -M 255.255.255.0 --pe sip -o -b sh-fallback,sh-port\n"
    "-a -u 10.0.0.5:53 -r 10.0.0.2:5353 -i -w 3 --tun-type gue --tun-port 6080 --tun-nocsum -x 100 -y 10\n"
    "-a -u 10.0.0.5:53 -r 10.0.0.3:53 -g -w 1\n"
    "-a -u 10.0.0.5:53 -r 10.0.0.4:53 -i -w 1\n"
    "-A --sctp-service 192.0.2.9:9 -s mh -b mh-port\n"
    "-A -t [fd00::1]:443 -s wlc -p 60 -M 64\n"
    "-a -t [fd00::1]:443 -r [fd00::2]:443 -m -w 1\n"
    "-A -f 7 -6 -s lc -p 360\n"
    "-A -f 258 -s rr\n"
    "-a -f 258 -r 10.255.0.6:0 -m -w 1\n"
    "-a -f 258 -r 10.255.0.7:0 -m -w 2\n"
;
}  // namespace golden

// The services the golden strings were written from (write_json's test set).
std::vector<IpvsService> golden_set() {
    std::vector<IpvsService> v = {
        svc(R"({"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"},{"address":"10.255.0.7","weight":2}]})"),
        svc(R"({"fwmark":7,"family":"ipv6","scheduler":"lc","persistent":true})"),
        svc(R"({"protocol":"udp","address":"10.0.0.5","port":53,"scheduler":"sh","sh_fallback":true,"sh_port":true,
                "onepacket":true,"persistent":true,"timeout":30,"netmask":"255.255.255.0","pe":"sip",
                "dests":[{"address":"10.0.0.2","port":5353,"forward":"tunnel","tun_type":"gue","tun_port":6080,
                          "weight":3,"u_threshold":100,"l_threshold":10},{"address":"10.0.0.3","forward":"dr"},
                         {"address":"10.0.0.4","forward":"tunnel"}]})"),
        svc(R"({"protocol":"tcp","address":"fd00::1","port":443,"persistent":true,"timeout":60,"netmask":64,
                "dests":[{"address":"fd00::2"}]})"),
        svc(R"({"protocol":"sctp","address":"192.0.2.9","port":9,"scheduler":"mh","sh_port":true})"),
    };
    v[0].stats.conns = 5, v[0].stats.outbps = 18446744073709551615ULL;
    v[0].dests[1].active = 3, v[0].dests[1].inactive = 4, v[0].dests[1].persistent = 1, v[0].dests[1].stats.inpkts = 9;
    return v;
}
}  // namespace

TEST_CASE("ipvs: JSON and ipvsadm bytes are those of the binaries before the schema refactor") {
    auto v = golden_set();
    auto text = [](const IpvsService& s, const std::string& ns) {
        std::string out;
        s.write_json(out, ns);
        return out;
    };
    CHECK(text(v[0], "lb_x") == golden::kFwmNs);
    CHECK(v[0].to_json().dump() == golden::kFwmDom);
    CHECK(text(v[2], "lb_x") == golden::kUdpNs);
    CHECK(v[3].to_json().dump() == golden::kTcp6);
    CHECK(v[4].to_json().dump() == golden::kSctp);
    CHECK(IpvsTimeouts{900, 120, 300}.to_json().dump() == golden::kTimeouts);
    CHECK(ipvs_format_ipvsadm(v) == golden::kIpvsadm);
}

TEST_CASE("ipvs: every key on every row and the null form is apply input") {
    auto v = golden_set();
    auto keys = [](const json& o) {
        std::vector<std::string> k;
        for (auto& [name, _] : o.items()) k.push_back(name);
        return k;
    };
    // fwm, fwm6, udp persistent with pe and tunnels, tcp6, sctp: one key list for all of them.
    const auto svc_keys = keys(v[0].to_json()), dest_keys = keys(v[0].to_json()["dests"][0]);
    CHECK(svc_keys.size() == 16);
    CHECK(dest_keys.size() == 12);
    for (auto& s : v) {
        json j = s.to_json();
        CHECK(keys(j) == svc_keys);
        for (auto& d : j["dests"]) CHECK(keys(d) == dest_keys);
    }
    // show -j | apply: the nulls read as absent, through the DOM reader and the streaming one.
    std::string all;
    for (auto& s : v) {
        s.write_json(all, "lb_x");
        all += "\n";
        auto back = IpvsService::from_json(s.to_json());
        CHECK(ipvs_format_ipvsadm({back}) == ipvs_format_ipvsadm({s}));
    }
    std::istringstream in(all);
    auto back = ipvs_read(in, "stdin");
    REQUIRE(back.size() == v.size());
    CHECK(ipvs_format_ipvsadm(back) == ipvs_format_ipvsadm(v));
    for (size_t i = 0; i < v.size(); i++) {
        json a = back[i].to_json(), b = v[i].to_json();
        a.erase("stats"), b.erase("stats");
        for (auto* x : {&a, &b})
            for (auto& d : (*x)["dests"])
                for (auto k : {"active", "inactive", "persistent_conns", "stats"}) d.erase(k);
        CHECK(a == b);
    }
}

TEST_CASE("ipvs: the ipvsadm -S format round trips every option") {
    std::string text =
        "-A -t 10.0.0.5:80 -s wrr -p 300 -M 255.255.255.0\n"
        "-a -t 10.0.0.5:80 -r 10.0.0.2:8080 -m -w 3 -x 100 -y 50\n"
        "-a -t 10.0.0.5:80 -r 10.0.0.3:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-nocsum\n"
        "-a -t 10.0.0.5:80 -r 10.0.0.4:80 -g -w 0\n"
        "-A -u 10.0.0.5:53 -s sh -o -b sh-fallback,sh-port\n"
        "-A -u 10.0.0.7:5060 -s rr -p 30 --pe sip\n"
        "-A --sctp-service 10.0.0.6:9 -s mh -b mh-port\n"
        "-A -t [fd00::1]:443 -s rr -p 60 -M 64\n"
        "-a -t [fd00::1]:443 -r [fd00::2]:443 -m -w 1\n"
        "-A -f 258 -s rr\n"
        "-a -f 258 -r 10.255.0.6:0 -m -w 1\n"
        "-a -f 258 -r 10.255.0.7:0 -m -w 1\n"
        "-A -f 259 -6 -s lc -p 360\n";
    std::istringstream in(text);
    auto set = ipvs_parse_ipvsadm(in);
    REQUIRE(set.size() == 7);
    CHECK(ipvs_format_ipvsadm(set) == text);
    // Short forms ipvsadm also reads: -p without a value, -r without a port, long options.
    std::istringstream in2("-A --tcp-service 10.0.0.9:80 --scheduler rr --persistent\n"
                           "-a --tcp-service 10.0.0.9:80 --real-server 10.0.0.10 --gatewaying --weight 4\n");
    auto s2 = ipvs_parse_ipvsadm(in2);
    CHECK(ipvs_format_ipvsadm(s2) == "-A -t 10.0.0.9:80 -s rr -p 360\n-a -t 10.0.0.9:80 -r 10.0.0.10:80 -g -w 4\n");
}

TEST_CASE("ipvs: ipvsadm -S parse errors name the line") {
    const char* cases[][2] = {
        {"-a -f 258 -r 10.255.0.6:0 -m -w 1\n", "line 1"},
        {"-A -f 258 -s rr\n-A -f 258 -s rr\n", "line 2"},
        {"-A -t 10.0.0.5:80 -s bogus\n", "scheduler"},
        {"-A -t 10.0.0.5:80 -s rr --bogus\n", "--bogus"},
        {"-X -t 10.0.0.5:80\n", "-X"},
        {"-A -s rr\n", "missing -t"},
        {"-A -f 258 -s rr\n-a -f 258 -r fd00::1 -m\n", "IPv6"},
    };
    for (auto& c : cases) {
        INFO(c[0]);
        std::istringstream in(c[0]);
        require_input_error([&] { ipvs_parse_ipvsadm(in); }, c[1]);
    }
}

// ---- the schema: one fields() list gives the DOM, the bytes and the keys ----

TEST_CASE("ipvs: schema keys are what from_json and ipvs_read accept") {
    std::vector<std::string> dest_keys, svc_keys;
    for (auto& k : schema::keys<IpvsDest>()) dest_keys.push_back(k.name);
    for (auto& k : schema::keys<IpvsService>()) svc_keys.push_back(k.name);
    CHECK(dest_keys == std::vector<std::string>{"address", "port", "forward", "weight", "u_threshold", "l_threshold",
                                                "tun_type", "tun_port", "active", "inactive", "persistent_conns", "stats"});
    CHECK(svc_keys == std::vector<std::string>{"key", "family", "protocol", "fwmark", "address", "port", "scheduler",
                                               "persistent", "timeout", "netmask", "onepacket", "sh_fallback", "sh_port",
                                               "pe", "dests", "stats"});
    // Every key of the schema is accepted by both readers, a key outside it by neither.
    auto v = golden_set();
    for (auto& s : v) {
        json j = s.to_json();
        std::istringstream in(j.dump());
        auto back = ipvs_read(in);
        REQUIRE(back.size() == 1);
        CHECK(back[0].to_json()["dests"] == IpvsService::from_json(j).to_json()["dests"]);
    }
    require_input_error([] { svc(R"({"fwmark":258,"dests":[{"address":"10.0.0.2","fwd":"masq"}]})"); }, "fwd");
    std::istringstream bad(R"({"fwmark":258,"dests":[{"address":"10.0.0.2","ip":"10.0.0.3"}]})");
    require_input_error([&] { ipvs_read(bad); }, "ip");
    // The DOM and the bytes come from the same list.
    for (auto& s : v) {
        std::string t;
        schema::to_text(t, s);
        CHECK(t == s.to_json().dump());
        std::string d;
        schema::to_text(d, s.dests);
        CHECK(d == s.to_json()["dests"].dump());
    }
}

TEST_CASE("netmask_to_prefix / prefix_to_netmask") {
    CHECK(netmask_to_prefix(0xffffff00u) == 24);
    CHECK(netmask_to_prefix(0) == 0);
    CHECK(netmask_to_prefix(0xffffffffu) == 32);
    CHECK(netmask_to_prefix(0xff00ff00u) == -1);
    CHECK(prefix_to_netmask(0) == 0);
    CHECK(prefix_to_netmask(24) == 0xffffff00u);
    CHECK(prefix_to_netmask(32) == 0xffffffffu);
    for (int p = 0; p <= 32; p++) CHECK(netmask_to_prefix(prefix_to_netmask(p)) == p);
}

// ---- the planner, without a kernel ----

namespace {
std::vector<std::string> plan_lines(const IpvsPlan& p) {
    std::vector<std::string> out;
    for (auto& c : p.changes) out.push_back(std::string(c.word()) + " " + c.object);
    return out;
}
std::vector<IpvsService> svcs(std::initializer_list<const char*> texts) {
    std::vector<IpvsService> v;
    for (auto t : texts) v.push_back(svc(t));
    return v;
}
}  // namespace

TEST_CASE("ipvs_plan: an unchanged set gives no ops") {
    auto cur = svcs({R"({"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"},{"address":"10.255.0.7"}]})",
                     R"({"protocol":"tcp","address":"10.0.0.5","port":80,"dests":[{"address":"10.0.0.2","port":8080}]})"});
    auto want = cur;
    std::swap(want[0].dests[0], want[0].dests[1]);   // order does not matter
    want[0].stats.conns = 9;                         // nor counters
    for (bool prune : {false, true}) {
        auto p = ipvs_plan(cur, want, prune);
        CHECK(p.ops.empty());
        CHECK(p.changes.empty());
        CHECK(p.unchanged == std::vector<std::string>{"fwm 258", "tcp 10.0.0.5:80"});
        CHECK(p.stats.unchanged == 5);   // two services, three destinations
        CHECK(p.stats.total_changed() == 0);
    }
}

TEST_CASE("ipvs_plan: adds, edits and removes in order") {
    auto cur = svcs({R"({"fwmark":258,"scheduler":"rr","dests":[{"address":"10.255.0.6"},{"address":"10.255.0.7"}]})",
                     R"({"fwmark":300,"scheduler":"rr"})"});
    auto want = svcs({R"({"fwmark":258,"scheduler":"wrr","dests":[{"address":"10.255.0.8"},{"address":"10.255.0.6","weight":3}]})",
                      R"({"protocol":"udp","address":"10.0.0.5","port":53,"dests":[{"address":"10.0.0.2"}]})"});
    auto p = ipvs_plan(cur, want, true);
    CHECK(plan_lines(p) == std::vector<std::string>{
                               "removed service fwm 300",
                               "edited service fwm 258",
                               "edited dest 10.255.0.6:0 of fwm 258",
                               "removed dest 10.255.0.7:0 of fwm 258",
                               "added dest 10.255.0.8:0 of fwm 258",
                               "added service udp 10.0.0.5:53",
                               "added dest 10.0.0.2:53 of udp 10.0.0.5:53",
                           });
    REQUIRE(p.ops.size() == 7);
    CHECK(p.ops[0].kind == IpvsOp::RemoveService);
    CHECK(p.ops[0].svc == &cur[1]);
    CHECK(p.ops[1].kind == IpvsOp::EditService);
    CHECK(p.ops[1].prev == &cur[0]);
    CHECK(p.ops[2].kind == IpvsOp::EditDest);
    CHECK(p.ops[2].dest == &want[0].dests[1]);
    CHECK(p.ops[2].prev == &cur[0].dests[0]);
    CHECK(p.ops[3].kind == IpvsOp::RemoveDest);
    CHECK(p.ops[3].dest == &cur[0].dests[1]);
    CHECK(p.ops[5].kind == IpvsOp::AddService);
    CHECK(p.changes[1].action == Action::Changed);
    CHECK(p.stats.added == 3);
    CHECK(p.stats.changed == 2);
    CHECK(p.stats.removed == 2);
    CHECK(p.stats.unchanged == 0);
    CHECK(p.unchanged.empty());
    // Without prune the extra service stays.
    auto q = ipvs_plan(cur, want, false);
    CHECK(q.ops.size() == 6);
    CHECK(q.changes[0].object == "service fwm 258");
}

TEST_CASE("ipvs_plan: keys: fwmark vs tcp/udp, IPv4 vs IPv6 marks, IPv6 addresses") {
    auto cur = svcs({R"({"fwmark":80,"scheduler":"rr"})", R"({"protocol":"tcp","address":"fd00::1","port":443})"});
    auto want = svcs({R"({"fwmark":80,"family":"ipv6","scheduler":"rr"})",
                      R"({"protocol":"udp","address":"fd00::1","port":443,"dests":[{"address":"fd00::2"}]})",
                      R"({"protocol":"tcp","address":"fd00::1","port":443,"dests":[{"address":"fd00::3","port":8443}]})"});
    auto p = ipvs_plan(cur, want, true);
    CHECK(plan_lines(p) == std::vector<std::string>{
                               "removed service fwm 80",
                               "added service fwm6 80",
                               "added service udp [fd00::1]:443",
                               "added dest [fd00::2]:443 of udp [fd00::1]:443",
                               "added dest [fd00::3]:8443 of tcp [fd00::1]:443",
                           });
    CHECK(p.unchanged == std::vector<std::string>{"tcp [fd00::1]:443"});
    // Persistence settings are compared as the kernel keeps them (netmask -1 == /32).
    auto a = svcs({R"({"fwmark":5,"persistent":true,"timeout":60,"netmask":32})"});
    auto b = svcs({R"({"fwmark":5,"persistent":true,"timeout":60})"});
    CHECK(ipvs_plan(a, b, false).ops.empty());
    b[0].timeout = 61;
    CHECK(plan_lines(ipvs_plan(a, b, false)) == std::vector<std::string>{"edited service fwm 5"});
}

// ---- ipvsadm syntax, shared by the -S reader and the command line ----

TEST_CASE("ipvsadm options: parsers shared by the -S reader and ovnet-ipvs") {
    IpAddr a;
    std::optional<uint32_t> port;
    CHECK(ipvs_parse_addr_port("10.0.0.5:80", a, port));
    CHECK((a.str() == "10.0.0.5" && port == 80u));
    CHECK(ipvs_parse_addr_port("[fd00::1]:443", a, port));
    CHECK((a.str() == "fd00::1" && port == 443u));
    CHECK(ipvs_parse_addr_port("fd00::1", a, port));
    CHECK(!port);
    CHECK(!ipvs_parse_addr_port("10.0.0.5:", a, port));
    CHECK(!ipvs_parse_addr_port("[fd00::1", a, port));
    CHECK(ipvs_parse_netmask("255.255.255.0", AF_INET, "s") == 24);
    CHECK(ipvs_parse_netmask("24", AF_INET, "s") == 24);
    CHECK(ipvs_parse_netmask("32", AF_INET, "s") == -1);
    CHECK(ipvs_parse_netmask("64", AF_INET6, "s") == 64);
    require_input_error([] { ipvs_parse_netmask("255.0.255.0", AF_INET, "s"); }, "contiguous");
    require_input_error([] { ipvs_parse_netmask("255.255.0.0", AF_INET6, "s"); }, "netmask");
    require_input_error([] { ipvs_parse_netmask("33", AF_INET, "s"); }, "netmask");
    bool f = false, p = true;
    ipvs_parse_sched_flags("mh-fallback", f, p, "s");
    CHECK((f && !p));
    require_input_error([&] { ipvs_parse_sched_flags("sh-bogus", f, p, "s"); }, "sh-bogus");

    // A command line and the same words on a -S line give the same service.
    std::vector<std::string> w = {"-A", "-t", "10.0.0.5:80", "-s", "wrr", "-p", "-M", "255.255.255.0"};
    IpvsadmArgs args;
    for (size_t i = 1; i < w.size(); i++) REQUIRE(ipvsadm_take(args, w, i, false, "line"));
    auto s = ipvsadm_service(args);
    CHECK(s.key() == "tcp 10.0.0.5:80");
    CHECK(s.timeout == 360);
    CHECK(s.netmask == 24);
    std::istringstream in("-A -t 10.0.0.5:80 -s wrr -p -M 255.255.255.0\n");
    CHECK(ipvs_parse_ipvsadm(in)[0].to_json() == s.to_json());
    size_t i = 1;
    std::vector<std::string> bad = {"-A", "-r", "10.0.0.2"};
    CHECK(!ipvsadm_take(args, bad, i, false, "line"));   // -r is not an option of -A
    require_input_error([] { IpvsadmArgs none; ipvsadm_key(none); }, "missing -t");
    require_input_error([] { IpvsadmArgs x; x.tcp = "10.0.0.5"; ipvsadm_key(x); }, "port");
    require_input_error([] { IpvsadmArgs x; x.tcp = "10.0.0.5:80"; x.fwmark = "3"; ipvsadm_key(x); }, "only one");
    IpvsadmArgs six;
    six.fwmark = "7", six.six = true;
    CHECK(ipvsadm_key(six).key() == "fwm6 7");
}

TEST_CASE("ipvs_merge_edit: unset options keep their value") {
    auto cur = svc(R"({"protocol":"udp","address":"10.0.0.5","port":53,"scheduler":"sh","sh_fallback":true,
                       "persistent":true,"timeout":30,"netmask":24,
                       "dests":[{"address":"10.0.0.2","forward":"tunnel","tun_type":"gue","tun_port":6080,"weight":3},
                                {"address":"10.0.0.3","u_threshold":10}]})");
    cur.stats.conns = 4;
    IpvsadmArgs a;
    a.udp = "10.0.0.5:53";
    a.persistent = "";   // -p without a value keeps the current timeout
    auto s = ipvs_merge_edit(cur, a);
    CHECK(s.timeout == 30);
    CHECK(s.netmask == 24);
    CHECK(s.scheduler == "sh");
    CHECK(s.sh_fallback);
    CHECK(s.dests.empty());
    a.sched_flags = "sh-port";   // -b replaces both flags
    a.scheduler = "sh";
    a.persistent = "90";
    s = ipvs_merge_edit(cur, a);
    CHECK((!s.sh_fallback && s.sh_port && s.timeout == 90));
    a.sched_flags.reset();
    a.scheduler = "rr";   // flags of sh are refused with rr
    require_input_error([&] { ipvs_merge_edit(cur, a); }, "sh_fallback");

    IpvsadmArgs d;
    d.udp = "10.0.0.5:53";
    d.real = "10.0.0.2";
    d.weight = "5";
    auto x = ipvs_merge_edit_dest(cur, d);
    CHECK((x.weight == 5 && x.fwd == IpvsFwd::Tunnel && x.tun_type == "gue" && x.tun_port == 6080));
    d.gate = true;   // leaving tunnel forwarding drops the tunnel settings
    x = ipvs_merge_edit_dest(cur, d);
    CHECK((x.fwd == IpvsFwd::Route && x.tun_type.empty() && x.tun_port == 0 && x.weight == 5));
    IpvsadmArgs e;
    e.udp = "10.0.0.5:53";
    e.real = "10.0.0.3:53";
    e.l_thresh = "5";
    x = ipvs_merge_edit_dest(cur, e);
    CHECK((x.u_thresh == 10 && x.l_thresh == 5 && x.weight == 1));
    e.l_thresh = "11";
    require_input_error([&] { ipvs_merge_edit_dest(cur, e); }, "l_threshold");
    e.real = "10.0.0.9";
    require_input_error([&] { ipvs_merge_edit_dest(cur, e); }, "no such destination");
}

TEST_CASE("ipvs: /proc/net/ip_vs_conn parses, a firewall-mark connection among them, other lines left out") {
    // as the kernel prints it: a FWM 256 service's connection (the virtual address is the
    // packet's own destination, the real server's port the packet's), a TCP service's, a UDP one
    // with persistence engine data, an IPv6 line, and broken lines
    const char* text =
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
        "TCP 0AFF0008 A1B2 0AFF0005 7530 0AFF0006 7530 SYN_RECV         56\n"
        "TCP C6336410 9C40 AC120002 7530 0AFF0007 7530 ESTABLISHED     899\n"
        "UDP 0A000002 D431 0A000005 0035 0A000003 0035 UDP             298 sip 1234\n"
        "TCP 2001:0db8:0000:0000:0000:0000:0000:0002 A1B2 2001:0db8:0000:0000:0000:0000:0000:0005 0050 2001:0db8:0000:0000:0000:0000:0000:0006 0050 SYN_RECV 56\n"
        "TCP 0AFF0008 A1B2 0AFF0005 7530 0AFF0006 SYN_RECV 56\n"
        "TCP 0AFF00 A1B2 0AFF0005 7530 0AFF0006 7530 SYN_RECV 56\n"
        "TCP 0AFF0008 A1B2 0AFF0005 7530 0AFF0006 753G SYN_RECV 56\n"
        "TCP 0AFF0008 A1B2 0AFF0005 7530 0AFF0006 7530 SYN_RECV soon\n"
        "\n"
        "garbage\n"
        "TCP 0A000002 0001 0A000005 0050 0A000003 0050 CLOSE 3";   // no final newline
    auto v = ipvs_conn_parse(text);
    REQUIRE(v.size() == 4);
    CHECK(v[0].proto == "TCP");
    CHECK(v[0].client.str() == "10.255.0.8");
    CHECK(v[0].cport == 0xA1B2);
    CHECK(v[0].vaddr.str() == "10.255.0.5");
    CHECK(v[0].vport == 30000);
    CHECK(v[0].daddr.str() == "10.255.0.6");
    CHECK(v[0].dport == 30000);
    CHECK(v[0].state == "SYN_RECV");
    CHECK(v[0].expires == 56);
    CHECK(v[1].client.str() == "198.51.100.16");
    CHECK(v[1].cport == 40000);
    CHECK(v[1].vaddr.str() == "172.18.0.2");
    CHECK(v[1].daddr.str() == "10.255.0.7");
    CHECK(v[1].state == "ESTABLISHED");
    CHECK(v[2].proto == "UDP");
    CHECK(v[2].vport == 53);
    CHECK(v[2].state == "UDP");
    CHECK(v[3].state == "CLOSE");
    CHECK(v[3].expires == 3);
    CHECK(ipvs_conn_parse("").empty());
    CHECK(ipvs_conn_parse("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n").empty());
}
