/* The program the local test image runs: it sleeps until told to stop, so the
 * container costs nothing and leaves its limits to the benchmark. Built static. */
#include <signal.h>
#include <unistd.h>

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	/* PID 1 of a container ignores signals it has no handler for: stop on TERM/INT. */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (;;)
		pause();
}
