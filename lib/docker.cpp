#include "ovnet/docker.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "ovnet/fd.hpp"

namespace ovnet {

namespace {

std::vector<std::string_view> split_nul(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        auto z = s.find('\0');
        out.push_back(s.substr(0, z));
        if (z == std::string_view::npos) break;
        s.remove_prefix(z + 1);
    }
    return out;
}

// Docker's state files are small; anything larger than this is not one of them.
constexpr size_t kMaxStateFile = 8u << 20;

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string s;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) break;
        s.append(buf, size_t(n));
        if (s.size() > kMaxStateFile) return std::nullopt;
    }
    return s;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

DockerdArgs parse_dockerd_cmdline(std::string_view cmdline) {
    DockerdArgs a;
    auto args = split_nul(cmdline);
    std::pair<const char*, std::string*> opts[] = {
        {"--exec-root", &a.exec_root}, {"--data-root", &a.data_root}, {"--config-file", &a.config_file}};
    for (size_t i = 1; i < args.size(); i++) {
        std::string_view arg = args[i];
        if (arg == "--") break;
        for (auto& [flag, dst] : opts) {
            std::string_view f = flag;
            if (arg == f) {
                if (i + 1 < args.size()) *dst = std::string(args[++i]);
            } else if (arg.size() > f.size() && arg.substr(0, f.size()) == f && arg[f.size()] == '=') {
                *dst = std::string(arg.substr(f.size() + 1));
            }
        }
    }
    return a;
}

bool is_dockerd(std::string_view comm, std::string_view cmdline) {
    if (comm == "dockerd") return true;
    std::string_view argv0 = cmdline.substr(0, cmdline.find('\0'));
    auto slash = argv0.rfind('/');
    if (slash != std::string_view::npos) argv0.remove_prefix(slash + 1);
    return argv0 == "dockerd";
}

DockerConfig parse_daemon_json(std::string_view text) {
    DockerConfig c;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return c;
    if (auto it = j.find("exec-root"); it != j.end() && it->is_string()) c.exec_root = it->get<std::string>();
    if (auto it = j.find("data-root"); it != j.end() && it->is_string()) c.data_root = it->get<std::string>();
    return c;
}

std::optional<DockerContainer> parse_container_config(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    auto n = j.find("Name");
    if (n == j.end() || !n->is_string()) return std::nullopt;
    DockerContainer c;
    c.name = n->get<std::string>();
    if (!c.name.empty() && c.name[0] == '/') c.name.erase(0, 1);
    if (auto ns = j.find("NetworkSettings"); ns != j.end() && ns->is_object())
        if (auto k = ns->find("SandboxKey"); k != ns->end() && k->is_string()) c.sandbox_key = k->get<std::string>();
    return c;
}

std::vector<Dockerd> dockerd_list() {
    std::vector<Dockerd> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    struct stat self_mnt;
    bool have_self = ::stat("/proc/self/ns/mnt", &self_mnt) == 0;
    std::vector<int> pids;
    while (auto* e = ::readdir(d)) {
        char* end;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end == 0 && pid > 0) pids.push_back(int(pid));
    }
    ::closedir(d);
    std::sort(pids.begin(), pids.end());
    for (int pid : pids) {
        std::string proc = "/proc/" + std::to_string(pid);
        auto comm = read_file(proc + "/comm");
        if (!comm) continue;
        while (!comm->empty() && comm->back() == '\n') comm->pop_back();
        auto cmdline = read_file(proc + "/cmdline");
        if (!cmdline || !is_dockerd(*comm, *cmdline)) continue;
        Dockerd dk;
        dk.pid = pid;
        struct stat mnt;
        if (have_self && ::stat((proc + "/ns/mnt").c_str(), &mnt) == 0 && !same_file(mnt, self_mnt)) dk.root = proc + "/root";
        DockerdArgs a = parse_dockerd_cmdline(*cmdline);
        if (a.exec_root.empty() || a.data_root.empty()) {
            std::string cfg = a.config_file.empty() ? kDockerDefaultConfig : a.config_file;
            // A relative --config-file is relative to the daemon's working directory.
            std::string from_here = cfg[0] == '/' ? dk.root + cfg : proc + "/cwd/" + cfg;
            if (auto text = read_file(from_here)) {
                DockerConfig c = parse_daemon_json(*text);
                if (a.exec_root.empty()) a.exec_root = c.exec_root;
                if (a.data_root.empty()) a.data_root = c.data_root;
            }
        }
        dk.exec_root = a.exec_root.empty() ? kDockerDefaultExecRoot : a.exec_root;
        dk.data_root = a.data_root.empty() ? kDockerDefaultDataRoot : a.data_root;
        out.push_back(std::move(dk));
    }
    return out;
}

namespace {
std::mutex g_mu;
std::vector<std::string> g_added;
std::optional<std::vector<std::string>> g_dirs;
std::optional<std::vector<Dockerd>> g_daemons;

const std::vector<Dockerd>& daemons_locked() {
    if (!g_daemons) g_daemons = dockerd_list();
    return *g_daemons;
}
}  // namespace

void docker_netns_dirs_add(const std::string& dir) {
    std::lock_guard l(g_mu);
    g_added.push_back(dir);
    g_dirs.reset();
}

std::vector<std::string> docker_netns_dirs() {
    std::lock_guard l(g_mu);
    if (g_dirs) return *g_dirs;
    std::vector<std::string> cand = g_added;
    if (const char* env = std::getenv(kDockerNetnsDirEnv)) {
        std::string_view s = env;
        while (!s.empty()) {
            auto c = s.find(':');
            if (c != 0) cand.emplace_back(s.substr(0, c));
            if (c == std::string_view::npos) break;
            s.remove_prefix(c + 1);
        }
    }
    for (auto& dk : daemons_locked()) cand.push_back(dk.netns_dir());
    cand.push_back(std::string(kDockerDefaultExecRoot) + "/netns");
    std::vector<std::string> out;
    std::vector<struct stat> seen;
    for (auto& p : cand) {
        struct stat st;
        if (::stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (std::any_of(seen.begin(), seen.end(), [&](auto& s) { return same_file(s, st); })) continue;
        seen.push_back(st);
        std::string d = p;
        while (d.size() > 1 && d.back() == '/') d.pop_back();
        out.push_back(std::move(d));
    }
    g_dirs = out;
    return out;
}

std::optional<std::string> docker_container_of(const std::string& netns_path) {
    struct Entry {
        struct stat st;
        std::string name;
    };
    static std::optional<std::vector<Entry>> containers;
    std::lock_guard l(g_mu);
    if (!containers) {
        containers.emplace();
        for (auto& dk : daemons_locked()) {
            std::string dir = dk.data_dir() + "/containers";
            DIR* d = ::opendir(dir.c_str());
            if (!d) continue;
            while (auto* e = ::readdir(d)) {
                std::string id = e->d_name;
                if (id == "." || id == "..") continue;
                auto text = read_file(dir + "/" + id + "/config.v2.json");
                if (!text) continue;
                auto c = parse_container_config(*text);
                if (!c || c->sandbox_key.empty() || c->sandbox_key[0] != '/') continue;
                Entry en;
                if (::stat((dk.root + c->sandbox_key).c_str(), &en.st) != 0) continue;
                en.name = c->name;
                containers->push_back(std::move(en));
            }
            ::closedir(d);
        }
    }
    struct stat st;
    if (containers->empty() || ::stat(netns_path.c_str(), &st) != 0) return std::nullopt;
    for (auto& en : *containers)
        if (same_file(en.st, st)) return en.name;
    return std::nullopt;
}

}  // namespace ovnet
