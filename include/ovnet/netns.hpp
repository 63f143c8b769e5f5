// ovnet/netns.hpp - network namespaces: resolving names, entering, creating, listing, running a
// program inside one.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "ovnet/fd.hpp"

namespace ovnet {

/// Where named namespaces live: ip-netns style, and Docker's default directory (Docker's
/// directories on this machine are docker_netns_dirs(), ovnet/docker.hpp).
inline constexpr const char* kNetnsDir = "/run/netns";
inline constexpr const char* kDockerNetnsDir = "/var/run/docker/netns";

/// Resolves a -n argument to a namespace file.
///
/// "" means the caller's current namespace (returns ""). An absolute path is taken as is. A plain
/// name is looked up in /run/netns, then in each of Docker's directories (docker_netns_dirs():
/// ingress_sbox, 1-<id>, lb_<id>, container sandboxes). Names holding '/' or "..", names that
/// exist nowhere, and a name that two Docker directories hold (two daemons on one machine:
/// "ambiguous: A and B (give the path)") raise Error(Input). The file is opened and checked as
/// netns_open() does (symbolic links in those directories are refused, a file that is not a
/// network namespace is Error(Input)); use netns_open() to keep the checked file.
std::string netns_resolve(const std::string& name);

/// The entries a plain namespace name (no '/') could mean: /run/netns/NAME alone when it exists,
/// else NAME in each of Docker's directories that holds it (more than one: ambiguous). Entries are
/// looked at with lstat (a link counts; opening it is refused later). No check of the name.
std::vector<std::string> netns_find(const std::string& name);

/// An open network namespace file: the one descriptor that was checked is the one entered, so a
/// name swapped for another file after the check cannot redirect the caller. Move-only; closes
/// its descriptor. A default-constructed one (fd() < 0) stands for the caller's namespace.
class NetnsFile {
public:
    NetnsFile() = default;
    NetnsFile(int fd, std::string path, std::string name) : fd_(fd), path_(std::move(path)), name_(std::move(name)) {}

    int fd() const { return fd_.get(); }                  ///< -1 for the caller's namespace
    const std::string& path() const { return path_; }     ///< resolved file, "" = current
    const std::string& name() const { return name_; }     ///< as given (for messages)

private:
    Fd fd_;
    std::string path_, name_;
};

/// Resolves `name` as netns_resolve() does and opens it once. Entries of /run/netns and of every
/// one of Docker's directories (also when given as a path) are opened without following a symbolic link (a link there is
/// Error(Input) "is a symbolic link"); the opened file must be a network namespace (nsfs, type
/// CLONE_NEWNET), else Error(Input) "not a network namespace". Lacking the privilege to open it
/// is Error(Runtime) naming the missing capability. "" gives the caller's namespace.
NetnsFile netns_open(const std::string& name);

/// RAII: enters a namespace on construction and always returns to the original one on
/// destruction. An empty path (or a NetnsFile for the caller's namespace) is a no-op guard.
class NetnsGuard {
public:
    /// Opens `path` with netns_open() and enters it.
    explicit NetnsGuard(const std::string& path);
    /// Enters the already opened namespace (setns on its descriptor).
    explicit NetnsGuard(const NetnsFile& ns);
    ~NetnsGuard();
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;

private:
    void enter(const NetnsFile& ns);
    Fd saved_;
};

/// How views name the namespace at the other end of a veth (PeerRef::netns, EndpointPeer::netns):
/// "" the namespace that was read, its NetnsInfo::label ("h1", "ingress_sbox", or the path when
/// two directories hold that name) for a named one, "root" for
/// PID 1's, and "nsid:N" for one no name leads to (N: its id as seen from the namespace read).
inline constexpr const char* kNetnsRootLabel = "root";
/// PID 1's namespace: what the "root" label opens.
inline constexpr const char* kNetnsRootPath = "/proc/1/ns/net";
/// "root".
std::string netns_label_root();
/// "nsid:N".
std::string netns_label_nsid(int nsid);
/// True for an "nsid:N" label: a namespace that cannot be opened by name.
bool netns_label_is_nsid(std::string_view label);
/// What to give Handle or netns_resolve for a label: /proc/1/ns/net for "root", "" for "" and
/// for "nsid:N" (check netns_label_is_nsid first), the name (or path) otherwise.
std::string netns_label_path(std::string_view label);

/// True when the calling thread holds capability `cap` (CAP_SYS_ADMIN...) in its effective set
/// (capget(2)); true as well when that cannot be told. Used only to explain an EPERM.
bool has_capability(int cap);
/// The one-line explanation of an EPERM/EACCES for `what` ("entering namespace h1") when `cap`
/// is missing: "entering namespace h1 needs CAP_SYS_ADMIN (run as root)"; "" when the caller
/// holds it (then the failure has another cause and the errno tells it).
std::string missing_capability(int cap, const std::string& what);

/// RAII: an exclusive advisory lock (flock) on one network namespace, held until destruction, so
/// that ovnet's mutating verbs on one namespace run one after the other: each takes it before it
/// reads the state it plans from and keeps it until its writes are done. `netns_path` is a
/// resolved namespace file (netns_resolve), "" for the caller's namespace (/proc/self/ns/net).
/// The lock file is netns_lock_file(netns_path); the constructor blocks until the lock is free, and
/// the destructor removes the file (none stays behind per namespace once locked).
/// A caller that may not create the lock file (EACCES, EPERM, EROFS: it cannot change a
/// namespace either) runs unlocked (held() false). Tools outside ovnet do not take it.
class NetnsLock {
public:
    explicit NetnsLock(const std::string& netns_path);
    /// Removes the lock file, then unlocks (a waiter on the removed file opens the path again).
    ~NetnsLock();
    NetnsLock(NetnsLock&&) noexcept = default;
    NetnsLock& operator=(NetnsLock&&) = delete;
    bool held() const noexcept { return bool(fd_); }

private:
    Fd fd_;
    std::string file_;
};

/// The lock file of a namespace: $OVNET_STATE_DIR/netns-<st_dev>-<st_ino>.lock (default
/// /run/ovnet), named by the namespace file's identity, not its name: a name can be reused for
/// another namespace, and one namespace has several names (/run/netns/X, /proc/PID/ns/net).
std::string netns_lock_file(const std::string& netns_path);

/// A named namespace as listed by netns_list().
struct NetnsInfo {
    std::string name;    ///< file name ("h1", "ingress_sbox") or netns_label_root() for PID 1's namespace
    std::string path;    ///< the bind-mounted file, or /proc/1/ns/net
    std::string source;  ///< "netns" (/run/netns), "docker" (one of docker_netns_dirs()), or "root"
    /// How views name it (veth peers, link-netns): the name when no other listed directory holds
    /// it (then -n NAME opens it), else the absolute path; "root" for PID 1's.
    std::string label;
};

/// Namespaces in /run/netns, then in each of Docker's directories (docker_netns_dirs(), in that
/// order), each directory sorted by name; symbolic links are not entries and are left out. With
/// include_root, PID 1's namespace is added as "root" (used to name veth peers there).
std::vector<NetnsInfo> netns_list(bool include_root = false);

/// The source a namespace file's directory stands for: "netns" (/run/netns), "docker" (one of
/// docker_netns_dirs()), or "path" (anywhere else).
std::string netns_source(const std::string& path);

/// Creates /run/netns/NAME the way `ip netns add` does (shared bind mount of a fresh namespace,
/// loopback left down as the kernel creates it). Returns false if it already exists.
bool netns_add(const std::string& name);

/// Deletes /run/netns/NAME like `ip netns del` (lazy unmount, then unlink), also a stale entry
/// that is no longer a mounted namespace. Never acts through a symbolic link: a link there is
/// Error(Input) and neither it nor its target is touched. Returns false if it did not exist.
bool netns_del(const std::string& name);

/// Validates a namespace name for creation (1..255 bytes, no '/', not "." or "..").
void validate_netns_name(const std::string& name);

/// Reads a sysctl ("net.ipv4.ip_forward") as seen from inside the namespace at `path`.
std::string sysctl_get(const std::string& netns_path, const std::string& key);
/// Writes a sysctl inside the namespace. Returns false if it already had that value.
bool sysctl_set(const std::string& netns_path, const std::string& key, const std::string& value);
/// sysctl_get of several keys, the namespace entered once (all keys validated first).
std::vector<std::string> sysctl_get_many(const std::string& netns_path, const std::vector<std::string>& keys);
/// sysctl_set of several (key, value) in order, the namespace entered once; every key validated
/// and read (a missing one is Error(Input)) before the first write. For each, whether it was
/// written (false: it had that value).
std::vector<bool> sysctl_set_many(const std::string& netns_path,
                                  const std::vector<std::pair<std::string, std::string>>& settings);
/// Throws Error(Input) unless key is a well-formed net.* sysctl name.
void validate_sysctl_key(const std::string& key);

/// Runs argv inside the namespace (fork, setns, execvp), feeding `input` on stdin; collects
/// stdout and stderr. Returns the exit status (or 128+signal); -1 with errno-like `err` set
/// when the program could not be started (e.g. ENOENT).
struct ExecResult {
    int status = -1;
    int err = 0;
    std::string out, errout;
};
ExecResult exec_in_netns(const std::string& netns_path, const std::vector<std::string>& argv,
                         const std::string& input = {});

}  // namespace ovnet
