/* Probe event records as the perf buffer hands them over, whatever their bytes: watch's
 * line, bench's request and written-value matching. */
#include "event_match.h"
#include "cglat_event.h"
#include "fuzz_common.h"
#include "watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cglat_event ev;
	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	/* As tracer.c's on_raw_event hands records over: strings ended, data_len clamped. */
	ev.comm[sizeof(ev.comm) - 1] = '\0';
	ev.parent_comm[sizeof(ev.parent_comm) - 1] = '\0';
	ev.path[sizeof(ev.path) - 1] = '\0';
	if (ev.data_len > sizeof(ev.data))
		ev.data_len = sizeof(ev.data);
	struct watch_line line;
	watch_line_from_event(&ev, 1.0, &line);
	char ref[256], value[CGLAT_DATA_LEN + 1];
	(void)event_parse_update_request(ev.data, ev.data_len, ref, sizeof(ref));
	event_written_value(ev.data, ev.data_len, value, sizeof(value));
	/* The raw bytes too, at any length the caller might pass. */
	if (size > 0) {
		(void)event_parse_update_request((const char *)data, size, ref, sizeof(ref));
		event_written_value((const char *)data, size, value, sizeof(value));
		(void)event_parse_update_request((const char *)data, size, ref, 1 + data[0] % 8);
		event_written_value((const char *)data, size, value, 1 + data[0] % 8);
	}
	return 0;
}
