/* A workload for cglat run's tests: `alloc MB` touches MB MiB of memory page by page
 * (and holds it for a moment), `spin SECONDS` burns CPU for that long of wall time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "alloc") == 0)
		return alloc(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "spin") == 0)
		return spin(atof(argv[2]));
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	fprintf(stderr, "usage: workload alloc MB | spin SECONDS | exit CODE\n");
	return 2;
}
