// Docker's directories: the pure parsers behind dockerd discovery (command line, daemon.json,
// a container's config.v2.json). No process or file is looked at.
#include "helpers.hpp"
#include "ovnet/docker.hpp"

using namespace ovnet;
using namespace std::string_literals;

TEST_CASE("docker: dockerd command line, both spellings, last one wins", "[docker]") {
    auto a = parse_dockerd_cmdline("/usr/bin/dockerd\0-H\0fd://\0--exec-root\0/run/d2\0--data-root=/srv/d2\0"s);
    CHECK(a.exec_root == "/run/d2");
    CHECK(a.data_root == "/srv/d2");
    CHECK(a.config_file.empty());
    auto b = parse_dockerd_cmdline("dockerd\0--exec-root=/a\0--exec-root\0/b\0--config-file\0/etc/d2.json"s);
    CHECK(b.exec_root == "/b");
    CHECK(b.config_file == "/etc/d2.json");
    CHECK(b.data_root.empty());
    // argv[0] is never an option; "--" ends them; a flag without its value says nothing.
    auto c = parse_dockerd_cmdline("--exec-root=/x\0--\0--exec-root=/y"s);
    CHECK(c.exec_root.empty());
    CHECK(parse_dockerd_cmdline("dockerd\0--exec-root"s).exec_root.empty());
    // Prefixes of another flag are not it.
    CHECK(parse_dockerd_cmdline("dockerd\0--exec-rootx=/z\0--exec-root-opt=/w"s).exec_root.empty());
    CHECK(parse_dockerd_cmdline("").exec_root.empty());
}

TEST_CASE("docker: a dockerd by comm or argv[0]", "[docker]") {
    CHECK(is_dockerd("dockerd", "anything\0"s));
    CHECK(is_dockerd("dockerd-wrapper", "/usr/local/bin/dockerd\0--exec-root\0/x"s));
    CHECK(is_dockerd("x", "dockerd"));
    CHECK_FALSE(is_dockerd("containerd", "/usr/bin/containerd\0"s));
    CHECK_FALSE(is_dockerd("bash", "/bin/bash\0/usr/bin/dockerd"s));   // an argument, not argv[0]
    CHECK_FALSE(is_dockerd("", ""));
}

TEST_CASE("docker: daemon.json keys", "[docker]") {
    auto c = parse_daemon_json(R"({"exec-root": "/run/d2", "data-root": "/srv/d2", "iptables": true})");
    CHECK(c.exec_root == "/run/d2");
    CHECK(c.data_root == "/srv/d2");
    CHECK(parse_daemon_json(R"({"log-level": "debug"})").exec_root.empty());
    CHECK(parse_daemon_json("{not json").exec_root.empty());
    CHECK(parse_daemon_json("[]").data_root.empty());
    CHECK(parse_daemon_json(R"({"exec-root": 3})").exec_root.empty());
    CHECK(parse_daemon_json("").exec_root.empty());
}

TEST_CASE("docker: a container's config.v2.json", "[docker]") {
    auto c = parse_container_config(R"({"ID": "0738", "Name": "/c1", "NetworkSettings":
        {"SandboxID": "073823c14fcf", "SandboxKey": "/var/run/docker/netns/073823c14fcf"}})");
    REQUIRE(c);
    CHECK(c->name == "c1");
    CHECK(c->sandbox_key == "/var/run/docker/netns/073823c14fcf");
    auto stopped = parse_container_config(R"({"Name": "/web.1.x", "NetworkSettings": {"SandboxKey": ""}})");
    REQUIRE(stopped);
    CHECK(stopped->name == "web.1.x");
    CHECK(stopped->sandbox_key.empty());
    CHECK_FALSE(parse_container_config(R"({"ID": "x"})"));
    CHECK_FALSE(parse_container_config("garbage"));
    CHECK_FALSE(parse_container_config(R"({"Name": 7})"));
}

TEST_CASE("docker: the confined daemons of the reference captures", "[docker]") {
    // docker-overlay-facts.md: two dockerd on one machine, each with its own roots.
    auto a = parse_dockerd_cmdline(
        "dockerd\0--data-root\0/var/lib/dk1\0--exec-root\0/run/dk1\0-H\0unix:///run/dk1.sock\0--pidfile\0/run/dk1.pid\0"s);
    CHECK(a.exec_root == "/run/dk1");
    CHECK(a.data_root == "/var/lib/dk1");
    CHECK(a.config_file.empty());
    // systemd's unit: no roots on the command line (daemon.json or the defaults then).
    auto d = parse_dockerd_cmdline("/usr/sbin/dockerd\0-H\0fd://\0--containerd=/run/containerd/containerd.sock\0"s);
    CHECK(d.exec_root.empty());
    CHECK(d.data_root.empty());
    CHECK(is_dockerd("dockerd", "/usr/sbin/dockerd\0-H\0fd://\0"s));
}
