/* podman containers read from containers/storage's own files: the lookup order (full id,
 * name, id prefix), ambiguity, files that are not podman's, and pidfiles. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podman.h"

#define WEB "8cea9eb90cac0e4bc20cf0423955838928884f9190244acca60be0bfa6d54e5f"
#define DB "8ce1000000000000000000000000000000000000000000000000000000000001"
#define ODD "1234500000000000000000000000000000000000000000000000000000000002"

static char *fixture(void)
{
	FILE *f = fopen(FIXTURES_DIR "/podman/containers.json", "r");
	cr_assert_not_null(f);
	static char text[8192];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static int find(const char *ref, struct podman_container *c, struct cg_err *err)
{
	return podman_find_in_json(fixture(), "/s/overlay-containers/containers.json", ref, c, err);
}

Test(podman, finds_by_full_id_name_alias_and_prefix)
{
	struct podman_container c;
	struct cg_err err = {{0}};
	cr_assert_eq(find(WEB, &c, &err), 1, "%s", err.msg);
	cr_assert_str_eq(c.id, WEB);
	cr_assert_str_eq(c.name, "web");
	cr_assert_str_eq(c.driver, "overlay");
	cr_assert_eq(find("web", &c, &err), 1);
	cr_assert_str_eq(c.id, WEB);
	/* Any of a container's names finds it; its first name is the one shown. */
	cr_assert_eq(find("db-alias", &c, &err), 1);
	cr_assert_str_eq(c.id, DB);
	cr_assert_str_eq(c.name, "db");
	cr_assert_eq(find("123", &c, &err), 1);
	cr_assert_str_eq(c.id, ODD);
}

Test(podman, a_name_wins_over_an_id_prefix)
{
	struct podman_container c;
	struct cg_err err = {{0}};
	/* ODD is named "8cea9eb90cac", which is also the start of WEB's id. */
	cr_assert_eq(find("8cea9eb90cac", &c, &err), 1, "%s", err.msg);
	cr_assert_str_eq(c.id, ODD);
	cr_assert_eq(find("8cea9", &c, &err), 1);
	cr_assert_str_eq(c.id, WEB);
}

Test(podman, ambiguous_prefix_and_unknown_refs)
{
	struct podman_container c;
	struct cg_err err = {{0}};
	cr_assert_eq(find("8ce", &c, &err), -1);
	cr_assert(strstr(err.msg, "prefix \"8ce\" is ambiguous: it matches 8cea9eb90cac and "
	                          "8ce100000000; give more digits"),
	          "%s", err.msg);
	cr_assert_eq(find("nginx", &c, &err), 0);
	cr_assert_eq(find("ffff", &c, &err), 0);
}

Test(podman, a_file_that_is_not_the_list_is_an_error)
{
	struct podman_container c;
	struct cg_err err = {{0}};
	cr_assert_eq(podman_find_in_json("{\"id\": 1}", "/x/containers.json", "web", &c, &err), -1);
	cr_assert(strstr(err.msg, "/x/containers.json is not containers/storage's list of "
	                          "containers (not a JSON array)"),
	          "%s", err.msg);
	cr_assert_eq(podman_find_in_json("[{\"id\"", "/x/containers.json", "web", &c, &err), -1);
	cr_assert(strstr(err.msg, "is not containers/storage's list"), "%s", err.msg);
	/* An entry without a usable id is skipped, not a crash or a match. */
	cr_assert_eq(podman_find_in_json("[{\"id\": \"zz\", \"names\": [\"web\"]}]", "/x", "web",
	                                 &c, &err),
	             0);
}

Test(podman, bad_refs_are_refused_before_any_read)
{
	struct podman_container c;
	struct cg_err err = {{0}};
	cr_assert_eq(podman_find("/nonexistent", "../etc", &c, &err), -1);
	cr_assert(strstr(err.msg, "../etc"), "%s", err.msg);
	/* No podman storage at all: no podman container, not an error. */
	cr_assert_eq(podman_find("/nonexistent", "web", &c, &err), 0);
}

static char tmp[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
}

static void make_storage(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/cglat-podman-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	mk("root");
	mk("root/overlay-containers");
	put("root/overlay-containers/containers.json", fixture());
	mk("run");
	mk("run/overlay-containers");
	mk("run/overlay-containers/" WEB);
	mk("run/overlay-containers/" WEB "/userdata");
}

static void remove_storage(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_assert_eq(system(cmd), 0);
}

Test(podman, storage_on_disk_and_pidfiles, .init = make_storage, .fini = remove_storage)
{
	char root[128], run[128];
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(run, sizeof(run), "%s/run", tmp);
	struct podman_container c;
	struct cg_err err = {{0}};
	cr_assert_eq(podman_find(root, "web", &c, &err), 1, "%s", err.msg);
	cr_assert_str_eq(c.driver, "overlay");
	pid_t pid = 0;
	cr_assert_eq(podman_pid(run, &c, &pid, &err), -1);
	cr_assert(strstr(err.msg, "podman container web (8cea9eb90cac) is not running"), "%s",
	          err.msg);
	cr_assert(strstr(err.msg, "podman start web"), "%s", err.msg);
	put("run/overlay-containers/" WEB "/userdata/pidfile", "27950");
	cr_assert_eq(podman_pid(run, &c, &pid, &err), 0, "%s", err.msg);
	cr_assert_eq(pid, 27950);
	put("run/overlay-containers/" WEB "/userdata/pidfile", "27950\n");
	cr_assert_eq(podman_pid(run, &c, &pid, &err), 0, "%s", err.msg);
	put("run/overlay-containers/" WEB "/userdata/pidfile", "-3");
	cr_assert_eq(podman_pid(run, &c, &pid, &err), -1);
	cr_assert(strstr(err.msg, "does not hold a pid"), "%s", err.msg);
	put("run/overlay-containers/" WEB "/userdata/pidfile", "");
	cr_assert_eq(podman_pid(run, &c, &pid, &err), -1);
	put("root/overlay-containers/containers.json", "not json");
	cr_assert_eq(podman_find(root, "web", &c, &err), -1);
	cr_assert(strstr(err.msg, "is not containers/storage's list"), "%s", err.msg);
}
