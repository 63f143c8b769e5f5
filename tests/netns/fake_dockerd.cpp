// A stand-in for dockerd in tests/netns/docker-dirs.test.sh: a process named "dockerd" whose
// command line (--exec-root, --data-root, --config-file) ovnet reads from /proc. It ignores its
// arguments and waits until it is killed.
#include <unistd.h>

int main() {
    for (;;) pause();
}
