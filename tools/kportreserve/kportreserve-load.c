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
 *
 * The kernel takes numbers only: this program turns the names of each rule
 * into them, within its line, so that the kernel's line numbers still match
 * the files': a service name for its ports (ipp/tcp, from the services
 * database), user and group names in its uid: and gid: atoms.
 *
 * With --netns, the files named are loaded in the same way into the rules of
 * the network namespace the program runs in (the netns file, which takes the
 * namespace of whoever opens it); with --template, into the rules every
 * network namespace but the initial one starts with (netns-default).
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#define SECURITYFS "/sys/kernel/security"
#define POLICY_FILE SECURITYFS "/kportreserve/policy"
#define NETNS_FILE SECURITYFS "/kportreserve/netns"
#define TEMPLATE_FILE SECURITYFS "/kportreserve/netns-default"
#define CHECK_FILE SECURITYFS "/kportreserve/check"
#define MAIN_CONF "/etc/kportreserve.conf"
#define CONF_DIR "/etc/kportreserve.d"
/* The largest write(2) the policy file takes. */
#define MAX_WRITE (4 << 20)
#define MAX_FILES 256
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes. */
enum { EXIT_LOADED, EXIT_REFUSED, EXIT_CONFIG, EXIT_UNAVAILABLE };

/* What is loaded: the policy, or the rules of network namespaces. */
enum target { TARGET_POLICY, TARGET_NETNS, TARGET_TEMPLATE };

static const struct {
	const char *file;
	const char *name;	/* in messages */
	const char *marker;	/* the kernel's log of a refused write */
	const char *locked;	/* how long a lock holds */
} targets[] = {
	[TARGET_POLICY] = { POLICY_FILE, "policy", "policy rejected: ", "until reboot" },
	[TARGET_NETNS] = { NETNS_FILE, "netns", "netns rejected: ",
			   "with the namespace, or until reboot" },
	[TARGET_TEMPLATE] = { TEMPLATE_FILE, "netns-default", "netns-default rejected: ",
			      "until reboot" },
};

/* One configuration file's place in the text written. */
struct source {
	char path[PATH_MAX];
	unsigned long first_line;	/* kernel line number of its line 1 */
	unsigned long lines;
};

/* The protocols of a rule's selector, PORTS/PROTOCOL. */
static const char *const protocols[] = { "tcp", "udp", "sctp" };

static struct source sources[MAX_FILES];
/* The root of --root, whose etc/ has the files and the name databases. */
static const char *root = "";
static unsigned int nr_sources;
static char *text;
static size_t text_len;
static unsigned long text_lines;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: kportreserve-load [OPTION]...\n"
		"       kportreserve-load --check [OPTION]... [FILE]...\n"
		"       kportreserve-load --netns|--template [--check] [OPTION]... FILE...\n"
		"Replace the KPortReserve policy with the one configured in /etc.\n"
		"\n"
		"Reads " MAIN_CONF ", then " CONF_DIR "/*.conf in name order\n"
		"(other names are ignored), and writes \"clear\" and all their lines to\n"
		POLICY_FILE " in one write(2): the policy\n"
		"in force is replaced at once, or, if the kernel refuses a line, kept as it\n"
		"was. No configuration file at all loads an empty policy.\n"
		"\n"
		"With --netns, the FILEs replace instead the rules of the network namespace\n"
		"this program runs in (" NETNS_FILE "); from the host:\n"
		"  nsenter -n -t PID kportreserve-load --netns FILE...\n"
		"With --template, they replace the rules of every network namespace but the\n"
		"initial one (" TEMPLATE_FILE ").\n"
		"\n"
		"Each line is a rule, as the policy file takes it (see\n"
		"Documentation/admin-guide/LSM/kportreserve.rst):\n"
		"  PORTS[/PROTO] SUBJECT\n"
		"                        reserve PORTS (N or LOW-HIGH, 1-65535) for SUBJECT,\n"
		"                        for PROTO (tcp, udp or sctp) or, without it, for\n"
		"                        every protocol; SUBJECT is <kernel>, or atoms that\n"
		"                        a binding task must all match, in this order, at\n"
		"                        least one: a program's absolute path (space written\n"
		"                        \\040), cgroup:PATH (the tasks of a cgroup and of\n"
		"                        those below it), uid:USER, gid:GROUP\n"
		"  delete RULE           remove a rule\n"
		"  lock                  lock the policy and the mode until reboot (with\n"
		"                        --netns, only the namespace's rules)\n"
		"  # comment             ignored, as are blank lines\n"
		"\n"
		"Names are turned into numbers, within their line: a service name for\n"
		"PORTS, as NAME/PROTO, or as NAME alone if it has one port for every\n"
		"protocol it is listed for (no names in LOW-HIGH); user and group names\n"
		"for USER and GROUP (ids stay as they are).  They are the system's, or\n"
		"with --root those of DIR/etc/services, DIR/etc/passwd and DIR/etc/group.\n"
		"\n"
		"Options:\n"
		"  -c, --check           have the kernel check the configuration (or the FILEs,\n"
		"                        in that order) as it would load it, and change\n"
		"                        nothing: each error is printed as FILE:LINE: reason\n"
		"  -n, --dry-run         print the text that would be written; write nothing\n"
		"  -r, --root=DIR        read the configuration and the names under DIR\n"
		"                        (DIR/etc/...)\n"
		"  -p, --policy=FILE     write to FILE instead of the policy file (or, with\n"
		"                        --check, the check file)\n"
		"      --netns           load the FILEs into the rules of this program's network\n"
		"                        namespace, which must not be the initial one (with\n"
		"                        --check, check them as it would load them)\n"
		"      --template        load the FILEs into the rules of every network\n"
		"                        namespace but the initial one (with --check, check\n"
		"                        them as it would load them)\n"
		"  -h, --help            print this help\n"
		"\n"
		"Exit status: 0 loaded (with --check, accepted); 1 the kernel refused the\n"
		"policy (the file, line and reason are printed), the policy is locked, or\n"
		"--netns runs in the initial network namespace;\n"
		"2 a configuration file could not be read, is too large or names an\n"
		"unknown service, user or group; 3 KPortReserve is not available.\n");
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

/* The port of service @name for @protocol in DIR/etc/services; 0 if none. */
static unsigned int services_file_port(const char *name, const char *protocol)
{
	unsigned int port = 0;
	char path[PATH_MAX], *line = NULL, *word, *save, *end;
	unsigned long number;
	size_t size = 0;
	bool named;
	FILE *file;

	/* name port/protocol [alias...] [# comment] */
	snprintf(path, sizeof(path), "%s/etc/services", root);
	file = fopen(path, "re");
	while (file && !port && getline(&line, &size, file) > 0) {
		line[strcspn(line, "#\n")] = '\0';
		word = strtok_r(line, " \t", &save);
		if (!word)
			continue;
		named = !strcmp(word, name);
		word = strtok_r(NULL, " \t", &save);
		if (!word)
			continue;
		number = strtoul(word, &end, 10);
		if (*end != '/' || strcmp(end + 1, protocol) || number > 65535)
			continue;
		while (!named && (word = strtok_r(NULL, " \t", &save)))
			named = !strcmp(word, name);
		if (named)
			port = number;
	}
	free(line);
	if (file)
		fclose(file);
	return port;
}

/* The port of service @name for @protocol; 0 if none. */
static unsigned int service_port(const char *name, const char *protocol)
{
	struct servent *entry;

	if (*root)
		return services_file_port(name, protocol);
	entry = getservbyname(name, protocol);
	return entry ? ntohs(entry->s_port) : 0;
}

/* The id of the user @name; -1 if none. */
static long long user_id(const char *name)
{
	char path[PATH_MAX];
	struct passwd *entry;
	long long id = -1;
	FILE *file;

	if (!*root) {
		entry = getpwnam(name);
		return entry ? (long long)entry->pw_uid : -1;
	}
	snprintf(path, sizeof(path), "%s/etc/passwd", root);
	file = fopen(path, "re");
	while (file && id < 0 && (entry = fgetpwent(file)))
		if (!strcmp(entry->pw_name, name))
			id = entry->pw_uid;
	if (file)
		fclose(file);
	return id;
}

/* The id of the group @name; -1 if none. */
static long long group_id(const char *name)
{
	char path[PATH_MAX];
	struct group *entry;
	long long id = -1;
	FILE *file;

	if (!*root) {
		entry = getgrnam(name);
		return entry ? (long long)entry->gr_gid : -1;
	}
	snprintf(path, sizeof(path), "%s/etc/group", root);
	file = fopen(path, "re");
	while (file && id < 0 && (entry = fgetgrent(file)))
		if (!strcmp(entry->gr_name, name))
			id = entry->gr_gid;
	if (file)
		fclose(file);
	return id;
}

/*
 * Writes in @out the ports of @word, a rule's PORTS[/PROTOCOL], its service
 * name turned into a port number: NAME/PROTOCOL, or NAME alone if the name
 * has one port for every protocol it is listed for.  Numbers and ranges, and
 * text that is not a name, are left to the kernel to check: @out stays
 * empty.  @word is on line @line of @path.  Returns 0, or an exit code.
 */
static int translate_ports(const char *path, unsigned long line, const char *word,
			   char *out, size_t size)
{
	const char *slash = strchr(word, '/');
	int len = slash ? slash - word : (int)strlen(word);
	unsigned int i, first = 0, port = 0, found;
	char name[256];

	if (!len || len >= (int)sizeof(name))
		return 0;
	snprintf(name, sizeof(name), "%.*s", len, word);
	if (!name[strspn(name, "0123456789-")])
		return 0;
	if (slash) {
		for (i = 0; i < ARRAY_SIZE(protocols); i++)
			if (!strcmp(slash + 1, protocols[i]))
				break;
		if (i == ARRAY_SIZE(protocols))
			return 0;	/* the kernel names the protocols */
		port = service_port(name, protocols[i]);
		if (port)
			snprintf(out, size, "%u/%s", port, protocols[i]);
	} else {
		for (i = 0; i < ARRAY_SIZE(protocols); i++) {
			found = service_port(name, protocols[i]);
			if (found && port && found != port) {
				fprintf(stderr,
					"%s:%lu: service '%s' has different ports for %s and %s: add /%s or /%s\n",
					path, line, name, protocols[first], protocols[i],
					protocols[first], protocols[i]);
				return EXIT_CONFIG;
			}
			if (found && !port) {
				port = found;
				first = i;
			}
		}
		if (port)
			snprintf(out, size, "%u", port);
	}
	if (!port) {
		fprintf(stderr, "%s:%lu: unknown service '%s'\n", path, line, word);
		return EXIT_CONFIG;
	}
	return 0;
}

/*
 * Writes in @out the atom @word, uid:USER or gid:GROUP, its name turned into
 * an id; @out stays empty for an id, which the kernel checks.  @word is on
 * line @line of @path.  Returns 0, or an exit code.
 */
static int translate_id(const char *path, unsigned long line, const char *word,
			char *out, size_t size)
{
	bool group = word[0] == 'g';
	const char *name = word + 4;
	long long id;

	if (!name[strspn(name, "0123456789")])
		return 0;
	id = group ? group_id(name) : user_id(name);
	if (id < 0) {
		fprintf(stderr, "%s:%lu: unknown %s '%s'\n", path, line, group ? "group" : "user",
			name);
		return EXIT_CONFIG;
	}
	snprintf(out, size, "%.4s%lld", word, id);
	return 0;
}

/*
 * Appends @line, line @number of @path with its newline if it has one, with
 * the names of its rule (or of the rule it deletes) turned into numbers,
 * word for word; comments, clear and lock as they are.  0, or an exit code.
 */
static int add_line(const char *path, unsigned long number, char *line)
{
	enum { FIRST, PORTS, ATOMS, NONE } next = FIRST;
	char *word, out[64], saved;
	size_t len;
	int err = 0;

	for (word = line; *word; word += len) {
		len = strcspn(word, " \t\n");
		out[0] = '\0';
		if (!len) {
			len = strspn(word, " \t\n");
		} else {
			saved = word[len];
			word[len] = '\0';
			if (next == FIRST && (word[0] == '#' || !strcmp(word, "clear") ||
					      !strcmp(word, "lock"))) {
				next = NONE;
			} else if (next == FIRST && !strcmp(word, "delete")) {
				next = PORTS;
			} else if (next == FIRST || next == PORTS) {
				err = translate_ports(path, number, word, out, sizeof(out));
				next = ATOMS;
			} else if (next == ATOMS && (!strncmp(word, "uid:", 4) ||
						     !strncmp(word, "gid:", 4))) {
				err = translate_id(path, number, word, out, sizeof(out));
			}
			word[len] = saved;
			if (err)
				return err;
		}
		if (!append(out[0] ? out : word, out[0] ? strlen(out) : len)) {
			fprintf(stderr, "kportreserve-load: %s: the policy exceeds %d bytes\n",
				path, MAX_WRITE);
			return EXIT_CONFIG;
		}
	}
	return 0;
}

/*
 * Appends the file @path, ending it with a newline, its names turned into
 * numbers line by line; 0, or an exit code.
 */
static int add_file(const char *path)
{
	unsigned long number = 0;
	struct source *src;
	char *line = NULL;
	bool newline = true;
	size_t size = 0;
	ssize_t len;
	FILE *file;
	int err = 0;

	if (nr_sources == MAX_FILES) {
		fprintf(stderr, "kportreserve-load: more than %d configuration files\n", MAX_FILES);
		return EXIT_CONFIG;
	}
	file = fopen(path, "re");
	if (!file) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "kportreserve-load: %s: %s\n", path, strerror(errno));
		return EXIT_CONFIG;
	}
	src = &sources[nr_sources++];
	snprintf(src->path, sizeof(src->path), "%s", path);
	src->first_line = text_lines + 1;
	while (!err && (len = getline(&line, &size, file)) > 0) {
		if (memchr(line, '\0', len)) {
			fprintf(stderr, "kportreserve-load: %s: not a text file\n", path);
			err = EXIT_CONFIG;
		} else {
			err = add_line(path, ++number, line);
		}
		newline = line[len - 1] == '\n';
	}
	if (!err && ferror(file)) {
		fprintf(stderr, "kportreserve-load: %s: %s\n", path, strerror(errno));
		err = EXIT_CONFIG;
	}
	free(line);
	fclose(file);
	if (err)
		return err;
	if (!newline && !append("\n", 1))
		return EXIT_CONFIG;
	src->lines = text_lines + 1 - src->first_line;
	return 0;
}

/* Appends the file @path that the user named: it must exist. */
static int add_file_named(const char *path)
{
	if (access(path, R_OK)) {
		fprintf(stderr, "kportreserve-load: %s: %s\n", path, strerror(errno));
		return EXIT_CONFIG;
	}
	return add_file(path);
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

/* Reads every configuration file under the root; 0, or an exit code. */
static int read_config(void)
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
 * Reports the kernel's reason for refusing the write to the file of @target,
 * from the records logged after @kmsg was opened at the end of the log: those
 * with @marker, the target's ("policy rejected: ", "netns rejected: ",
 * "netns-default rejected: ") for a load, "policy check rejected: " for a
 * check.
 */
static void report_refusal(int kmsg, int err, const char *marker, enum target target)
{
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
		msg = strstr(record, "kportreserve: ");
		if (!msg || strncmp(msg + 14, marker, strlen(marker)))
			continue;
		msg += 14;
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
		fprintf(stderr, "kportreserve-load: the kernel refused the %s: %s%s%s%s\n",
			targets[target].name, strerror(err), err == EPERM ? " (locked " : "",
			err == EPERM ? targets[target].locked : "", err == EPERM ? "?)" : "");
}

/*
 * Reports the failed open(2) of @path, the file of @target or the check file,
 * with errno; returns the exit code.
 */
static int report_open_failure(const char *path, enum target target)
{
	int err = errno;
	struct statfs fs;

	if (target == TARGET_NETNS && err == EINVAL) {
		/* The initial namespace's rules are the policy file's. */
		fprintf(stderr,
			"kportreserve-load: --netns: run it inside the container's network namespace, e.g. with nsenter -n -t PID\n");
		return EXIT_REFUSED;
	}
	fprintf(stderr, "kportreserve-load: %s: %s\n", path, strerror(err));
	if (err == EPERM || err == EACCES)
		fprintf(stderr,
			"kportreserve-load: locked, or not CAP_MAC_ADMIN in the initial user namespace (root of a container is not)\n");
	if (err != ENOENT)
		return EXIT_REFUSED;
	if (statfs(SECURITYFS, &fs) || fs.f_type != SECURITYFS_MAGIC)
		fprintf(stderr, "kportreserve-load: no securityfs mounted on " SECURITYFS "%s\n",
			target == TARGET_POLICY ? "" :
			" (ip netns exec mounts a /sys of its own: use nsenter --net=/run/netns/NAME)");
	else if (target != TARGET_POLICY && !access(POLICY_FILE, F_OK))
		fprintf(stderr,
			"kportreserve-load: this kernel's KPortReserve has no rules per network namespace\n");
	return EXIT_UNAVAILABLE;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "netns", no_argument, NULL, 'N' },
		{ "template", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum target target = TARGET_POLICY;
	const char *policy = NULL;
	bool check = false, dry_run = false, netns = false, template = false;
	int opt, err, fd, kmsg;
	ssize_t written;

	while ((opt = getopt_long(argc, argv, "cnr:p:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			check = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'N':
			netns = true;
			target = TARGET_NETNS;
			break;
		case 'T':
			template = true;
			target = TARGET_TEMPLATE;
			break;
		case 'h':
			usage(stdout);
			return EXIT_LOADED;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (netns && template) {
		fprintf(stderr, "kportreserve-load: --netns or --template, not both\n");
		return EXIT_CONFIG;
	}
	/* The configuration in /etc is the initial namespace's. */
	if (target != TARGET_POLICY && optind == argc) {
		fprintf(stderr, "kportreserve-load: --%s: name the FILEs to load\n",
			netns ? "netns" : "template");
		return EXIT_CONFIG;
	}
	if (optind != argc && !check && target == TARGET_POLICY) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (!append("clear\n", 6))
		return EXIT_CONFIG;
	/* FILE...: those files, in that order; otherwise the configuration. */
	for (err = 0; optind < argc && !err; optind++)
		err = add_file_named(argv[optind]);
	if (!nr_sources && !err && target == TARGET_POLICY)
		err = read_config();
	if (err)
		return err;
	if (dry_run) {
		fwrite(text, 1, text_len, stdout);
		return EXIT_LOADED;
	}

	/*
	 * The check file checks text against the rules of its opener's network
	 * namespace, but the text starts with "clear": its verdict is the same
	 * for every file.  What a check of --netns or --template cannot tell is
	 * whether that file takes rules here: opening it for reading, which
	 * changes nothing, does.
	 */
	if (check && !policy && target != TARGET_POLICY) {
		fd = open(targets[target].file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return report_open_failure(targets[target].file, target);
		close(fd);
	}
	if (!policy)
		policy = check ? CHECK_FILE : targets[target].file;
	fd = open(policy, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return report_open_failure(policy, target);
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
		report_refusal(kmsg, err, check ? "policy check rejected: " :
			       targets[target].marker, target);
		return EXIT_REFUSED;
	}
	if (kmsg >= 0)
		close(kmsg);
	printf("kportreserve-load: %s %lu lines from %u files%s%s\n",
	       check ? "the kernel accepts" : "loaded", text_lines - 1, nr_sources,
	       target == TARGET_POLICY ? "" : " for ",
	       target == TARGET_POLICY ? "" : targets[target].name);
	return EXIT_LOADED;
}
