/* net_helpers: what the unit tests that speak HTTP to a server of ours on
 * loopback share. static inline, like fs_helpers.h. */
#ifndef IDL_TEST_NET_HELPERS_H
#define IDL_TEST_NET_HELPERS_H

#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib.h>

/* A TCP connection to 127.0.0.1:port (blocking connect; the server runs on
 * this thread's loop, and the kernel completes the handshake). */
static inline int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	return fd;
}

#endif
