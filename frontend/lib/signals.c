#include "signals.h"

#include <signal.h>
#include <string.h>

/* The only global mutable state of cglat: which signal asked it to stop. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_count;

static void on_stop_signal(int sig)
{
	stop_requested = sig;
	if (stop_count < 1000)
		stop_count++;
}

void signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int signals_stop_requested(void)
{
	return stop_requested;
}

int signals_stop_count(void)
{
	return stop_count;
}

const char *signals_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}
