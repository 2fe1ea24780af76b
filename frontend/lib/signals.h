/* SIGINT/SIGTERM ask a running subcommand to stop and clean up. */
#ifndef CGLAT_SIGNALS_H
#define CGLAT_SIGNALS_H

/* Installs handlers without SA_RESTART, so blocking calls return EINTR and
 * loops see the request promptly. */
void signals_install(void);

/* The signal that asked to stop, 0 when none. */
int signals_stop_requested(void);

/* How many SIGINT/SIGTERM arrived: a second one cuts a clean-up wait short. */
int signals_stop_count(void);

/* "SIGINT", "SIGTERM", ... */
const char *signals_name(int sig);

#endif
