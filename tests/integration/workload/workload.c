/* A workload for cglat run's and monitor's tests: `alloc MB` touches MB MiB of memory
 * page by page (and holds it for a moment), `spin SECONDS` burns CPU for that long of
 * wall time, `grow ANON_MB CACHE_MB SECONDS` grows anonymous memory to ANON_MB over
 * the first half of SECONDS while it reads a CACHE_MB file over and over (page cache
 * charged to its cgroup, which a lowered limit makes the kernel reclaim), and for
 * cglat watch's tests `write CALL FILE VALUE [COUNT]` writes VALUE to FILE with CALL
 * (write, pwrite64, writev, pwritev, pwritev2; the vectored calls hand over VALUE
 * and a newline as two iovecs), COUNT times (default once, more for a burst), and
 * prints "ret N" of the last. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int alloc(long mb)
{
	size_t len = (size_t)mb << 20;
	char *p = malloc(len);
	if (!p) {
		perror("workload: malloc");
		return 1;
	}
	long page = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < len; i += (size_t)page)
		p[i] = (char)i | 1;
	printf("workload: touched %ld MiB\n", mb);
	fflush(stdout);
	usleep(100000);
	free(p);
	return 0;
}

static int spin(double seconds)
{
	volatile unsigned long x = 0;
	double end = now() + seconds;
	while (now() < end)
		for (int i = 0; i < 10000; i++)
			x += (unsigned long)i;
	(void)x; /* read once: clang counts a volatile only written as unused */
	return 0;
}

/* Reads the whole file once; the pages stay in the page cache. */
static void read_file(int fd, char *buf, size_t len)
{
	lseek(fd, 0, SEEK_SET);
	while (read(fd, buf, len) > 0)
		;
}

static int grow(long anon_mb, long cache_mb, double seconds)
{
	char path[] = "/tmp/cglat-workload-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("workload: mkstemp");
		return 1;
	}
	unlink(path);
	static char buf[1 << 20];
	memset(buf, 'x', sizeof(buf));
	for (long i = 0; i < cache_mb; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			perror("workload: write");
			return 1;
		}
	size_t len = (size_t)anon_mb << 20, done = 0;
	char *p = malloc(len ? len : 1);
	if (!p) {
		perror("workload: malloc");
		return 1;
	}
	long page = sysconf(_SC_PAGESIZE);
	double start = now(), end = start + seconds;
	while (now() < end) {
		/* Anonymous memory grows linearly over the first half. */
		double f = (now() - start) / (seconds / 2);
		size_t want = f >= 1 ? len : (size_t)((double)len * f);
		for (; done < want; done += (size_t)page)
			p[done] = (char)done | 1;
		read_file(fd, buf, sizeof(buf));
		usleep(20000);
	}
	free(p);
	close(fd);
	return 0;
}

/* One write of value to path with the named call. The vectored ones go through
 * syscall(2), so that the call made is the one named, whatever the C library does. */
static int write_call(const char *call, const char *path, const char *value, long count)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "workload: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	size_t len = strlen(value);
	struct iovec iov[2] = {{(void *)value, len}, {"\n", 1}};
	long ret = -1;
	for (long i = 0; i < count; i++) {
		if (strcmp(call, "write") == 0)
			ret = syscall(SYS_write, fd, value, len);
		else if (strcmp(call, "pwrite64") == 0)
			ret = syscall(SYS_pwrite64, fd, value, len, 0L);
		else if (strcmp(call, "writev") == 0)
			ret = syscall(SYS_writev, fd, iov, 2);
		else if (strcmp(call, "pwritev") == 0)
			ret = syscall(SYS_pwritev, fd, iov, 2, 0L, 0L);
		else if (strcmp(call, "pwritev2") == 0)
			ret = syscall(SYS_pwritev2, fd, iov, 2, 0L, 0L, 0);
		else {
			fprintf(stderr, "workload: unknown write call %s\n", call);
			close(fd);
			return 2;
		}
		if (ret < 0)
			break;
	}
	if (ret < 0) {
		fprintf(stderr, "workload: %s of \"%s\" to %s: %s\n", call, value, path,
		        strerror(errno));
		close(fd);
		return 1;
	}
	printf("ret %ld\n", ret);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "write") == 0)
		return write_call(argv[2], argv[3], argv[4], argc == 6 ? atol(argv[5]) : 1);
	if (argc == 5 && strcmp(argv[1], "grow") == 0)
		return grow(atol(argv[2]), atol(argv[3]), atof(argv[4]));
	if (argc == 3 && strcmp(argv[1], "alloc") == 0)
		return alloc(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "spin") == 0)
		return spin(atof(argv[2]));
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	fprintf(stderr, "usage: workload alloc MB | spin SECONDS | exit CODE | "
	                "grow ANON_MB CACHE_MB SECONDS | write CALL FILE VALUE [COUNT]\n");
	return 2;
}
