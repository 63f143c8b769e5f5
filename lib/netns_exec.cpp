// Running a program inside a network namespace (clone, setns, execvp), its stdin fed from a
// string and its stdout/stderr collected: what iptables-save/-restore run through.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <tuple>

#include "ovnet/error.hpp"
#include "ovnet/netns.hpp"

extern char** environ;

namespace ovnet {

namespace {

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

/// What the child needs, prepared by the parent: the child allocates nothing.
struct ChildArgs {
    int nsfd, in, out, err;
    char** argv;
    sigset_t mask;   // the parent's signal mask, restored just before exec
    int error = 0;   // why the child did not exec (read once clone returned)
};

/// The child, on its own stack in the parent's memory (CLONE_VM | CLONE_VFORK: the parent waits
/// until it has exec'd or exited). System calls only: no allocation, no lock.
int child_main(void* p) {
    auto* a = static_cast<ChildArgs*>(p);
    // The parent's handlers are its code on its data: none may run here.
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction sa {};
        if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL) {
            sa.sa_handler = SIG_DFL;
            sa.sa_flags = 0;
            ::sigaction(sig, &sa, nullptr);
        }
    }
    ::signal(SIGPIPE, SIG_DFL);   // the parent ignores it while it writes the input
    int e = 0;
    if (a->nsfd >= 0 && ::setns(a->nsfd, CLONE_NEWNET) < 0) e = errno;
    if (!e && (::dup2(a->in, 0) < 0 || ::dup2(a->out, 1) < 0 || ::dup2(a->err, 2) < 0)) e = errno;
    if (!e) {
        ::sigprocmask(SIG_SETMASK, &a->mask, nullptr);
        ::execvpe(a->argv[0], a->argv, environ);
        e = errno;
    }
    a->error = e ? e : EINVAL;
    ::_exit(127);
}

}  // namespace

ExecResult exec_in_netns(const std::string& netns_path, const std::vector<std::string>& argv,
                         const std::string& input) {
    ExecResult res;
    if (argv.empty()) throw_input("exec: empty command");
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    auto cleanup = [&] { for (int* p : {in, out, err}) { close_fd(p[0]); close_fd(p[1]); } };
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) {
        int e = errno;
        cleanup();
        throw_sys(e, "pipe");
    }
    // Opened and checked once (a network namespace, never through a link), closed with `ns`.
    NetnsFile ns;
    try {
        ns = netns_open(netns_path);
    } catch (...) {
        cleanup();
        throw;
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Not fork: copying the caller's page tables (and the copy-on-write faults after) cost more
    // than the exec for a large caller, most of all under emulation (ovnet-lab's restores in the
    // VM: 76 -> 63 ms each). The child runs on this stack until it has exec'd.
    ChildArgs ca{ns.fd(), in[0], out[1], err[1], args.data(), {}};
    constexpr size_t kStack = 256 * 1024;
    void* stack = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int e = errno;
        cleanup();
        throw_sys(e, "mmap");
    }
    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &ca.mask);
    pid_t pid = ::clone(child_main, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &ca);
    int clone_err = errno;
    ::pthread_sigmask(SIG_SETMASK, &ca.mask, nullptr);
    ::munmap(stack, kStack);
    if (pid < 0) {
        cleanup();
        throw_sys(clone_err, "clone");
    }
    close_fd(in[0]);
    close_fd(out[1]);
    close_fd(err[1]);
    auto old = ::signal(SIGPIPE, SIG_IGN);
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t written = 0;
    if (input.empty()) close_fd(in[1]);
    char buf[65536];
    while (out[0] >= 0 || err[0] >= 0 || in[1] >= 0) {
        pollfd p[3];
        int n = 0;
        int io = -1, oo = -1, eo = -1;
        if (in[1] >= 0) { io = n; p[n++] = {in[1], POLLOUT, 0}; }
        if (out[0] >= 0) { oo = n; p[n++] = {out[0], POLLIN, 0}; }
        if (err[0] >= 0) { eo = n; p[n++] = {err[0], POLLIN, 0}; }
        if (::poll(p, n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (io >= 0 && p[io].revents) {
            ssize_t w = ::write(in[1], input.data() + written, input.size() - written);
            if (w > 0) written += size_t(w);
            if (w < 0 && errno != EAGAIN && errno != EINTR) close_fd(in[1]);
            if (written == input.size()) close_fd(in[1]);
        }
        for (auto [idx, fdp, dst] : {std::tuple{oo, &out[0], &res.out}, std::tuple{eo, &err[0], &res.errout}}) {
            if (idx < 0 || !p[idx].revents) continue;
            ssize_t r = ::read(*fdp, buf, sizeof buf);
            if (r > 0) dst->append(buf, size_t(r));
            else if (r == 0 || (errno != EINTR && errno != EAGAIN)) close_fd(*fdp);
        }
    }
    ::signal(SIGPIPE, old);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    cleanup();
    if (ca.error) {
        res.err = ca.error;
        res.status = -1;
        return res;
    }
    res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return res;
}

}  // namespace ovnet
