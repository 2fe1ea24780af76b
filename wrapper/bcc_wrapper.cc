// The only C++ in cglat: forwards to ebpf::BPF and turns StatusTuple and
// exceptions into return values plus a message.
#include "bcc_wrapper.h"

#include <bcc/BPF.h>
#include <bcc/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

struct bccw {
	std::unique_ptr<ebpf::BPF> bpf;
	std::string error;
	std::vector<std::string> perf_tables;
	std::vector<int> tracepoint_fds; // perf events this wrapper attached, closed together
	std::vector<int> raw_tracepoint_fds;
	bool loaded = false;
};

namespace
{

// libbcc and clang print to fd 2: compiler diagnostics, which belong in the
// error message, and per-program noise ("sha1 socket not available" when
// AF_ALG is missing), which does not. Capture fd 2 while BCC works.
class StderrCapture
{
      public:
	StderrCapture()
	{
		std::fflush(stderr);
		tmp_ = std::tmpfile();
		saved_ = tmp_ ? dup(2) : -1;
		if (saved_ >= 0)
			dup2(fileno(tmp_), 2);
	}
	~StderrCapture()
	{
		restore();
		if (tmp_)
			std::fclose(tmp_);
	}
	// Restores fd 2 and returns what was written, noise lines dropped.
	std::string text()
	{
		restore();
		std::string out;
		if (!tmp_)
			return out;
		std::rewind(tmp_);
		char line[1024];
		while (std::fgets(line, sizeof(line), tmp_)) {
			if (std::strstr(line, "sha1 socket not available") ||
			    std::strstr(line, "cannot get prog tag"))
				continue;
			out += line;
		}
		while (!out.empty() && out.back() == '\n')
			out.pop_back();
		return out;
	}

      private:
	void restore()
	{
		if (saved_ < 0)
			return;
		std::fflush(stderr);
		dup2(saved_, 2);
		close(saved_);
		saved_ = -1;
	}
	std::FILE *tmp_ = nullptr;
	int saved_ = -1;
};

int fail(bccw *b, const std::string &msg)
{
	b->error = msg;
	return -1;
}

int check(bccw *b, const ebpf::StatusTuple &st, const std::string &what)
{
	if (st.ok()) {
		b->error.clear();
		return 0;
	}
	return fail(b, what + ": " + st.msg());
}

template <typename F> int guarded(bccw *b, const char *what, F &&f)
{
	if (!b)
		return -1;
	try {
		return f();
	} catch (const std::exception &e) {
		return fail(b, std::string(what) + ": " + e.what());
	} catch (...) {
		return fail(b, std::string(what) + ": unknown C++ exception");
	}
}

int table_fd(bccw *b, const char *table)
{
	if (!b->loaded)
		return fail(b, "no probe program is loaded");
	ebpf::BPFTable t = b->bpf->get_table(table);
	int fd = t.get_fd();
	if (fd < 0)
		return fail(b, std::string("no BPF table named ") + table);
	return fd;
}

} // namespace

namespace
{

struct bccw *bccw_new(void)
{
	try {
		auto *b = new bccw();
		b->bpf = std::make_unique<ebpf::BPF>();
		return b;
	} catch (...) {
		return nullptr;
	}
}

int bccw_load(struct bccw *b, const char *source, const char *const *cflags, size_t ncflags)
{
	return guarded(b, "compiling the probes", [&] {
		std::vector<std::string> flags(cflags, cflags + ncflags);
		StderrCapture capture;
		auto st = b->bpf->init(source, flags);
		std::string diagnostics = capture.text();
		if (!st.ok()) {
			std::string msg = st.msg();
			if (!diagnostics.empty())
				msg += "\n" + diagnostics;
			return fail(b, "compiling the probes: " + msg);
		}
		b->loaded = true;
		return 0;
	});
}

// Attached here rather than through BPF::attach_tracepoint so that the wrapper holds
// the perf event fds and can close them all at once (bccw_free).
int bccw_attach_tracepoint(struct bccw *b, const char *tracepoint, const char *fn)
{
	return guarded(b, "attaching a tracepoint", [&] {
		std::string tp(tracepoint);
		size_t colon = tp.find(':');
		if (colon == std::string::npos || colon == 0 || colon + 1 == tp.size())
			return fail(b, "tracepoint " + tp + " is not category:event");
		int prog_fd = -1;
		StderrCapture capture; // program load happens here, with its noise
		auto st = b->bpf->load_func(fn, BPF_PROG_TYPE_TRACEPOINT, prog_fd);
		std::string diagnostics = capture.text();
		if (check(b, st, std::string("attaching tracepoint ") + tracepoint) < 0) {
			if (!diagnostics.empty())
				b->error += "\n" + diagnostics;
			return -1;
		}
		std::string category = tp.substr(0, colon), event = tp.substr(colon + 1);
		int fd = bpf_attach_tracepoint(prog_fd, category.c_str(), event.c_str());
		if (fd < 0)
			return fail(b, std::string("attaching tracepoint ") + tracepoint + ": " +
			                       std::strerror(errno));
		b->tracepoint_fds.push_back(fd);
		return 0;
	});
}

int bccw_attach_raw_tracepoint(struct bccw *b, const char *event, const char *fn)
{
	return guarded(b, "attaching a raw tracepoint", [&] {
		int prog_fd = -1;
		StderrCapture capture;
		auto st = b->bpf->load_func(fn, BPF_PROG_TYPE_RAW_TRACEPOINT, prog_fd);
		std::string diagnostics = capture.text();
		if (check(b, st, std::string("attaching raw tracepoint ") + event) < 0) {
			if (!diagnostics.empty())
				b->error += "\n" + diagnostics;
			return -1;
		}
		int fd = bpf_attach_raw_tracepoint(prog_fd, event);
		if (fd < 0)
			return fail(b, std::string("attaching raw tracepoint ") + event + ": " +
			                       std::strerror(errno));
		b->raw_tracepoint_fds.push_back(fd);
		return 0;
	});
}

int bccw_attach_kprobe(struct bccw *b, const char *symbol, const char *fn, int is_return)
{
	return guarded(b, "attaching a kprobe", [&] {
		auto type = is_return ? BPF_PROBE_RETURN : BPF_PROBE_ENTRY;
		StderrCapture capture;
		auto st = b->bpf->attach_kprobe(symbol, fn, 0, type);
		std::string diagnostics = capture.text();
		if (check(b, st,
		          std::string(is_return ? "attaching kretprobe " : "attaching kprobe ") +
		                  symbol) < 0 &&
		    !diagnostics.empty())
			b->error += "\n" + diagnostics;
		return st.ok() ? 0 : -1;
	});
}

int bccw_open_perf_buffer(struct bccw *b, const char *table, bccw_event_cb cb, bccw_lost_cb lost,
                          void *ctx, int page_cnt, int wakeup_events)
{
	return guarded(b, "opening a perf buffer", [&] {
		// bccw_event_cb has the same shape as perf_reader_raw_cb: (cookie, raw, size).
		auto raw = reinterpret_cast<perf_reader_raw_cb>(cb);
		auto lost_raw = reinterpret_cast<perf_reader_lost_cb>(lost);
		auto st = b->bpf->open_perf_buffer(table, raw, lost_raw, ctx, page_cnt);
		if (check(b, st, std::string("opening perf buffer ") + table) < 0)
			return -1;
		if (wakeup_events > 1) {
			// ebpf::BPF opens with wakeup_events 1; reopen with the caller's.
			ebpf::BPFPerfBuffer *pb = b->bpf->get_perf_buffer(table);
			if (!pb)
				return fail(b, std::string("perf buffer ") + table + " vanished");
			if (check(b, pb->close_all_cpu(), "reopening perf buffer") < 0 ||
			    check(b, pb->open_all_cpu(raw, lost_raw, ctx, page_cnt, wakeup_events),
			          std::string("opening perf buffer ") + table) < 0)
				return -1;
		}
		b->perf_tables.emplace_back(table);
		return 0;
	});
}

int bccw_poll(struct bccw *b, int timeout_ms)
{
	return guarded(b, "polling perf buffers", [&] {
		int ready = 0;
		for (const auto &t : b->perf_tables) {
			int r = b->bpf->poll_perf_buffer(t, timeout_ms);
			if (r < 0)
				return fail(b, "polling perf buffer " + t + " failed");
			ready += r;
		}
		return ready;
	});
}

int bccw_consume(struct bccw *b)
{
	return guarded(b, "reading perf buffers", [&] {
		for (const auto &t : b->perf_tables) {
			ebpf::BPFPerfBuffer *pb = b->bpf->get_perf_buffer(t);
			if (!pb)
				return fail(b, "perf buffer " + t + " is not open");
			pb->consume();
		}
		return 0;
	});
}

int bccw_table_update(struct bccw *b, const char *table, const void *key, const void *value)
{
	return guarded(b, "updating a table", [&] {
		int fd = table_fd(b, table);
		if (fd < 0)
			return -1;
		if (bpf_update_elem(fd, const_cast<void *>(key), const_cast<void *>(value), 0) < 0)
			return fail(b, std::string("updating table ") + table + " failed");
		return 0;
	});
}

int bccw_table_delete(struct bccw *b, const char *table, const void *key)
{
	return guarded(b, "deleting from a table", [&] {
		int fd = table_fd(b, table);
		if (fd < 0)
			return -1;
		return bpf_delete_elem(fd, const_cast<void *>(key)) < 0 ? -1 : 0;
	});
}

int bccw_table_lookup(struct bccw *b, const char *table, const void *key, void *value)
{
	return guarded(b, "reading a table", [&] {
		int fd = table_fd(b, table);
		if (fd < 0)
			return -1;
		return bpf_lookup_elem(fd, const_cast<void *>(key), value) < 0 ? -1 : 0;
	});
}

const char *bccw_last_error(const struct bccw *b)
{
	return b ? b->error.c_str() : "out of memory";
}

// Closing a perf event that carries a BPF program unregisters its tracepoint, and the
// kernel waits for a grace period under its event mutex (70-80 ms here), one event
// after another however many threads close them. A raw tracepoint's fd unregisters
// and leaves the freeing to RCU callbacks: closing it takes microseconds. So the
// probes use raw tracepoints wherever they need no kernel struct.
void close_all(const std::vector<int> &fds)
{
	for (int fd : fds)
		bpf_close_perf_event_fd(fd);
}

void close_raw(const std::vector<int> &fds)
{
	for (int fd : fds)
		close(fd);
}

void bccw_free(struct bccw *b)
{
	if (!b)
		return;
	try {
		close_raw(b->raw_tracepoint_fds);
		close_all(b->tracepoint_fds);
		delete b; // ~BPF detaches kprobes, closes perf buffers, programs and maps
	} catch (...) {
	}
}

} // namespace

extern "C" {

// The module's one export: the tracer finds it with dlsym(BCCW_API_SYMBOL).
__attribute__((visibility("default"))) extern const struct bccw_api cglat_bccw_api;
const struct bccw_api cglat_bccw_api = {
        BCCW_API_VERSION,
        bccw_new,
        bccw_load,
        bccw_attach_tracepoint,
        bccw_attach_raw_tracepoint,
        bccw_attach_kprobe,
        bccw_open_perf_buffer,
        bccw_poll,
        bccw_consume,
        bccw_table_update,
        bccw_table_delete,
        bccw_table_lookup,
        bccw_last_error,
        bccw_free,
};

} // extern "C"
