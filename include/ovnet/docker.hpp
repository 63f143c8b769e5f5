// ovnet/docker.hpp - where Docker keeps its network namespaces and containers, found on the running
// machine (every dockerd's --exec-root/--data-root, its daemon.json, its mount namespace), never
// assumed to be /var/run/docker.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ovnet {

/// dockerd's defaults, used when neither its command line nor its daemon.json names a directory.
inline constexpr const char* kDockerDefaultExecRoot = "/var/run/docker";
inline constexpr const char* kDockerDefaultDataRoot = "/var/lib/docker";
inline constexpr const char* kDockerDefaultConfig = "/etc/docker/daemon.json";
/// The environment variable naming more Docker netns directories, ':'-separated.
inline constexpr const char* kDockerNetnsDirEnv = "OVNET_DOCKER_NETNS_DIR";

/// What a dockerd command line says about its directories; "" where it says nothing.
struct DockerdArgs {
    std::string exec_root;     ///< --exec-root X | --exec-root=X
    std::string data_root;     ///< --data-root X | --data-root=X
    std::string config_file;   ///< --config-file X | --config-file=X
};

/// Parses /proc/<pid>/cmdline bytes (arguments separated by NUL; argv[0] is skipped). The last
/// occurrence of an option wins, as with dockerd's own flag parser; "--" ends the options. Pure.
DockerdArgs parse_dockerd_cmdline(std::string_view cmdline);

/// True when a process is a Docker daemon: its comm (/proc/<pid>/comm, without the newline) is
/// "dockerd", or the base name of argv[0] (first NUL-separated field of `cmdline`) is. Pure.
bool is_dockerd(std::string_view comm, std::string_view cmdline);

/// The directories a daemon.json names ("exec-root", "data-root"); "" where it names none. A text
/// that is not a JSON object gives both empty (dockerd would not have started with it). Pure.
struct DockerConfig {
    std::string exec_root;
    std::string data_root;
};
DockerConfig parse_daemon_json(std::string_view text);

/// A container as Docker's state on disk (<data-root>/containers/<id>/config.v2.json) describes
/// it: its name without the leading '/', and NetworkSettings.SandboxKey, the path of its network
/// namespace as the daemon sees it ("" when it has none). nullopt for a text that is not such a
/// JSON object or has no "Name". Pure.
struct DockerContainer {
    std::string name;
    std::string sandbox_key;
};
std::optional<DockerContainer> parse_container_config(std::string_view text);

/// A running Docker daemon and the directories it uses.
struct Dockerd {
    int pid = 0;
    /// "" when the daemon shares our mount namespace (/proc/<pid>/ns/mnt is ours), else
    /// "/proc/<pid>/root": its directories are reachable only through that prefix.
    std::string root;
    std::string exec_root;     ///< as the daemon sees it (command line, daemon.json, default)
    std::string data_root;     ///< likewise
    std::string netns_dir() const { return root + exec_root + "/netns"; }   ///< from here
    std::string data_dir() const { return root + data_root; }                ///< from here
};

/// Every running dockerd (a scan of /proc/*), in PID order. Processes that vanish or cannot be
/// read during the scan are skipped.
std::vector<Dockerd> dockerd_list();

/// Adds a directory for docker_netns_dirs() to list first (the tools' --docker-netns-dir DIR,
/// repeatable; order kept).
void docker_netns_dirs_add(const std::string& dir);

/// Docker's namespace directories, in this order: those given to docker_netns_dirs_add(), those in
/// $OVNET_DOCKER_NETNS_DIR (':'-separated), <exec-root>/netns of every running dockerd (with its
/// /proc/<pid>/root prefix when it runs in another mount namespace), then /var/run/docker/netns.
/// Only existing directories, each once (by st_dev/st_ino: /var/run/docker/netns and
/// /run/docker/netns are one). Computed once per process (again after docker_netns_dirs_add).
std::vector<std::string> docker_netns_dirs();

/// The name of the container whose network namespace is the file `netns_path` (matched by the
/// identity of the namespace file against each container's SandboxKey, under every running
/// daemon's data root), or nullopt when no container of a running daemon has it. Docker's state is
/// read once per process.
std::optional<std::string> docker_container_of(const std::string& netns_path);

}  // namespace ovnet
