/*
 * The least a round trip between two processes costs on this machine: a parent and a
 * forked child echo 64 bytes over loopback TCP (TCP_NODELAY) with blocking reads and
 * writes, 5,000 times; prints p50 and p90 in microseconds. The floor under which no
 * mesh's sequential task round trip can go (README, Performance, tasks).
 *
 *   cc -O2 -o /tmp/loopback-floor scripts/loopback-floor.c
 *   unshare --net sh -c 'ip link set lo up; /tmp/loopback-floor'
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { rounds = 5000, size = 64 };

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int read_exactly(int fd, char *buffer, int count) {
    for (int done = 0; done < count;) {
        ssize_t n = read(fd, buffer + done, count - done);
        if (n <= 0) return -1;
        done += n;
    }
    return 0;
}

int main(void) {
    int one = 1;
    char buffer[size];
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0 || listen(listener, 1) != 0) {
        perror("listen");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        int peer = accept(listener, NULL, NULL);
        setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        while (read_exactly(peer, buffer, size) == 0) {
            if (write(peer, buffer, size) != size) break;
        }
        _exit(0);
    }
    int sender = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(sender, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("connect");
        return 1;
    }
    setsockopt(sender, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    double *latency = malloc(rounds * sizeof *latency);
    memset(buffer, 'x', size);
    for (int i = 0; i < rounds; i++) {
        double start = now_us();
        if (write(sender, buffer, size) != size || read_exactly(sender, buffer, size) != 0) {
            perror("round trip");
            return 1;
        }
        latency[i] = now_us() - start;
    }
    qsort(latency, rounds, sizeof *latency, ascending);
    printf("{\"rounds\": %d, \"p50_us\": %.1f, \"p90_us\": %.1f}\n", rounds, latency[rounds / 2], latency[rounds * 9 / 10]);
    close(sender);
    waitpid(child, NULL, 0);
    free(latency);
    return 0;
}
