// SPDX-License-Identifier: GPL-2.0
/*
 * kportreserve-load - load the KPortReserve policy from /etc
 *
 * Reads /etc/kportreserve.conf, then the files /etc/kportreserve.d/NAME.conf in name
 * order, and replaces the policy in force with them in one write(2): "clear"
 * followed by every line, so that a bind never sees a half-loaded policy and
 * a refused line changes nothing.  When the kernel refuses a line, the
 * kernel's log names its number and reason; this program finds that record
 * in /dev/kmsg and reports the file and line it came from.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLICY_FILE "/sys/kernel/security/kportreserve/policy"
#define MAIN_CONF "/etc/kportreserve.conf"
#define CONF_DIR "/etc/kportreserve.d"
/* The largest write(2) the policy file takes. */
#define MAX_WRITE (4 << 20)
#define MAX_FILES 256

/* Exit codes. */
enum { EXIT_LOADED, EXIT_REFUSED, EXIT_CONFIG, EXIT_UNAVAILABLE };

/* One configuration file's place in the text written. */
struct source {
	char path[PATH_MAX];
	unsigned long first_line;	/* kernel line number of its line 1 */
	unsigned long lines;
};

static struct source sources[MAX_FILES];
static unsigned int nr_sources;
static char *text;
static size_t text_len;
static unsigned long text_lines;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: kportreserve-load [OPTION]...\n"
		"Replace the KPortReserve policy with the one configured in /etc.\n"
		"\n"
		"Reads " MAIN_CONF ", then " CONF_DIR "/*.conf in name order\n"
		"(other names are ignored), and writes \"clear\" and all their lines to\n"
		POLICY_FILE " in one write(2): the policy\n"
		"in force is replaced at once, or, if the kernel refuses a line, kept as it\n"
		"was. No configuration file at all loads an empty policy.\n"
		"\n"
		"Each line is a rule, as the policy file takes it (see\n"
		"Documentation/admin-guide/LSM/kportreserve.rst):\n"
		"  PORT SUBJECT          reserve PORT (1-65535, or LOW-HIGH) for SUBJECT: a\n"
		"                        program's absolute path (space written \\040),\n"
		"                        cgroup:PATH (the tasks of a cgroup and of those\n"
		"                        below it) or <kernel>\n"
		"  lock                  lock the policy and the mode until reboot\n"
		"  # comment             ignored, as are blank lines\n"
		"\n"
		"Options:\n"
		"  -n, --dry-run         print the text that would be written; write nothing\n"
		"  -r, --root=DIR        read the configuration under DIR (DIR/etc/...)\n"
		"  -p, --policy=FILE     write to FILE instead of the policy file\n"
		"  -h, --help            print this help\n"
		"\n"
		"Exit status: 0 loaded; 1 the kernel refused the policy (the file, line and\n"
		"reason are printed) or the policy is locked; 2 a configuration file could\n"
		"not be read or is too large; 3 KPortReserve is not available.\n");
}

/* Appends @len bytes to the text, growing it; false when it outgrows a write. */
static bool append(const char *data, size_t len)
{
	static size_t size;

	if (text_len + len > MAX_WRITE)
		return false;
	if (text_len + len > size) {
		size_t bigger = size ? size : 65536;
		char *grown;

		while (bigger < text_len + len)
			bigger *= 2;
		grown = realloc(text, bigger);
		if (!grown)
			return false;
		text = grown;
		size = bigger;
	}
	memcpy(text + text_len, data, len);
	text_len += len;
	for (; len; len--)
		if (data[len - 1] == '\n')
			text_lines++;
	return true;
}

/* Appends the file @path, ending it with a newline; 0, or an exit code. */
static int add_file(const char *path)
{
	struct source *src;
	char buf[65536];
	bool newline = true;
	ssize_t len;
	int fd;

	if (nr_sources == MAX_FILES) {
		fprintf(stderr, "kportreserve-load: more than %d configuration files\n", MAX_FILES);
		return EXIT_CONFIG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "kportreserve-load: %s: %s\n", path, strerror(errno));
		return EXIT_CONFIG;
	}
	src = &sources[nr_sources++];
	snprintf(src->path, sizeof(src->path), "%s", path);
	src->first_line = text_lines + 1;
	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		if (memchr(buf, '\0', len)) {
			fprintf(stderr, "kportreserve-load: %s: not a text file\n", path);
			close(fd);
			return EXIT_CONFIG;
		}
		if (!append(buf, len)) {
			fprintf(stderr, "kportreserve-load: %s: the policy exceeds %d bytes\n",
				path, MAX_WRITE);
			close(fd);
			return EXIT_CONFIG;
		}
		newline = buf[len - 1] == '\n';
	}
	if (len < 0) {
		fprintf(stderr, "kportreserve-load: %s: %s\n", path, strerror(errno));
		close(fd);
		return EXIT_CONFIG;
	}
	close(fd);
	if (!newline && !append("\n", 1))
		return EXIT_CONFIG;
	src->lines = text_lines + 1 - src->first_line;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Keeps regular files and symbolic links named *.conf, not hidden. */
static int is_conf(const struct dirent *entry)
{
	size_t len = strlen(entry->d_name);

	if (entry->d_name[0] == '.' || len < 6 || strcmp(entry->d_name + len - 5, ".conf"))
		return 0;
	return entry->d_type == DT_REG || entry->d_type == DT_LNK || entry->d_type == DT_UNKNOWN;
}

/* Reads every configuration file under @root; 0, or an exit code. */
static int read_config(const char *root)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n, i, err = 0;

	snprintf(path, sizeof(path), "%s" MAIN_CONF, root);
	err = add_file(path);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s" CONF_DIR, root);
	n = scandir(path, &names, is_conf, by_name);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "kportreserve-load: %s: %s\n", path, strerror(errno));
		return EXIT_CONFIG;
	}
	for (i = 0; i < n; i++) {
		if (!err) {
			snprintf(path, sizeof(path), "%s" CONF_DIR "/%s", root, names[i]->d_name);
			err = add_file(path);
		}
		free(names[i]);
	}
	free(names);
	return err;
}

/* Prints where kernel line @line of the text came from. */
static void print_origin(unsigned long line, const char *reason)
{
	unsigned int i;

	for (i = 0; i < nr_sources; i++) {
		const struct source *src = &sources[i];

		if (line >= src->first_line && line < src->first_line + src->lines) {
			fprintf(stderr, "%s:%lu: %s\n", src->path, line - src->first_line + 1,
				reason);
			return;
		}
	}
	fprintf(stderr, "kportreserve-load: line %lu of the policy: %s\n", line, reason);
}

/*
 * Reports the kernel's reason for refusing the policy, from the records
 * logged after @kmsg was opened at the end of the log.
 */
static void report_refusal(int kmsg, int err)
{
	static const char marker[] = "kportreserve: policy rejected: ";
	char record[8192], *msg, *end;
	bool found = false;
	ssize_t len;

	while (kmsg >= 0) {
		len = read(kmsg, record, sizeof(record) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* records were overwritten: go on */
		if (len <= 0)
			break;
		record[len] = '\0';
		msg = strstr(record, marker);
		if (!msg)
			continue;
		msg += strlen(marker);
		end = strchr(msg, '\n');
		if (end)
			*end = '\0';
		if (!strncmp(msg, "line ", 5)) {
			unsigned long line = strtoul(msg + 5, &end, 10);

			print_origin(line, *end == ':' ? end + 2 : msg);
		} else {
			fprintf(stderr, "kportreserve-load: %s\n", msg);
		}
		found = true;
	}
	if (!found)
		fprintf(stderr, "kportreserve-load: the kernel refused the policy: %s%s\n",
			strerror(err), err == EPERM ? " (locked until reboot?)" : "");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *root = "", *policy = POLICY_FILE;
	bool dry_run = false;
	int opt, err, fd, kmsg;
	ssize_t written;

	while ((opt = getopt_long(argc, argv, "nr:p:h", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			dry_run = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_LOADED;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (!append("clear\n", 6))
		return EXIT_CONFIG;
	err = read_config(root);
	if (err)
		return err;
	if (dry_run) {
		fwrite(text, 1, text_len, stdout);
		return EXIT_LOADED;
	}

	fd = open(policy, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "kportreserve-load: %s: %s\n", policy, strerror(errno));
		return errno == ENOENT ? EXIT_UNAVAILABLE : EXIT_REFUSED;
	}
	/* Only the records logged from here on can be about this write. */
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	written = write(fd, text, text_len);
	err = written < 0 ? errno : 0;
	if (close(fd) && !err)
		err = errno;
	if (!err && (size_t)written != text_len)
		err = EIO;
	if (err) {
		report_refusal(kmsg, err);
		return EXIT_REFUSED;
	}
	if (kmsg >= 0)
		close(kmsg);
	printf("kportreserve-load: loaded %lu lines from %u files\n", text_lines - 1, nr_sources);
	return EXIT_LOADED;
}
